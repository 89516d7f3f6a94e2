//! Spaces: a user's top-level containers.

use chrono::{DateTime, Utc};

use super::{check_name, check_text};
use crate::{
    FieldError,
    ids::{SpaceId, UserId},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    pub id: SpaceId,
    pub user_id: UserId,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A space (or collection) name: 1..=200 characters, not blank, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceName(String);

impl SpaceName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        check_name(field, raw, 1, 200)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Descriptions are optional and bounded so one request cannot store megabytes of text.
pub(crate) fn check_description(field: &str, raw: &Option<String>) -> Result<(), FieldError> {
    match raw {
        Some(text) => check_text(field, text, 0, 10_000),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_1_to_200_characters_and_not_blank() {
        assert!(SpaceName::parse("name", "Research").is_ok());
        assert!(SpaceName::parse("name", &"é".repeat(200)).is_ok(), "limit counts characters");
        assert_eq!(SpaceName::parse("name", "").unwrap_err().field, "name");
        assert!(SpaceName::parse("name", "   ").is_err());
        assert!(SpaceName::parse("name", &"a".repeat(201)).is_err());
        assert_eq!(SpaceName::parse("name", "a\0b").unwrap_err().message, "must not contain NUL characters");
        assert!(SpaceName::parse("name", "a\u{1b}[31mb").is_err(), "no terminal escapes");
        assert!(check_description("description", &Some("line\nline\ttab".into())).is_ok());
        assert!(check_description("description", &Some("a\0".into())).is_err());
    }
}
