//! Typed identifiers: UUID v7 newtypes so a space id can never be passed as a source id.

use std::{fmt, str::FromStr};

use uuid::Uuid;

use crate::error::FieldError;

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (v7) identifier.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses a path or body parameter, naming `field` in the error.
            pub fn parse_field(field: &str, raw: &str) -> Result<Self, FieldError> {
                raw.parse().map_err(|_| FieldError::new(field, "must be a UUID"))
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
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }
    )*};
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
    fn parse_field_names_the_field() {
        let error = SpaceId::parse_field("spaceId", "not-a-uuid").unwrap_err();
        assert_eq!(error.field, "spaceId");
    }
}
