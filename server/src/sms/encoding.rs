//! How a text travels as SMS: GSM-7 (3GPP TS 23.038's default alphabet, 160 characters in one
//! message) when every character is in it, else UCS-2 (70 UTF-16 units in one message), and how
//! many segments that makes. Providers that do not choose by themselves are told which one to use
//! (Vonage `type=unicode`, MessageBird `datacoding`), so that "Łódź Konto" arrives as written.

/// The characters of the GSM 03.38 default alphabet that take one septet.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The characters of its extension table, which take two septets (an escape, then the character).
const GSM7_EXTENSION: &str = "\u{000C}^{}\\[~]|€";

/// The alphabet a text is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

impl Encoding {
    /// GSM-7 when every character of `text` is in its alphabet, else UCS-2.
    pub fn of(text: &str) -> Self {
        if text
            .chars()
            .all(|c| GSM7_BASIC.contains(c) || GSM7_EXTENSION.contains(c))
        {
            Self::Gsm7
        } else {
            Self::Ucs2
        }
    }

    /// How many units `text` takes: septets in GSM-7, UTF-16 code units in UCS-2.
    pub fn units(self, text: &str) -> usize {
        match self {
            Self::Gsm7 => text
                .chars()
                .map(|c| if GSM7_EXTENSION.contains(c) { 2 } else { 1 })
                .sum(),
            Self::Ucs2 => text.encode_utf16().count(),
        }
    }

    /// The units of one message alone, and of each part of a longer one (the rest of a part is
    /// its concatenation header).
    fn capacity(self) -> (usize, usize) {
        match self {
            Self::Gsm7 => (160, 153),
            Self::Ucs2 => (70, 67),
        }
    }
}

/// How `text` is sent: its alphabet and its number of segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    pub count: usize,
}

impl Segments {
    pub fn of(text: &str) -> Self {
        let encoding = Encoding::of(text);
        let units = encoding.units(text);
        let (single, part) = encoding.capacity();
        let count = if units <= single {
            1
        } else {
            units.div_ceil(part)
        };
        Self { encoding, count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_gsm7_and_any_other_character_makes_it_ucs2() {
        assert_eq!(
            Encoding::of("Latchkey: 123456 @login.example.com #123456"),
            Encoding::Gsm7
        );
        assert_eq!(Encoding::of("Ærø Bank: Ü É ñ £ €"), Encoding::Gsm7);
        assert_eq!(Encoding::of("Łódź Konto"), Encoding::Ucs2);
        assert_eq!(Encoding::of("名前"), Encoding::Ucs2);
        assert_eq!(
            Encoding::of("ç"),
            Encoding::Ucs2,
            "only the capital Ç is in GSM-7"
        );
    }

    #[test]
    fn segments_follow_each_alphabets_limits() {
        let gsm = |n: usize| Segments::of(&"a".repeat(n));
        assert_eq!(gsm(160).count, 1);
        assert_eq!(gsm(161).count, 2);
        assert_eq!(gsm(306).count, 2);
        assert_eq!(gsm(307).count, 3);
        // The extension table's characters count twice.
        assert_eq!(Segments::of(&"€".repeat(80)).count, 1);
        assert_eq!(Segments::of(&"€".repeat(81)).count, 2);
        let ucs = |n: usize| Segments::of(&"ł".repeat(n));
        assert_eq!(
            ucs(70),
            Segments {
                encoding: Encoding::Ucs2,
                count: 1
            }
        );
        assert_eq!(ucs(71).count, 2);
        assert_eq!(ucs(134).count, 2);
        assert_eq!(ucs(135).count, 3);
        // Outside the Basic Multilingual Plane: two UTF-16 units each.
        assert_eq!(Segments::of(&"😀".repeat(35)).count, 1);
        assert_eq!(Segments::of(&"😀".repeat(36)).count, 2);
    }
}
