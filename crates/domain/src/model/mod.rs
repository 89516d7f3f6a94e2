//! The entities and value objects of ctxd, with their validation rules.

pub mod address;
mod api_key;
mod artifact;
pub(crate) mod collection;
pub mod composition;
mod context;
mod document;
mod page;
mod postback;
mod refresh_policy;
mod revision;
mod run;
mod source;
pub(crate) mod space;
mod user;

pub use api_key::{ApiKey, ApiKeySecret, IssuedApiKey, hash_secret as hash_secret_for_lookup};
pub use artifact::{Artifact, ArtifactChanges, ArtifactDraft, ArtifactKind, ArtifactQuery, ArtifactWrite, Provenance};
pub use collection::{Collection, CollectionNode, build_tree};
pub use context::{Context, ContextDraft};
pub use document::{Document, DocumentFormat, NormalizeInput, PageType, Role, Turn};
pub use page::{Page, PageRequest};
pub use postback::{DEFAULT_RETRY_DELAYS_SECONDS, DeliveryFailure, Postback, PostbackStatus, WebhookSecret};
pub use refresh_policy::{RefreshMode, RefreshPolicy};
pub use revision::{HttpMeta, Revision};
pub use run::{Run, RunFlags, RunKind, RunOutcome, RunStatus, StageTimings};
pub use source::{MAX_URL_BYTES, Source, SourceFields, SourceInput, SourceMaterial, SourceStats, SourceType, Upload};
pub use space::{Space, SpaceName};
pub use user::{Plan, User};

/// Declares an UPPER_CASE wire enum with `as_str`, `ALL` and `FromStr`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use wire_enum;

/// Checks a one-line name: [`check_text`], and no control characters (a name is shown
/// in lists, logs and terminals, where they would break lines or inject escapes).
pub fn check_name(field: &str, value: &str, min: usize, max: usize) -> Result<(), crate::FieldError> {
    check_text(field, value, min, max)?;
    if value.chars().any(char::is_control) {
        return Err(crate::FieldError::new(field, "must not contain control characters"));
    }
    Ok(())
}

/// Removes NUL characters from text a document produced: Postgres stores none, in
/// text or in JSON, and in a document they carry no meaning (binary debris, padding).
pub fn strip_nul(text: &mut String) {
    if text.contains('\0') {
        text.retain(|c| c != '\0');
    }
}

/// Checks a human-readable text field: its length in characters, and no NUL
/// character (which Postgres cannot store and no person types).
pub fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<(), crate::FieldError> {
    if value.contains('\0') {
        return Err(crate::FieldError::new(field, "must not contain NUL characters"));
    }
    let n_chars = value.chars().count();
    if value.trim().is_empty() && min > 0 {
        return Err(crate::FieldError::new(field, "must not be empty"));
    }
    if n_chars < min || n_chars > max {
        return Err(crate::FieldError::new(field, format!("must be {min} to {max} characters")));
    }
    Ok(())
}
