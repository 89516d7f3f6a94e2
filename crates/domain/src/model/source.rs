//! Sources: what a user registers (URL, uploaded file, inline content, composition).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use url::Url;

use super::{RefreshPolicy, wire_enum};
use crate::{
    error::{FieldError, Violations},
    ids::{CollectionId, SourceId, SpaceId, UserId},
    state::SourceStatus,
};

wire_enum!(
    SourceType {
        Uri => "URI",
        File => "FILE",
        Content => "CONTENT",
        Composition => "COMPOSITION",
    }
);

impl SourceType {
    /// Whether the source has an origin to re-fetch (and so can have a refresh policy).
    pub fn is_refreshable(self) -> bool {
        matches!(self, SourceType::Uri | SourceType::File)
    }
}

/// The validated material of a source, one shape per type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceInput {
    Uri { url: Url },
    File { file_key: String },
    Content { data: String },
    Composition { source_ids: Vec<SourceId> },
}

/// A composition holds at most this many members.
pub const MAX_COMPOSITION_MEMBERS: usize = 100;

/// The longest URL accepted (a source's address, a postback target), in bytes. Real
/// addresses stay far below it; without a bound one request could store megabytes
/// in a field that every listing returns.
pub const MAX_URL_BYTES: usize = 4096;

/// The longest file key accepted.
const MAX_FILE_KEY_BYTES: usize = 512;

/// A source's material as a caller states it, before the domain checks it. Each
/// transport builds it from its own wire form (REST's `initial_data` object, gRPC's
/// `oneof`), so the type follows from the shape and nothing is parsed twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceMaterial {
    Uri {
        url: String,
    },
    File {
        file_key: String,
    },
    Content {
        data: String,
    },
    /// Member ids as given; the domain reads them (a bad one is named by its index).
    Composition {
        source_ids: Vec<String>,
    },
}

impl SourceMaterial {
    pub fn source_type(&self) -> SourceType {
        match self {
            SourceMaterial::Uri { .. } => SourceType::Uri,
            SourceMaterial::File { .. } => SourceType::File,
            SourceMaterial::Content { .. } => SourceType::Content,
            SourceMaterial::Composition { .. } => SourceType::Composition,
        }
    }
}

/// Where each part of a source request sits in the caller's wire form, so that a
/// validation error names the field the caller sent: REST says
/// `initial_data.url` and `instructions.postback_url`, gRPC `input.url` and
/// `postback_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFields {
    /// What says the source's type.
    pub source_type: &'static str,
    pub url: &'static str,
    pub file_key: &'static str,
    pub data: &'static str,
    pub source_ids: &'static str,
    pub postback_url: &'static str,
    pub refresh_policy: &'static str,
}

impl SourceFields {
    /// Plain names, for callers without a wire form of their own (tests, tools).
    pub const PLAIN: SourceFields = SourceFields {
        source_type: "type",
        url: "url",
        file_key: "file_key",
        data: "data",
        source_ids: "source_ids",
        postback_url: "postback_url",
        refresh_policy: "refresh_policy",
    };
}

impl Default for SourceFields {
    fn default() -> Self {
        Self::PLAIN
    }
}

impl SourceInput {
    pub fn source_type(&self) -> SourceType {
        match self {
            SourceInput::Uri { .. } => SourceType::Uri,
            SourceInput::File { .. } => SourceType::File,
            SourceInput::Content { .. } => SourceType::Content,
            SourceInput::Composition { .. } => SourceType::Composition,
        }
    }

    /// Checks what the caller stated, naming bad fields in the caller's vocabulary.
    /// Checks that need the database (the file key's owner, the members' space) are
    /// the service's job.
    ///
    /// NUL characters are dropped from CONTENT data: Postgres cannot store them, and in
    /// pasted text they carry nothing a reader sees.
    ///
    /// The size of CONTENT data is the service's check: over the limit is a 413, not a
    /// field error.
    pub fn check(material: &SourceMaterial, fields: &SourceFields) -> Result<Self, Vec<FieldError>> {
        let invalid = |field: &str, message: String| Err(vec![FieldError::new(field, message)]);
        match material {
            SourceMaterial::Uri { url } if url.len() > MAX_URL_BYTES => {
                invalid(fields.url, format!("must be at most {MAX_URL_BYTES} bytes"))
            }
            SourceMaterial::Uri { url } => match Url::parse(url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(SourceInput::Uri { url }),
                Ok(_) => invalid(fields.url, "must be an http or https URL".into()),
                Err(_) => invalid(fields.url, "must be an absolute http or https URL".into()),
            },
            SourceMaterial::File { file_key } if file_key.trim().is_empty() || file_key.len() > MAX_FILE_KEY_BYTES => {
                invalid(fields.file_key, "must be a fileKey returned by the upload endpoint".into())
            }
            SourceMaterial::File { file_key } => Ok(SourceInput::File { file_key: file_key.clone() }),
            SourceMaterial::Content { data }
                if data.trim_matches(|c: char| c.is_whitespace() || c == '\0').is_empty() =>
            {
                invalid(fields.data, "must not be empty".into())
            }
            SourceMaterial::Content { data } => {
                let mut data = data.clone();
                super::strip_nul(&mut data);
                Ok(SourceInput::Content { data })
            }
            SourceMaterial::Composition { source_ids } => {
                check_members(fields.source_ids, source_ids).map(|source_ids| SourceInput::Composition { source_ids })
            }
        }
    }

