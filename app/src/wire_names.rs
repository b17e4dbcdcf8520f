//! Fieldless enums written as one fixed name each (`"sms"`, `"password_reset"`), in JSON and in
//! forms alike.
//!
//! `wire_names!` gives an enum `as_str`, `from_name` and serde impls that go through that one
//! table. serde's derived enum impls accept more shapes (maps, indices) than any answer of this
//! service uses, and each costs the browser's wasm about 1 KB more than one string match.

/// Implements `as_str`, `from_name`, `Serialize` and `Deserialize` for a fieldless enum from its
/// table of names.
macro_rules! wire_names {
    ($enum:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $enum {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The name it is written as.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }

            /// The variant written as `name`, exactly.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl serde::Serialize for $enum {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $enum {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = String::deserialize(deserializer)?;
                Self::from_name(&name).ok_or_else(|| {
                    serde::de::Error::unknown_variant(&name, &[$($name),+])
                })
            }
        }
    };
}

pub(crate) use wire_names;

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Colour {
        Red,
        DeepBlue,
    }

    wire_names!(Colour { Red => "red", DeepBlue => "deep_blue" });

    #[test]
    fn each_variant_is_written_as_its_name_and_read_back() {
        for colour in Colour::ALL {
            let json = serde_json::to_string(colour).expect("serialises");
            assert_eq!(json, format!("\"{}\"", colour.as_str()));
            let back: Colour = serde_json::from_str(&json).expect("deserialises");
            assert_eq!(back, *colour);
        }
        assert_eq!(Colour::from_name("deep_blue"), Some(Colour::DeepBlue));
    }

    #[test]
    fn an_unknown_name_is_refused_naming_the_known_ones() {
        let error = serde_json::from_str::<Colour>("\"green\"").expect_err("refused");
        assert!(
            error.to_string().contains("unknown variant `green`"),
            "{error}"
        );
        assert!(error.to_string().contains("`red`"), "{error}");
        assert!(serde_json::from_str::<Colour>("3").is_err());
    }
}
