//! A mobile phone number in E.164 form (`+14155551234`), parsed with libphonenumber's metadata.
//! Numbers typed without a country code are read in the configured default region.

use app::types::PhoneEnding;
use phonenumber::country;
use std::fmt;

/// What people may type: digits, spaces and the usual punctuation; anything longer is refused
/// before the parser sees it.
const MAX_INPUT_LENGTH: usize = 40;

/// A country, by its ISO 3166-1 alpha-2 code: the region assumed for numbers typed without `+`
/// and a country code, and the unit of the allowed-destinations list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(country::Id);

impl PhoneRegion {
    /// An ISO 3166-1 alpha-2 code such as `US` or `GB`.
    pub fn parse(code: &str) -> Option<Self> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<country::Id>()
            .ok()
            .map(Self)
    }

    /// The two-letter code.
    pub fn code(self) -> String {
        format!("{:?}", self.0)
    }
}

/// The kind of line a number is, as far as libphonenumber's metadata can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineType {
    Mobile,
    /// Numbering plans (such as North America's) that do not tell mobile and fixed lines apart.
    FixedLineOrMobile,
    FixedLine,
    PremiumRate,
    SharedCost,
    TollFree,
    Voip,
    /// Pagers, personal, UAN, voicemail, short codes, or unknown.
    Other,
}

impl LineType {
    /// Whether a text message to this kind of line can reach a person's phone.
    pub fn receives_sms(self) -> bool {
        matches!(self, Self::Mobile | Self::FixedLineOrMobile)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Mobile => "a mobile number",
            Self::FixedLineOrMobile => "a mobile or landline number",
            Self::FixedLine => "a landline number",
            Self::PremiumRate => "a premium-rate number",
            Self::SharedCost => "a shared-cost number",
            Self::TollFree => "a toll-free number",
            Self::Voip => "an internet (VoIP) number",
            Self::Other => "not a personal mobile number",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("Enter your mobile phone number.")]
    Empty,
    #[error("That is not a phone number. Use digits, with the country code if you are abroad, e.g. +44 7400 123456.")]
    Unreadable,
    #[error("That number is not valid. Check the digits and the country code.")]
    Invalid,
}

