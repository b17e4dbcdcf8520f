//! A first or last name: trimmed, 1 to 100 characters, no control characters and no invisible or
//! bidirectional formatting (a joiner between two letters excepted; see `invisible`). Anything
//! else is allowed (names are always rendered escaped).

const MAX_LENGTH: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("Enter your {0}.")]
    Empty(&'static str),
    #[error("Your {0} can be at most 100 characters.")]
    TooLong(&'static str),
    #[error("Your {0} contains characters that are not allowed.")]
    ControlCharacters(&'static str),
    #[error(
        "Your {0} contains invisible or text-direction characters. Type it again without them."
    )]
    Invisible(&'static str),
}

impl PersonName {
    /// `which` names the field in the error, e.g. "first name".
    pub fn parse(input: &str, which: &'static str) -> Result<Self, NameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(NameError::Empty(which));
        }
        if trimmed.chars().count() > MAX_LENGTH {
            return Err(NameError::TooLong(which));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(NameError::ControlCharacters(which));
        }
        if super::invisible::in_name(trimmed) {
            return Err(NameError::Invisible(which));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_markup_and_quotes_as_plain_text() {
        let name = PersonName::parse(" <b>O'Brien</b>; DROP TABLE accounts; ", "last name")
            .expect("valid");
        assert_eq!(name.as_str(), "<b>O'Brien</b>; DROP TABLE accounts;");
    }

    #[test]
    fn empty_long_and_control_character_names_are_refused() {
        assert_eq!(
            PersonName::parse("  ", "first name"),
            Err(NameError::Empty("first name"))
        );
        assert_eq!(
            PersonName::parse(&"x".repeat(101), "first name"),
            Err(NameError::TooLong("first name"))
        );
        assert_eq!(
            PersonName::parse("Ada\u{0}", "first name"),
            Err(NameError::ControlCharacters("first name"))
        );
        assert!(PersonName::parse(&"é".repeat(100), "first name").is_ok());
        assert_eq!(
            PersonName::parse("Ada\u{202E}ecalevoL", "last name"),
            Err(NameError::Invisible("last name"))
        );
        assert_eq!(
            PersonName::parse("Ad\u{200B}a", "first name"),
            Err(NameError::Invisible("first name"))
        );
    }
}
