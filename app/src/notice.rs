//! The one-line notices a page shows after another page sent the person there, and their words.

use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_notice_is_stored_under_its_own_name() {
        for notice in Notice::ALL {
            let json = serde_json::to_string(&notice).expect("serialises");
            assert_eq!(json, format!("\"{}\"", notice.as_str()));
        }
    }
}
