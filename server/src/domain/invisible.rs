//! Characters that change how text looks without being seen: zero-width characters, bidirectional
//! controls and other invisible formatting. In an email or a name they make two different values
//! look the same (a look-alike account), or reorder what the admin console shows (a spoofed name).

/// Bidirectional controls: marks, embeddings, overrides and isolates. Never allowed.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// The zero-width joiner and non-joiner: invisible, but some scripts (Persian, the Indic
/// scripts) and emoji sequences need them between two visible characters.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Invisible characters with no place in a name or an address: the soft hyphen, the Mongolian
/// vowel separator, the zero-width space, the word joiner and invisible operators, deprecated
/// format controls, the byte-order mark, interlinear annotation, musical formatting and tags.
fn is_other_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Whether an email address holds any invisible or bidirectional character (joiners included:
/// an address has no need of them).
pub fn in_email(text: &str) -> bool {
    text.chars()
        .any(|c| is_bidi_control(c) || is_joiner(c) || is_other_invisible(c))
}

/// Whether a name holds an invisible or bidirectional character it cannot need: any of them,
/// except a joiner between two visible characters.
pub fn in_name(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().any(|(index, &c)| {
        if is_joiner(c) {
            let visible = |neighbour: Option<&char>| {
                neighbour.is_some_and(|&n| {
                    !n.is_whitespace() && !is_joiner(n) && !in_email(&n.to_string())
                })
            };
            let before = index.checked_sub(1).and_then(|i| chars.get(i));
            !(visible(before) && visible(chars.get(index + 1)))
        } else {
            is_bidi_control(c) || is_other_invisible(c)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_zero_width_spaces_are_found_anywhere() {
        for text in [
            "ada\u{200B}@example.com",
            "\u{202E}moc.elpmaxe@ada",
            "ada@exa\u{2066}mple.com",
            "ada@example.com\u{FEFF}",
            "ad\u{00AD}a@example.com",
            "ada\u{200D}@example.com",
        ] {
            assert!(in_email(text), "{text:?}");
        }
        assert!(!in_email("ada.lovelace+latchkey@example.com"));
        assert!(!in_email("zoë@exämple.com"));
    }

    #[test]
    fn a_name_may_join_two_visible_characters_and_nothing_else() {
        // Persian "Mehr-Ali" is written with a zero-width non-joiner between two letters.
        assert!(!in_name("مهر\u{200C}علی"));
        assert!(!in_name("Zoë O'Brien-Smith"));
        assert!(in_name("\u{200C}Ada"));
        assert!(in_name("Ada\u{200D}"));
        assert!(in_name("Ada \u{200D} Lovelace"));
        assert!(in_name("Ada\u{200C}\u{200C}Lovelace"));
        assert!(in_name("Ada\u{202E}ecalevoL"));
        assert!(in_name("Ad\u{200B}a"));
        assert!(in_name("Ada\u{2069}"));
    }
}