    /// The wire form, as the contract shows it in `initial_data` (and storage keeps it).
    pub fn to_json(&self) -> Value {
        match self {
            SourceInput::Uri { url } => json!({ "url": url.as_str() }),
            SourceInput::File { file_key } => json!({ "data": file_key }),
            SourceInput::Content { data } => json!({ "data": data }),
            SourceInput::Composition { source_ids } => {
                json!({ "source_ids": source_ids.iter().map(ToString::to_string).collect::<Vec<_>>() })
            }
        }
    }

    /// Reads back what [`SourceInput::to_json`] wrote (storage round trip): the shape is
    /// the domain's own, so only its types are checked, not a caller's limits.
    pub fn from_stored(source_type: SourceType, raw: &Value) -> Result<Self, String> {
        let text = |key: &str| raw.get(key).and_then(Value::as_str).ok_or_else(|| format!("stored input lacks {key}"));
        Ok(match source_type {
            SourceType::Uri => SourceInput::Uri { url: Url::parse(text("url")?).map_err(|e| e.to_string())? },
            SourceType::File => SourceInput::File { file_key: text("data")?.to_owned() },
            SourceType::Content => SourceInput::Content { data: text("data")?.to_owned() },
            SourceType::Composition => {
                let ids = raw.get("source_ids").and_then(Value::as_array).ok_or("stored input lacks source_ids")?;
                let source_ids = ids
                    .iter()
                    .map(|id| id.as_str().and_then(|id| id.parse().ok()).ok_or_else(|| format!("bad member id {id}")))
                    .collect::<Result<_, _>>()?;
                SourceInput::Composition { source_ids }
            }
        })
    }
}

/// A composition's member ids: 1 to [`MAX_COMPOSITION_MEMBERS`], each a UUID, none twice.
fn check_members(field: &str, items: &[String]) -> Result<Vec<SourceId>, Vec<FieldError>> {
    if items.is_empty() || items.len() > MAX_COMPOSITION_MEMBERS {
        return Err(vec![FieldError::new(field, format!("must hold 1 to {MAX_COMPOSITION_MEMBERS} source ids"))]);
    }
    let mut violations = Violations::default();
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(items.len());
    for (index, raw) in items.iter().enumerate() {
        let item_path = format!("{field}[{index}]");
        match SourceId::parse_field(&item_path, raw) {
            Ok(id) if !seen.insert(id) => violations.add(item_path, "is a duplicate"),
            Ok(id) => ids.push(id),
            Err(error) => violations.add(error.field, error.message),
        }
    }
    if violations.is_empty() { Ok(ids) } else { Err(violations.into_details()) }
}

/// Token and artifact counts of the current revision's outputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    pub original_tokens: Option<u64>,
    pub context_tokens: Option<u64>,
    pub artifact_count: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub id: SourceId,
    pub user_id: UserId,
    pub space_id: SpaceId,
    pub collection_id: Option<CollectionId>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: SourceStatus,
    /// Why the last run failed, when `status` is FAILED.
    pub message: Option<String>,
    pub input: SourceInput,
    pub postback_url: Option<Url>,
    /// Defaults for the phases of runs that do not say otherwise.
    pub run_context_extraction: bool,
    pub run_artifact_extraction: bool,
    pub refresh_policy: RefreshPolicy,
    pub pinned: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Number of the current revision; `None` until content was first stored.
    pub revision: Option<u32>,
    pub content_hash: Option<String>,
    pub last_fetched_at: Option<DateTime<Utc>>,
    /// The most recent run, queued, running or finished.
    pub last_run: Option<super::Run>,
    pub stats: SourceStats,
}

