//! Values shared by the server functions and the pages: what a response carries, and the
//! page addresses (with their query strings) that one flow hands to the next.

use crate::error::AppError;
use crate::wire_names::wire_names;

// Page addresses and page notices have homes of their own; the pages import them from here too.
pub use crate::notice::Notice;
pub use crate::paths;
use serde::{Deserialize, Serialize};

/// The last four digits of a phone number, the only part of it ever shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneEnding(String);

impl PhoneEnding {
    /// The last four digits of a stored number (left-padded with zeros in the theoretical case of
    /// a number with fewer digits).
    pub fn of_number(number: &str) -> Self {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        let start = digits.len().saturating_sub(4);
        Self(format!("{:0>4}", &digits[start..]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How codes reach a phone: a text message, or a call that reads the code aloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeliveryChannel {
    #[default]
    Sms,
    Voice,
}

// The stored and submitted form.
wire_names!(DeliveryChannel { Sms => "sms", Voice => "voice" });

impl DeliveryChannel {
    /// A submitted value, surrounding spaces allowed.
    pub fn parse(value: &str) -> Option<Self> {
        Self::from_name(value.trim())
    }

    /// As offered to people: "Text message", "Phone call".
    pub fn label(self) -> &'static str {
        match self {
            Self::Sms => "Text message (SMS)",
            Self::Voice => "Phone call (the code is read aloud)",
        }
    }
}

/// What a code may be used for: its scope. A code issued in one scope never works in another:
/// the scope is bound into the code's hash and each scope has its own stored code per account.
/// Code pages name their scope in `GET /api/code-delivery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeScope {
    /// Proving the phone number at signup, or again later.
    PhoneVerification,
    /// The second step of a sign-in, for accounts that ask for a code every time.
    SignIn,
    /// Unlocking an account locked after failed sign-ins.
    Unlock,
    /// Setting a new password without the old one.
    PasswordReset,
    /// Confirming a new phone number (the code goes to the new number).
    PhoneChange,
    /// Opening the admin area, even from a signed-in session.
    AdminStepUp,
}

// The name stored in the database, bound into the code's hash, and sent on the wire.
wire_names!(CodeScope {
    PhoneVerification => "phone_verification",
    SignIn => "sign_in",
    Unlock => "unlock",
    PasswordReset => "password_reset",
    PhoneChange => "phone_change",
    AdminStepUp => "admin_step_up",
});

impl CodeScope {
    /// What the code is for, as a message or page names it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::PhoneVerification => "phone verification code",
            Self::SignIn => "sign-in code",
            Self::Unlock => "unlock code",
            Self::PasswordReset => "password reset code",
            Self::PhoneChange => "code to confirm your new number",
            Self::AdminStepUp => "admin access code",
        }
    }
}

/// What this deployment can do, as the pages need to know it; the server provides it as context
/// to every page it renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Codes can be read aloud by phone call.
    pub voice: bool,
    /// How many digits each flow's codes have.
    pub code_lengths: CodeLengths,
}

/// The number of digits of each flow's codes, so that a code field can submit itself once the
/// last digit is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeLengths {
    pub phone_verification: u8,
    pub sign_in: u8,
    pub unlock: u8,
    pub password_reset: u8,
    pub phone_change: u8,
    pub admin_step_up: u8,
}

impl Default for CodeLengths {
    fn default() -> Self {
        Self {
            phone_verification: 6,
            sign_in: 6,
            unlock: 6,
            password_reset: 6,
            phone_change: 6,
            admin_step_up: 6,
        }
    }
}

