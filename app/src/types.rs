//! Values shared by the server functions and the pages: what a response carries, and the
//! page addresses (with their query strings) that one flow hands to the next.

use crate::error::AppError;
use crate::wire_names::wire_names;
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
    /// Failed for good.
    Failed,
}

wire_names!(DeliveryProgress {
    Unknown => "unknown",
    Sending => "sending",
    Sent => "sent",
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

/// A one-line notice a page shows after another page sent the person there (handed on in the
/// page's flash, never in its address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Notice {
    /// Unlock page, right after the lock.
    Locked,
    /// Unlock page, right after a lock whose code a send limit held back.
    LockedCodeDelayed,
    /// Unlock or reset page, after "Resend code".
    CodeResent,
    /// Reset page, after "Forgot password?".
    ResetCodeSent,
    /// Login page, after a successful unlock.
    Unlocked,
    /// Login page, after a password reset.
    PasswordChanged,
    /// Login page, after logout.
    SignedOut,
    /// Verify-phone page, after signup or a sign-in of an unfinished signup.
    VerificationSent,
    /// A code page whose code a send limit held back.
    CodeDelayed,
    /// Sign-in code page, after a right password.
    SignInCodeSent,
    /// Account page, after the phone was verified.
    PhoneVerified,
    /// Change-phone page, after the code went to the new number.
    PhoneChangeCodeSent,
    /// Account page, after the number changed.
    PhoneChanged,
    /// Account page, after the sign-in code setting was saved.
    SettingsSaved,
    /// Account page, after the delivery preference was saved.
    DeliverySaved,
    /// Admin gate, after an admin access code was sent.
    AdminCodeSent,
    /// Admin account page, after each action.
    AdminUnlocked,
    AdminResetForced,
    AdminSessionsRevoked,
    /// Account page, after a trusted browser was removed.
    DeviceForgotten,
}

impl Notice {
    pub const ALL: [Self; 20] = [
        Self::Locked,
        Self::LockedCodeDelayed,
        Self::CodeResent,
        Self::ResetCodeSent,
        Self::Unlocked,
        Self::PasswordChanged,
        Self::SignedOut,
        Self::VerificationSent,
        Self::CodeDelayed,
        Self::SignInCodeSent,
        Self::PhoneVerified,
        Self::PhoneChangeCodeSent,
        Self::PhoneChanged,
        Self::SettingsSaved,
        Self::DeliverySaved,
        Self::AdminCodeSent,
        Self::AdminUnlocked,
        Self::AdminResetForced,
        Self::AdminSessionsRevoked,
        Self::DeviceForgotten,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Locked => "locked",
            Self::LockedCodeDelayed => "locked-code-delayed",
            Self::CodeResent => "code-resent",
            Self::ResetCodeSent => "reset-code-sent",
            Self::Unlocked => "unlocked",
            Self::PasswordChanged => "password-changed",
            Self::SignedOut => "signed-out",
            Self::VerificationSent => "verification-sent",
            Self::CodeDelayed => "code-delayed",
            Self::SignInCodeSent => "sign-in-code-sent",
            Self::PhoneVerified => "phone-verified",
            Self::PhoneChangeCodeSent => "phone-change-code-sent",
            Self::PhoneChanged => "phone-changed",
            Self::SettingsSaved => "settings-saved",
            Self::DeliverySaved => "delivery-saved",
            Self::AdminCodeSent => "admin-code-sent",
            Self::AdminUnlocked => "admin-unlocked",
            Self::AdminResetForced => "admin-reset-forced",
            Self::AdminSessionsRevoked => "admin-sessions-revoked",
            Self::DeviceForgotten => "device-forgotten",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|notice| notice.as_str() == value)
    }

    /// The sentence shown; `ending` fills in "ending in 1234" where the notice mentions a phone,
    /// `wait_secs` the wait where it mentions one.
    pub fn message(self, ending: Option<&str>, wait_secs: Option<u64>) -> String {
        let phone = match ending {
            Some(ending) => format!("the mobile number ending in {ending}"),
            None => "the mobile number on file".to_owned(),
        };
        match self {
            Self::Locked => format!(
                "Your account is temporarily locked. We sent a verification code to {phone}."
            ),
            Self::LockedCodeDelayed => format!(
                "Your account is temporarily locked. Too many codes were requested, so we could not \
                 send one to {phone} now. Ask for a new code in {}.",
                crate::error::describe_wait(wait_secs.unwrap_or(60))
            ),
            Self::CodeResent => format!("We sent a new code to {phone}."),
            Self::ResetCodeSent => format!("We sent a verification code to {phone}."),
            Self::Unlocked => "Your account is unlocked. Sign in with your password.".to_owned(),
            Self::PasswordChanged => {
                "Your password has been changed. Sign in with your new password.".to_owned()
            }
            Self::SignedOut => "You have been signed out.".to_owned(),
            Self::VerificationSent => format!(
                "We sent a code to {phone}. Enter it to verify your phone and finish signing up."
            ),
            Self::CodeDelayed => format!(
                "Too many codes were requested, so we could not send one to {phone} now. Ask for \
                 a new code in {}.",
                crate::error::describe_wait(wait_secs.unwrap_or(60))
            ),
            Self::SignInCodeSent => format!("Enter the code we sent to {phone}."),
            Self::PhoneVerified => "Your phone number is verified.".to_owned(),
            Self::PhoneChangeCodeSent => format!(
                "We sent a code to the new number{}. Enter it to confirm the change.",
                ending
                    .map(|ending| format!(" ending in {ending}"))
                    .unwrap_or_default()
            ),
            Self::PhoneChanged => {
                "Your phone number has been changed. We told your old number too.".to_owned()
            }
            Self::SettingsSaved => "Your sign-in settings have been saved.".to_owned(),
            Self::DeliverySaved => "Your code delivery preference has been saved.".to_owned(),
            Self::DeviceForgotten => {
                "That browser is no longer trusted: a lock now stops it like any other.".to_owned()
            }
            Self::AdminCodeSent => format!("We sent an admin access code to {phone}."),
            Self::AdminUnlocked => "The account is unlocked.".to_owned(),
            Self::AdminResetForced => "The account must now reset its password; its sessions \
                                       have ended."
                .to_owned(),
            Self::AdminSessionsRevoked => "Every session of the account has ended.".to_owned(),
        }
    }
}

