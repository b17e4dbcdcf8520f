//! A password as typed: 8 to 128 characters, no composition rules (NIST 800-63B). Its `Debug`
//! never shows the value.

use std::fmt;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

#[derive(Clone)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Enter a password.")]
    Empty,
    #[error("Use at least 8 characters.")]
    TooShort,
    #[error("Use at most 128 characters.")]
    TooLong,
    #[error("The passwords do not match.")]
    Mismatch,
}

impl Password {
    /// A new password, checked against the length limits.
    pub fn parse_new(input: &str) -> Result<Self, PasswordError> {
        let length = input.chars().count();
        if length == 0 {
            Err(PasswordError::Empty)
        } else if length < MIN_LENGTH {
            Err(PasswordError::TooShort)
        } else if length > MAX_LENGTH {
            Err(PasswordError::TooLong)
        } else {
            Ok(Self(input.to_owned()))
        }
    }

    /// A password typed to sign in: only emptiness and the upper bound are checked, so that the
    /// work of hashing stays bounded.
    pub fn parse_attempt(input: &str) -> Result<Self, PasswordError> {
        let length = input.chars().count();
        if length == 0 {
            Err(PasswordError::Empty)
        } else if length > MAX_LENGTH {
            Err(PasswordError::TooLong)
        } else {
            Ok(Self(input.to_owned()))
        }
    }

    /// Checks the confirmation typed in the second box.
    pub fn confirm(&self, confirmation: &str) -> Result<(), PasswordError> {
        if self.0 == confirmation {
            Ok(())
        } else {
            Err(PasswordError::Mismatch)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_needs_8_to_128_characters_and_nothing_else() {
        assert_eq!(
            Password::parse_new("").map(|_| ()),
            Err(PasswordError::Empty)
        );
        assert_eq!(
            Password::parse_new("1234567").map(|_| ()),
            Err(PasswordError::TooShort)
        );
        assert!(Password::parse_new("12345678").is_ok());
        assert!(Password::parse_new("alllowercase").is_ok());
        assert!(Password::parse_new(&"é".repeat(128)).is_ok());
        assert_eq!(
            Password::parse_new(&"x".repeat(129)).map(|_| ()),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn the_confirmation_must_match_exactly() {
        let password = Password::parse_new("correct horse").expect("valid");
        assert_eq!(password.confirm("correct horse"), Ok(()));
        assert_eq!(
            password.confirm("correct horse "),
            Err(PasswordError::Mismatch)
        );
    }

    #[test]
    fn debug_output_hides_the_password() {
        let password = Password::parse_new("hunter2hunter2").expect("valid");
        assert!(!format!("{password:?}").contains("hunter2"));
    }
}
