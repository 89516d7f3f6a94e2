//! Typed identifiers: UUID v7 newtypes so a space id can never be passed as a source id.
//!
//! Ids are read only in their canonical spelling, 36 characters with hyphens (in any
//! case): the braced, `urn:uuid:` and unhyphenated forms that a general UUID parser
//! takes would let one resource have several addresses (and cache keys, and log
//! lines).

use std::{fmt, str::FromStr};

use uuid::Uuid;

use crate::error::FieldError;

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                raw.parse().map_err(|_| serde::de::Error::custom(NOT_CANONICAL))
            }
        }

        impl $name {
            /// A new, time-ordered (v7) identifier.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses a path or body parameter, naming `field` in the error.
            pub fn parse_field(field: &str, raw: &str) -> Result<Self, FieldError> {
                raw.parse().map_err(|_| FieldError::new(field, NOT_CANONICAL))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Lowercase hyphenated form, as the contract requires.
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_canonical(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }
    )*};
}

/// What a caller is told about an id that does not parse.
const NOT_CANONICAL: &str = "must be a UUID (36 characters, hyphenated)";

/// An id that is not a UUID in its canonical spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidId;

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NOT_CANONICAL)
    }
}

impl std::error::Error for InvalidId {}

fn parse_canonical(raw: &str) -> Result<Uuid, InvalidId> {
    // At 36 characters the parser accepts only the hyphenated form.
    if raw.len() != 36 {
        return Err(InvalidId);
    }
    Uuid::try_parse(raw).map_err(|_| InvalidId)
}

id_type!(UserId, ApiKeyId, SpaceId, CollectionId, SourceId, RunId, PostbackId, ArtifactId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_render_lowercase_and_sort_by_creation() {
        let first = SourceId::new();
        let second = SourceId::new();
        assert!(first < second, "v7 ids must sort by creation time");
        let text = first.to_string();
        assert_eq!(text, text.to_lowercase());
        assert_eq!(text.parse::<SourceId>().unwrap(), first);
    }

    #[test]
    fn only_the_hyphenated_spelling_is_an_id() {
        let id = SourceId::new();
        let hyphenated = id.to_string();
        assert_eq!(hyphenated.to_uppercase().parse::<SourceId>().unwrap(), id, "case does not matter");
        for other in [
            format!("{{{hyphenated}}}"),
            format!("urn:uuid:{hyphenated}"),
            id.0.simple().to_string(),
            format!(" {hyphenated}"),
        ] {
            assert_eq!(other.parse::<SourceId>(), Err(InvalidId), "{other}");
            assert!(serde_json::from_value::<SourceId>(serde_json::Value::String(other)).is_err());
        }
        assert_eq!(serde_json::from_value::<SourceId>(serde_json::Value::String(hyphenated)).unwrap(), id);
    }

    #[test]
    fn parse_field_names_the_field() {
        let error = SpaceId::parse_field("spaceId", "not-a-uuid").unwrap_err();
        assert_eq!(error.field, "spaceId");
    }
}
