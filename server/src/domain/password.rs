//! A password as typed: 8 to 128 characters, no composition rules (NIST 800-63B), not one of the
//! 19,640 most common passwords (`server/data/common-passwords.txt`), not the account's email and
//! not containing the person's name. Its `Debug` never shows the value.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

/// The common-password list, compiled into the binary and indexed on first use.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// Names shorter than this are not searched for in passwords (too many innocent matches).
const MIN_NAME_LENGTH: usize = 3;

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
    #[error("This password is one of the most common ones. Choose one that is harder to guess.")]
    Common,
    #[error("Your password must not be your email address.")]
    SameAsEmail,
    #[error("Your password must not contain your name.")]
    ContainsName,
}

impl Password {
    /// A new password, checked against the length limits and the common-password list.
    pub fn parse_new(input: &str) -> Result<Self, PasswordError> {
        let length = input.chars().count();
        if length == 0 {
            Err(PasswordError::Empty)
        } else if length < MIN_LENGTH {
            Err(PasswordError::TooShort)
        } else if length > MAX_LENGTH {
            Err(PasswordError::TooLong)
        } else if COMMON.contains(input.trim().to_lowercase().as_str()) {
            Err(PasswordError::Common)
        } else {
            Ok(Self(input.to_owned()))
        }
    }

    /// Refuses a new password equal to the account's email or containing one of its names
    /// (compared without case; names under three letters are not searched for).
    pub fn check_personal(&self, email: &str, names: &[&str]) -> Result<(), PasswordError> {
        let password = self.0.trim().to_lowercase();
        if password == email.trim().to_lowercase() {
            return Err(PasswordError::SameAsEmail);
        }
        let contains_name = names
            .iter()
            .map(|name| name.trim().to_lowercase())
            .filter(|name| name.chars().count() >= MIN_NAME_LENGTH)
            .any(|name| password.contains(&name));
        if contains_name {
            Err(PasswordError::ContainsName)
        } else {
            Ok(())
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
        assert!(Password::parse_new("8 chars!").is_ok());
        assert!(Password::parse_new("alllowercase").is_ok());
        assert!(Password::parse_new(&"é".repeat(128)).is_ok());
        assert_eq!(
            Password::parse_new(&"x".repeat(129)).map(|_| ()),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert_eq!(COMMON.len(), 19_640);
        for common in [
            "password1",
            "iloveyou",
            "Password1",
            " QWERTY123 ",
            "baseball",
        ] {
            assert_eq!(
                Password::parse_new(common).map(|_| ()),
                Err(PasswordError::Common),
                "{common}"
            );
        }
        assert!(Password::parse_new("correct horse battery staple").is_ok());
    }

    #[test]
    fn the_email_and_the_name_are_not_passwords() {
        let names = ["Ada", "Lovelace"];
        let email = "Ada.Lovelace@example.com";
        let check = |password: &str| {
            Password::parse_new(password)
                .expect("long enough and uncommon")
                .check_personal(email, &names)
        };
        assert_eq!(
            check("ada.lovelace@EXAMPLE.com"),
            Err(PasswordError::SameAsEmail)
        );
        assert_eq!(check("xx-lovelace-2026"), Err(PasswordError::ContainsName));
        assert_eq!(
            check("i am ADA the great"),
            Err(PasswordError::ContainsName)
        );
        assert_eq!(check("correct horse battery staple"), Ok(()));
        let short_name = Password::parse_new("alfalfa sprouts").expect("valid");
        assert_eq!(short_name.check_personal("x@example.com", &["Al"]), Ok(()));
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