impl Source {
    /// A new source whose first run is queued: the status machine's
    /// CREATED --submit--> PENDING, with an INITIAL run carrying `flags`. Optional
    /// attributes start empty and the refresh policy MANUAL.
    pub fn submitted(
        user_id: UserId,
        space_id: SpaceId,
        input: SourceInput,
        flags: super::RunFlags,
        now: DateTime<Utc>,
    ) -> (Source, super::Run) {
        let id = SourceId::new();
        let run = super::Run::queued(id, user_id, super::RunKind::Initial, flags, None, now);
        let status = SourceStatus::Created.apply(crate::state::Event::Submit).expect("CREATED accepts submit").to;
        let source = Source {
            id,
            user_id,
            space_id,
            collection_id: None,
            name: None,
            description: None,
            status,
            message: None,
            input,
            postback_url: None,
            run_context_extraction: flags.run_context_extraction,
            run_artifact_extraction: flags.run_artifact_extraction,
            refresh_policy: RefreshPolicy::default(),
            pinned: false,
            deleted_at: None,
            created_at: now,
            updated_at: now,
            revision: None,
            content_hash: None,
            last_fetched_at: None,
            last_run: Some(run.clone()),
            stats: SourceStats::default(),
        };
        (source, run)
    }

    pub fn source_type(&self) -> SourceType {
        self.input.source_type()
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// A file uploaded through the presign endpoint; FILE sources point at one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// `{uuid v7}-{safe filename}`: one URL path segment, so `/v1/files/{fileKey}`
    /// needs no escaping.
    pub file_key: String,
    pub user_id: UserId,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub created_at: DateTime<Utc>,
}

impl Upload {
    /// Where the bytes live in the blob store.
    pub fn object_key(&self) -> String {
        Self::object_key_of(&self.file_key)
    }

    pub fn object_key_of(file_key: &str) -> String {
        format!("uploads/{file_key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: Result<SourceInput, Vec<FieldError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    const REST_LIKE: SourceFields = SourceFields {
        source_type: "type",
        url: "initial_data.url",
        file_key: "initial_data.data",
        data: "initial_data.data",
        source_ids: "initial_data.source_ids",
        postback_url: "instructions.postback_url",
        refresh_policy: "instructions.refresh_policy",
    };

    fn check(material: SourceMaterial) -> Result<SourceInput, Vec<FieldError>> {
        SourceInput::check(&material, &REST_LIKE)
    }

    fn uri(url: &str) -> SourceMaterial {
        SourceMaterial::Uri { url: url.into() }
    }

    #[test]
    fn urls_must_be_absolute_http_within_the_length_limit_and_errors_use_the_callers_names() {
        assert_eq!(check(uri("https://example.com/a")).unwrap().to_json(), json!({"url": "https://example.com/a"}));
        for bad in ["ftp://example.com/x", "/relative", "file:///etc/passwd"] {
            assert_eq!(fields(check(uri(bad))), ["initial_data.url"], "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert_eq!(fields(check(uri(&long))), ["initial_data.url"]);
        let grpc = SourceFields { url: "input.url", ..SourceFields::PLAIN };
        let error = SourceInput::check(&uri("nope"), &grpc).unwrap_err();
        assert_eq!(error[0].field, "input.url", "another transport's vocabulary");
    }

    #[test]
    fn content_must_be_non_empty() {
        let content = |data: &str| SourceMaterial::Content { data: data.into() };
        assert!(check(content("hello")).is_ok());
        assert_eq!(fields(check(content("  "))), ["initial_data.data"]);
        assert_eq!(check(content("a\0b")).unwrap(), SourceInput::Content { data: "ab".into() }, "NULs dropped");
        assert!(check(content("\0 ")).is_err());
    }

    #[test]
    fn file_needs_a_key() {
        let file = |key: &str| SourceMaterial::File { file_key: key.into() };
        assert!(check(file("uploads/abc")).is_ok());
        assert_eq!(fields(check(file(""))), ["initial_data.data"]);
    }

    #[test]
    fn composition_members_are_bounded_unique_uuids() {
        let members = |ids: Vec<String>| SourceMaterial::Composition { source_ids: ids };
        let (a, b) = (SourceId::new().to_string(), SourceId::new().to_string());
        let ok = check(members(vec![a.clone(), b])).unwrap();
        assert_eq!(SourceInput::from_stored(SourceType::Composition, &ok.to_json()).unwrap(), ok);
        assert_eq!(
            fields(check(members(vec![a.clone(), "nope".into(), a]))),
            ["initial_data.source_ids[1]", "initial_data.source_ids[2]"]
        );
        assert_eq!(fields(check(members(vec![]))), ["initial_data.source_ids"]);
        let too_many = (0..101).map(|_| SourceId::new().to_string()).collect();
        assert_eq!(fields(check(members(too_many))), ["initial_data.source_ids"]);
    }

    #[test]
    fn stored_inputs_read_back_as_written() {
        for input in [
            SourceInput::Uri { url: Url::parse("https://example.com/a").unwrap() },
            SourceInput::File { file_key: "k".into() },
            SourceInput::Content { data: "text".into() },
        ] {
            assert_eq!(SourceInput::from_stored(input.source_type(), &input.to_json()).unwrap(), input);
        }
        assert!(SourceInput::from_stored(SourceType::Uri, &json!({"data": "x"})).is_err());
    }
}
