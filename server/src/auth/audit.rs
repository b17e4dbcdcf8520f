//! The security events Latchkey records, and how each reads on the account page.

/// One kind of security event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    SignedUp,
    LoginSucceeded,
    LoginFailed,
    AccountLocked,
    AccountUnlocked,
    CodeSent,
    CodeRejected,
    ResetRequested,
    PasswordReset,
    SessionRevoked,
    LimitHit,
    DeliveryChanged,
    PhoneVerified,
    SignInCodeChanged,
    PhoneChangeRequested,
    PhoneChanged,
    AdminElevated,
    AdminUnlocked,
    AdminForcedReset,
    AdminRevokedSessions,
    RoleChanged,
    DeviceForgotten,
    DeviceTrustEnded,
    UnknownEmail,
}

impl AuditKind {
    pub const ALL: [AuditKind; 24] = [
        Self::SignedUp,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::AccountLocked,
        Self::AccountUnlocked,
        Self::CodeSent,
        Self::CodeRejected,
        Self::ResetRequested,
        Self::PasswordReset,
        Self::SessionRevoked,
        Self::LimitHit,
        Self::DeliveryChanged,
        Self::PhoneVerified,
        Self::SignInCodeChanged,
        Self::PhoneChangeRequested,
        Self::PhoneChanged,
        Self::AdminElevated,
        Self::AdminUnlocked,
        Self::AdminForcedReset,
        Self::AdminRevokedSessions,
        Self::RoleChanged,
        Self::DeviceForgotten,
        Self::DeviceTrustEnded,
        Self::UnknownEmail,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedUp => "signup",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::AccountLocked => "account_locked",
            Self::AccountUnlocked => "account_unlocked",
            Self::CodeSent => "code_sent",
            Self::CodeRejected => "code_rejected",
            Self::ResetRequested => "reset_requested",
            Self::PasswordReset => "password_reset",
            Self::SessionRevoked => "session_revoked",
            Self::LimitHit => "limit_hit",
            Self::DeliveryChanged => "delivery_changed",
            Self::PhoneVerified => "phone_verified",
            Self::SignInCodeChanged => "sign_in_code_changed",
            Self::PhoneChangeRequested => "phone_change_requested",
            Self::PhoneChanged => "phone_changed",
            Self::AdminElevated => "admin_elevated",
            Self::AdminUnlocked => "admin_unlocked",
            Self::AdminForcedReset => "admin_forced_reset",
            Self::AdminRevokedSessions => "admin_revoked_sessions",
            Self::RoleChanged => "role_changed",
            Self::DeviceForgotten => "device_forgotten",
            Self::DeviceTrustEnded => "device_trust_ended",
            Self::UnknownEmail => "unknown_email",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// How the event reads to the account holder.
    pub fn describe(self) -> &'static str {
        match self {
            Self::SignedUp => "Account created",
            Self::LoginSucceeded => "Signed in",
            Self::LoginFailed => "Wrong password entered",
            Self::AccountLocked => "Account locked after failed sign-ins",
            Self::AccountUnlocked => "Account unlocked with a code",
            Self::CodeSent => "Verification code sent",
            Self::CodeRejected => "Wrong or expired code entered",
            Self::ResetRequested => "Password reset requested",
            Self::PasswordReset => "Password changed with a reset code",
            Self::SessionRevoked => "Signed out",
            Self::LimitHit => "Code not sent: too many requested",
            Self::DeliveryChanged => "Code delivery preference changed",
            Self::PhoneVerified => "Phone number verified",
            Self::SignInCodeChanged => "Sign-in code setting changed",
            Self::PhoneChangeRequested => "Phone number change started",
            Self::PhoneChanged => "Phone number changed",
            Self::AdminElevated => "Admin area opened with an access code",
            Self::AdminUnlocked => "Account unlocked by an administrator",
            Self::AdminForcedReset => "Password reset required by an administrator",
            Self::AdminRevokedSessions => "Sessions ended by an administrator",
            Self::RoleChanged => "Account role changed",
            Self::DeviceForgotten => "A trusted browser was removed",
            Self::DeviceTrustEnded => "A browser lost its trust after wrong passwords",
            Self::UnknownEmail => "A code was asked for an email with no account",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_survives_the_database_name() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AuditKind::parse("something_else"), None);
    }
}