impl PhoneNumber {
    pub fn parse(input: &str, default_region: PhoneRegion) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
        if trimmed.chars().count() > MAX_INPUT_LENGTH || !trimmed.chars().all(allowed) {
            return Err(PhoneError::Unreadable);
        }
        // Digits the parser cannot place (too short, too long) are a wrong number, not a typo.
        let parsed =
            phonenumber::parse(Some(default_region.0), trimmed).map_err(|_| PhoneError::Invalid)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid);
        }
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// A number already stored in E.164 form.
    pub fn from_e164(stored: String) -> Self {
        Self(stored)
    }

    pub fn e164(&self) -> &str {
        &self.0
    }

    /// The country the number belongs to, from libphonenumber's metadata.
    pub fn region(&self) -> Option<PhoneRegion> {
        self.parsed()?.country().id().map(PhoneRegion)
    }

    /// What kind of line the number is, from libphonenumber's metadata.
    pub fn line_type(&self) -> LineType {
        use phonenumber::Type;
        match self
            .parsed()
            .map(|number| number.number_type(&phonenumber::metadata::DATABASE))
        {
            Some(Type::Mobile) => LineType::Mobile,
            Some(Type::FixedLineOrMobile) => LineType::FixedLineOrMobile,
            Some(Type::FixedLine) => LineType::FixedLine,
            Some(Type::PremiumRate) => LineType::PremiumRate,
            Some(Type::SharedCost) => LineType::SharedCost,
            Some(Type::TollFree) => LineType::TollFree,
            Some(Type::Voip) => LineType::Voip,
            _ => LineType::Other,
        }
    }

    fn parsed(&self) -> Option<phonenumber::PhoneNumber> {
        phonenumber::parse(None, &self.0).ok()
    }

    /// The number as a person reads it back before codes go to it: international form, country
    /// and kind of line, e.g. "+44 7400 123456 · GB · a mobile number".
    pub fn read_back(&self) -> String {
        let international = self
            .parsed()
            .map(|number| {
                number
                    .format()
                    .mode(phonenumber::Mode::International)
                    .to_string()
            })
            .unwrap_or_else(|| self.0.clone());
        match self.region() {
            Some(region) => format!(
                "{international} · {} · {}",
                region.code(),
                self.line_type().describe()
            ),
            None => format!("{international} · {}", self.line_type().describe()),
        }
    }

    /// The last four digits, the only part ever shown.
    pub fn ending(&self) -> PhoneEnding {
        PhoneEnding::of_number(&self.0)
    }

    /// Every digit but the last four replaced: `+•••••••1234`.
    pub fn masked(&self) -> String {
        let digits = self.0.chars().filter(char::is_ascii_digit).count();
        let mut shown = 0;
        let mut masked: Vec<char> = Vec::with_capacity(self.0.len());
        for c in self.0.chars().rev() {
            if c.is_ascii_digit() {
                shown += 1;
                masked.push(if shown <= 4 || digits <= 4 { c } else { '•' });
            } else {
                masked.push(c);
            }
        }
        masked.into_iter().rev().collect()
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> PhoneRegion {
        PhoneRegion::parse("us").expect("US is a region")
    }

    #[test]
    fn a_number_is_read_back_in_international_form_with_its_country_and_line() {
        let uk = PhoneNumber::parse("+44 7400 123456", us()).expect("valid");
        assert_eq!(uk.read_back(), "+44 7400 123456 · GB · a mobile number");
        let us_number = PhoneNumber::parse("(415) 555-2671", us()).expect("valid");
        assert_eq!(
            us_number.read_back(),
            "+1 415-555-2671 · US · a mobile or landline number"
        );
    }

    #[test]
    fn national_numbers_are_read_in_the_default_region_and_stored_as_e164() {
        let phone = PhoneNumber::parse("(415) 555-2671", us()).expect("valid");
        assert_eq!(phone.e164(), "+14155552671");
    }

    #[test]
    fn international_numbers_keep_their_own_country() {
        let phone = PhoneNumber::parse("+44 7911 123456", us()).expect("valid");
        assert_eq!(phone.e164(), "+447911123456");
    }

    #[test]
    fn invalid_numbers_are_refused_with_a_clear_reason() {
        assert_eq!(PhoneNumber::parse("", us()), Err(PhoneError::Empty));
        assert_eq!(
            PhoneNumber::parse("call me", us()),
            Err(PhoneError::Unreadable)
        );
        assert_eq!(PhoneNumber::parse("123", us()), Err(PhoneError::Invalid));
        assert_eq!(PhoneNumber::parse("12", us()), Err(PhoneError::Invalid));
        assert_eq!(
            PhoneNumber::parse(&"1".repeat(41), us()),
            Err(PhoneError::Unreadable)
        );
    }

    #[test]
    fn only_the_last_four_digits_are_shown() {
        let phone = PhoneNumber::parse("+14155552671", us()).expect("valid");
        assert_eq!(phone.masked(), "+•••••••2671");
        assert_eq!(phone.ending().as_str(), "2671");
    }

    #[test]
    fn the_metadata_tells_the_country_and_the_kind_of_line() {
        let uk_mobile = PhoneNumber::parse("+44 7400 123456", us()).expect("valid");
        assert_eq!(
            uk_mobile.region().map(PhoneRegion::code).as_deref(),
            Some("GB")
        );
        assert_eq!(uk_mobile.line_type(), LineType::Mobile);
        let uk_premium = PhoneNumber::parse("+44 909 876 5432", us()).expect("valid");
        assert_eq!(uk_premium.line_type(), LineType::PremiumRate);
        assert!(!uk_premium.line_type().receives_sms());
        let us_number = PhoneNumber::parse("(415) 555-2671", us()).expect("valid");
        assert_eq!(us_number.line_type(), LineType::FixedLineOrMobile);
        assert!(us_number.line_type().receives_sms());
        let us_toll_free = PhoneNumber::parse("+1 800 555 0199", us()).expect("valid");
        assert_eq!(us_toll_free.line_type(), LineType::TollFree);
    }

    #[test]
    fn unknown_regions_are_refused() {
        assert!(PhoneRegion::parse("ZZ").is_none());
        assert!(PhoneRegion::parse("gb").is_some());
    }
}