/// Page addresses, built in one place so every link and redirect agrees. They carry no
/// messages, emails or phone endings: what a page is told comes in its flash (`crate::flash`).
pub mod paths {
    pub const ACCOUNT: &str = "/account";
    pub const LOGIN: &str = "/login";
    pub const SIGNUP: &str = "/signup";
    pub const UNLOCK: &str = "/unlock";
    /// The unlock page asking for an email, though this browser remembers one.
    pub const UNLOCK_OTHER: &str = "/unlock?account=other";
    pub const FORGOT_PASSWORD: &str = "/forgot-password";
    pub const RESET_PASSWORD: &str = "/reset-password";
    pub const VERIFY_PHONE: &str = "/verify-phone";
    pub const SIGN_IN_CODE: &str = "/sign-in-code";
    pub const CHANGE_PHONE: &str = "/account/phone";
    /// The second step of a phone change: the code sent to the new number.
    pub const CHANGE_PHONE_CODE: &str = "/account/phone?step=code";
    pub const ADMIN: &str = "/admin";
    pub const ADMIN_ACCOUNT: &str = "/admin/account";

    /// One account in the admin area.
    pub fn admin_account(id: i64) -> String {
        format!("{ADMIN_ACCOUNT}?id={id}")
    }

    /// The admin area with the results of a search for `query`.
    pub fn admin_search(query: &str) -> String {
        format!("{ADMIN}?q={}", encode_component(query))
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    pub fn encode_component(value: &str) -> String {
        let mut encoded = String::with_capacity(value.len());
        for byte in value.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    encoded.push(byte as char)
                }
                other => encoded.push_str(&format!("%{other:02X}")),
            }
        }
        encoded
    }
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

    #[test]
    fn the_lock_notice_reads_exactly_as_specified() {
        assert_eq!(
            Notice::Locked.message(Some("1234"), None),
            "Your account is temporarily locked. We sent a verification code to the mobile \
             number ending in 1234."
        );
    }

    #[test]
    fn every_notice_survives_the_query_string() {
        for notice in Notice::ALL {
            assert_eq!(Notice::parse(notice.as_str()), Some(notice));
        }
        assert_eq!(Notice::parse("<script>"), None);
    }

    #[test]
    fn a_held_back_code_says_when_to_ask_again() {
        assert_eq!(
            Notice::LockedCodeDelayed.message(Some("1234"), Some(600)),
            "Your account is temporarily locked. Too many codes were requested, so we could not \
             send one to the mobile number ending in 1234 now. Ask for a new code in 10 minutes."
        );
    }

    #[test]
    fn a_search_is_percent_encoded_in_its_address() {
        assert_eq!(
            paths::admin_search("a+b@example.com"),
            "/admin?q=a%2Bb%40example.com"
        );
    }

    #[test]
    fn a_notice_is_stored_under_its_own_name() {
        for notice in Notice::ALL {
            let json = serde_json::to_string(&notice).expect("serialises");
            assert_eq!(json, format!("\"{}\"", notice.as_str()));
        }
    }
}