/// Where the latest code of a flow is, and when a new one may be asked for. For a flow named by
/// an email (unlock, reset) only a failure is reported: whether a message is still on its way or
/// already delivered is not told apart (`progress` is `unknown`), so the answer for an address
/// without an account is the same as for one whose code went out. For a flow of this browser's
/// pending sign-in or session, whose account the person has proven, `progress` tells all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeDelivery {
    pub progress: DeliveryProgress,
    /// Seconds until a new code may be asked for (0: now): the wait a request for one would get,
    /// from whichever send limit holds longest (cooldown, hourly caps, budget).
    pub retry_after_secs: u64,
    /// The latest code's message failed for good (every provider tried).
    pub failed: bool,
    /// It failed because the number cannot receive messages on that channel.
    pub unreachable: bool,
    /// The failed message was a call (else a text message).
    pub by_call: bool,
    /// This server can read codes aloud by phone call.
    pub voice_available: bool,
}

/// How far the latest code's message has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryProgress {
    /// Not told (a flow named by an email), or no code yet.
    Unknown,
    /// Queued, or being handed to a provider.
    Sending,
    /// Handed to a provider (or the development outbox).
    Sent,
    /// The provider reported it delivered to the phone.
    Delivered,
    /// Failed for good.
    Failed,
}

wire_names!(DeliveryProgress {
    Unknown => "unknown",
    Sending => "sending",
    Sent => "sent",
    Delivered => "delivered",
    Failed => "failed",
});

/// What a correct email and password led to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LoginOutcome {
    /// A session was opened; its cookie is set on the response.
    SignedIn,
    /// The account is locked; a code went (or, while locked, already went) to the phone, unless
    /// `retry_after_secs` is present: then a send limit held the code back, and a new one can be
    /// asked for after that many seconds.
    Locked {
        phone_ending: PhoneEnding,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// The password is right and the account asks for a code at every sign-in: a sign-in code went
    /// to the phone (unless `retry_after_secs`); `POST /api/sign-in-code` finishes the sign-in.
    CodeRequired {
        phone_ending: PhoneEnding,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// The password is right but the signup is unfinished: a phone verification code went to the
    /// phone (unless `retry_after_secs`); `POST /api/verify-phone` finishes signup and sign-in.
    VerifyPhone {
        phone_ending: PhoneEnding,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
}

/// What the live check of one form field found: the message the same field would get on submit,
/// and for a phone number how it was read ("+44 7400 123456 · GB · a mobile number").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where a code was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSent {
    pub phone_ending: PhoneEnding,
}

/// The signed-in account as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Every digit but the last four replaced, e.g. `+•••••••1234`.
    pub masked_phone: String,
    /// How codes are sent to this account.
    pub delivery_channel: DeliveryChannel,
    /// Whether this server can place calls (so that `Voice` can be chosen).
    pub voice_available: bool,
    /// When this account last signed in (normally the current session), UTC.
    pub last_login_at: Option<String>,
    /// The sign-in before that one, UTC; `None` until there have been two.
    pub previous_login_at: Option<String>,
    /// The account's latest security events, newest first.
    pub recent_activity: Vec<ActivityItem>,
    /// Whether the phone on file has been proven with a code.
    pub phone_verified: bool,
    /// Whether every sign-in asks for a code.
    pub sign_in_code: bool,
    /// Whether this deployment asks everyone for a code (so it cannot be turned off).
    pub sign_in_code_required: bool,
    /// The account may open the admin area.
    pub is_admin: bool,
    /// The browsers that signed in to this account and are trusted, most recently used first.
    pub trusted_devices: Vec<TrustedDeviceItem>,
}

/// What the server loaded for a signed-in page before rendering it (it puts this in the
/// request's extensions), so that the page renders in one pass with nothing to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageData {
    /// `/account`.
    Account(Result<AccountView, AppError>),
    /// `/admin`: the gate, and the results of `?q=` when the area is open and a search was made.
    Admin {
        access: Result<AdminAccess, AppError>,
        results: Option<Result<Vec<AccountSummary>, AppError>>,
    },
    /// `/admin/account?id=…`.
    AdminAccount(Result<AdminAccountView, AppError>),
    /// A code page (`/verify-phone`, `/sign-in-code`, `/unlock`, `/reset-password`): where its
    /// latest code is, for browsers without JavaScript.
    CodeDelivery(CodeDelivery),
}

