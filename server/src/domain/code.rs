//! One-time codes as values: what a code is for, and the digits themselves.

use std::fmt;

/// What a code may be used for: its scope. A code issued in one scope never works in another:
/// the scope is bound into the code's hash and each scope has its own stored code per account.
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

impl CodeScope {
    pub const ALL: [CodeScope; 6] = [
        Self::PhoneVerification,
        Self::SignIn,
        Self::Unlock,
        Self::PasswordReset,
        Self::PhoneChange,
        Self::AdminStepUp,
    ];

    /// The name stored in the database and bound into the code's hash.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PhoneVerification => "phone_verification",
            Self::SignIn => "sign_in",
            Self::Unlock => "unlock",
            Self::PasswordReset => "password_reset",
            Self::PhoneChange => "phone_change",
            Self::AdminStepUp => "admin_step_up",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == name)
    }

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

/// A string of ASCII digits: a code as issued, or as typed once spaces and dashes are removed.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeFormatError {
    #[error("Enter the code from the text message.")]
    Empty,
    #[error("The code is {0} digits long. Check the message and try again.")]
    WrongShape(u8),
}

impl VerificationCode {
    /// Reads a code typed by a person: spaces and dashes are ignored; it must then be exactly
    /// `length` digits.
    pub fn parse(input: &str, length: u8) -> Result<Self, CodeFormatError> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.is_empty() {
            return Err(CodeFormatError::Empty);
        }
        if digits.len() != usize::from(length) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(CodeFormatError::WrongShape(length));
        }
        Ok(Self(digits))
    }

    /// A freshly generated code; the caller guarantees it is all digits.
    pub(crate) fn from_generated(digits: String) -> Self {
        Self(digits)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_may_contain_spaces_and_dashes() {
        let code = VerificationCode::parse(" 123-456 ", 6).expect("valid");
        assert_eq!(code.expose(), "123456");
    }

    #[test]
    fn codes_of_the_wrong_length_or_with_letters_are_refused() {
        assert_eq!(VerificationCode::parse("", 6), Err(CodeFormatError::Empty));
        assert_eq!(
            VerificationCode::parse("12345", 6),
            Err(CodeFormatError::WrongShape(6))
        );
        assert_eq!(
            VerificationCode::parse("12345a", 6),
            Err(CodeFormatError::WrongShape(6))
        );
        assert_eq!(
            VerificationCode::parse("١٢٣٤٥٦", 6),
            Err(CodeFormatError::WrongShape(6))
        );
    }

    #[test]
    fn scopes_have_distinct_names_that_parse_back() {
        let names: std::collections::HashSet<&str> =
            CodeScope::ALL.iter().map(|scope| scope.as_str()).collect();
        assert_eq!(names.len(), CodeScope::ALL.len());
        for scope in CodeScope::ALL {
            assert_eq!(CodeScope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(CodeScope::parse("anything"), None);
    }
}
