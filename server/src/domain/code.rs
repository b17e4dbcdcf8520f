//! One-time codes as values: what a code is for (`CodeScope`, a wire value shared with the pages),
//! and the digits themselves.

pub use app::types::CodeScope;

use std::fmt;

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
}