/// The admin area as the signed-in admin may see it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AdminAccess {
    /// A fresh admin access code is needed; it goes to the number ending in `phone_ending`.
    StepUpRequired { phone_ending: PhoneEnding },
    /// Open until `elevated_until` (UTC).
    Open {
        elevated_until: String,
        overview: AdminOverview,
    },
}

/// Counts per day for the last 30 days, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOverview {
    pub days: Vec<DayCounts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub sign_ins: u64,
    pub failures: u64,
    pub locks: u64,
    pub messages_sent: u64,
    pub messages_failed: u64,
}

/// What an admin can do to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    Unlock,
    /// The password stops working until it is reset by code; every session ends.
    ForcePasswordReset,
    RevokeSessions,
}

wire_names!(AdminAction {
    Unlock => "unlock",
    ForcePasswordReset => "force_password_reset",
    RevokeSessions => "revoke_sessions",
});

/// One account in the admin search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub masked_phone: String,
    pub status: AccountStatus,
}

/// An account's state as the admin area shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Signed up, phone not yet verified: cannot sign in.
    Unverified,
    Active,
    Locked,
    /// An admin forced a password reset.
    MustResetPassword,
}

wire_names!(AccountStatus {
    Unverified => "unverified",
    Active => "active",
    Locked => "locked",
    MustResetPassword => "must_reset_password",
});

impl AccountStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Unverified => "Phone not verified",
            Self::Active => "Active",
            Self::Locked => "Locked",
            Self::MustResetPassword => "Must reset password",
        }
    }
}

/// One account in full, for an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminAccountView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub masked_phone: String,
    pub status: AccountStatus,
    pub locked: bool,
    pub is_admin: bool,
    /// When the phone was last verified (UTC); `None`: never.
    pub phone_verified_at: Option<String>,
    pub last_login_at: Option<String>,
    pub created_at: String,
    pub active_sessions: u64,
    pub events: Vec<AdminEvent>,
    pub messages: Vec<AdminMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminEvent {
    pub at: String,
    /// The stored event name, e.g. `login_failed`.
    pub kind: String,
    pub description: String,
    pub detail: Option<String>,
    pub client_ip: Option<String>,
    /// The admin who caused it, if an admin did.
    pub actor_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminMessage {
    pub at: String,
    /// What the message was for: a code scope, or a notice.
    pub purpose: String,
    pub channel: DeliveryChannel,
    /// `queued`, `sending`, `sent` or `failed`.
    pub status: String,
    pub failure: Option<String>,
    pub masked_phone: String,
}

/// One security event as its account holder sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityItem {
    /// UTC, e.g. `2026-11-22 10:05 UTC`.
    pub at: String,
    pub description: String,
    pub client_ip: Option<String>,
}

/// A browser the account trusts, as its holder sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedDeviceItem {
    pub id: i64,
    /// The browser's own description of itself (its user agent), shortened.
    pub browser: String,
    /// UTC, e.g. `2026-11-22 10:05 UTC`.
    pub last_used_at: String,
    /// The browser this page is shown in.
    pub this_browser: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_scopes_have_distinct_names_that_parse_back() {
        let names: std::collections::HashSet<&str> =
            CodeScope::ALL.iter().map(|scope| scope.as_str()).collect();
        assert_eq!(names.len(), CodeScope::ALL.len());
        for scope in CodeScope::ALL {
            assert_eq!(CodeScope::from_name(scope.as_str()), Some(*scope));
        }
        assert_eq!(CodeScope::from_name("anything"), None);
    }

    #[test]
    fn a_phone_ending_keeps_only_the_last_four_digits() {
        assert_eq!(PhoneEnding::of_number("+14155551234").as_str(), "1234");
        assert_eq!(PhoneEnding::of_number("+123").as_str(), "0123");
    }
}
