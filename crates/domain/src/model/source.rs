//! Sources: what a user registers (URL, uploaded file, inline content, composition).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
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

/// The validated `initial_data` of a source, one shape per type.
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

impl SourceInput {
    pub fn source_type(&self) -> SourceType {
        match self {
            SourceInput::Uri { .. } => SourceType::Uri,
            SourceInput::File { .. } => SourceType::File,
            SourceInput::Content { .. } => SourceType::Content,
            SourceInput::Composition { .. } => SourceType::Composition,
        }
    }

    /// Validates the shape of `initial_data` for `source_type`. Checks that need the
    /// database (the file key's owner, the members' space) are the service's job.
    ///
    /// `field` is where `initial_data` sits in the request, used in error paths.
    pub fn parse(
        field: &str,
        source_type: SourceType,
        raw: &Value,
        max_content_bytes: usize,
    ) -> Result<Self, Vec<FieldError>> {
        let Some(object) = raw.as_object() else {
            return Err(vec![FieldError::new(field, "must be an object")]);
        };
        let mut violations = Violations::default();
        // Unknown keys are refused as everywhere else in a body, so a typo (`"uri "`,
        // `"source_id"`) is never silently ignored.
        let known: &[&str] = match source_type {
            SourceType::Uri => &["url", "uri"],
            SourceType::File | SourceType::Content => &["data"],
            SourceType::Composition => &["source_ids"],
        };
        for key in object.keys().filter(|key| !known.contains(&key.as_str())) {
            violations.add(format!("{field}.{key}"), format!("is not a field of a {source_type} source"));
        }
        let input = match source_type {
            SourceType::Uri => parse_uri(field, object, &mut violations).map(|url| SourceInput::Uri { url }),
            SourceType::File => string_field(field, object, "data", &mut violations).and_then(|key| {
                if key.trim().is_empty() || key.len() > 512 {
                    violations.add(format!("{field}.data"), "must be a fileKey returned by the upload endpoint");
                    None
                } else {
                    Some(SourceInput::File { file_key: key.to_owned() })
                }
            }),
            // NUL characters are dropped: Postgres cannot store them, and in pasted text
            // they carry nothing a reader sees.
            SourceType::Content => string_field(field, object, "data", &mut violations).and_then(|data| {
                if data.trim_matches(|c: char| c.is_whitespace() || c == '\0').is_empty() {
                    violations.add(format!("{field}.data"), "must not be empty");
                    None
                } else if data.len() > max_content_bytes {
                    violations.add(format!("{field}.data"), format!("must be at most {max_content_bytes} bytes"));
                    None
                } else {
                    let mut data = data.to_owned();
                    super::strip_nul(&mut data);
                    Some(SourceInput::Content { data })
                }
            }),
            SourceType::Composition => {
                parse_members(field, object, &mut violations).map(|source_ids| SourceInput::Composition { source_ids })
            }
        };
        match (input, violations.is_empty()) {
            (Some(input), true) => Ok(input),
            _ => Err(violations.into_details()),
        }
    }

    /// The wire form, as the contract shows it in `initial_data`.
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

    /// Reads back what [`SourceInput::to_json`] wrote (storage round trip).
    pub fn from_stored(source_type: SourceType, raw: &Value) -> Result<Self, String> {
        SourceInput::parse("initial_data", source_type, raw, usize::MAX).map_err(|errors| {
            errors.into_iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
        })
    }
}

fn string_field<'a>(
    field: &str,
    object: &'a Map<String, Value>,
    key: &str,
    violations: &mut Violations,
) -> Option<&'a str> {
    match object.get(key) {
        None | Some(Value::Null) => {
            violations.add(format!("{field}.{key}"), "is required");
            None
        }
        Some(Value::String(text)) => Some(text),
        Some(_) => {
            violations.add(format!("{field}.{key}"), "must be a string");
            None
        }
    }
}

fn parse_uri(field: &str, object: &Map<String, Value>, violations: &mut Violations) -> Option<Url> {
    let mut parsed = Vec::new();
    for key in ["url", "uri"] {
        match object.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) if text.len() > MAX_URL_BYTES => {
                violations.add(format!("{field}.{key}"), format!("must be at most {MAX_URL_BYTES} bytes"));
            }
            Some(Value::String(text)) => match Url::parse(text) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => parsed.push(url),
                Ok(_) => violations.add(format!("{field}.{key}"), "must be an http or https URL"),
                Err(_) => violations.add(format!("{field}.{key}"), "must be an absolute http or https URL"),
            },
            Some(_) => violations.add(format!("{field}.{key}"), "must be a string"),
        }
    }
    if !violations.is_empty() {
        return None;
    }
    match parsed.as_slice() {
        [] => {
            violations.add(format!("{field}.url"), "is required");
            None
        }
        [one] => Some(one.clone()),
        [url, uri] if url == uri => Some(url.clone()),
        _ => {
            violations.add(format!("{field}.uri"), "must equal url when both are given");
            None
        }
    }
}

fn parse_members(field: &str, object: &Map<String, Value>, violations: &mut Violations) -> Option<Vec<SourceId>> {
    let path = format!("{field}.source_ids");
    let items = match object.get("source_ids") {
        None | Some(Value::Null) => {
            violations.add(path, "is required");
            return None;
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            violations.add(path, "must be an array of source ids");
            return None;
        }
    };
    if items.is_empty() || items.len() > MAX_COMPOSITION_MEMBERS {
        violations.add(path, format!("must hold 1 to {MAX_COMPOSITION_MEMBERS} source ids"));
        return None;
    }
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{index}]");
        match item.as_str().map(|raw| SourceId::parse_field(&item_path, raw)) {
            Some(Ok(id)) if !seen.insert(id) => violations.add(item_path, "is a duplicate"),
            Some(Ok(id)) => ids.push(id),
            Some(Err(error)) => violations.add(error.field, error.message),
            None => violations.add(item_path, "must be a UUID string"),
        }
    }
    violations.is_empty().then_some(ids)
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

impl Violations {
    pub(crate) fn into_details(self) -> Vec<FieldError> {
        match self.finish() {
            Ok(()) => Vec::new(),
            Err(error) => error.details().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: Result<SourceInput, Vec<FieldError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn uri_accepts_url_or_uri_and_requires_them_equal() {
        let parsed = SourceInput::parse("initial_data", SourceType::Uri, &json!({"url": "https://example.com/a"}), 10);
        assert_eq!(parsed.unwrap().to_json(), json!({"url": "https://example.com/a"}));
        assert!(
            SourceInput::parse("initial_data", SourceType::Uri, &json!({"uri": "http://example.com/"}), 10).is_ok()
        );
        let both = json!({"url": "https://a.example/", "uri": "https://a.example/"});
        assert!(SourceInput::parse("initial_data", SourceType::Uri, &both, 10).is_ok());
        let differ = json!({"url": "https://a.example/", "uri": "https://b.example/"});
        assert_eq!(fields(SourceInput::parse("initial_data", SourceType::Uri, &differ, 10)), ["initial_data.uri"]);
    }

    #[test]
    fn uri_rejects_other_schemes_relative_urls_and_missing_urls() {
        for bad in
            [json!({"url": "ftp://example.com/x"}), json!({"url": "/relative"}), json!({"url": "file:///etc/passwd"})]
        {
            assert_eq!(
                fields(SourceInput::parse("initial_data", SourceType::Uri, &bad, 10)),
                ["initial_data.url"],
                "{bad}"
            );
        }
        assert_eq!(fields(SourceInput::parse("initial_data", SourceType::Uri, &json!({}), 10)), ["initial_data.url"]);
        assert_eq!(
            fields(SourceInput::parse("initial_data", SourceType::Uri, &json!({"url": 3}), 10)),
            ["initial_data.url"]
        );
        assert_eq!(fields(SourceInput::parse("initial_data", SourceType::Uri, &json!("x"), 10)), ["initial_data"]);
    }

    #[test]
    fn content_must_be_non_empty_and_within_the_limit() {
        assert!(SourceInput::parse("initial_data", SourceType::Content, &json!({"data": "hello"}), 5).is_ok());
        assert_eq!(
            fields(SourceInput::parse("initial_data", SourceType::Content, &json!({"data": "hello!"}), 5)),
            ["initial_data.data"]
        );
        assert_eq!(
            fields(SourceInput::parse("initial_data", SourceType::Content, &json!({"data": "  "}), 5)),
            ["initial_data.data"]
        );
        assert_eq!(
            fields(SourceInput::parse("initial_data", SourceType::Content, &json!({"text": "x"}), 5)),
            ["initial_data.text", "initial_data.data"],
            "an unknown key is named, and the missing one"
        );
        let with_nul = SourceInput::parse("initial_data", SourceType::Content, &json!({"data": "a\0b"}), 5);
        assert_eq!(with_nul.unwrap(), SourceInput::Content { data: "ab".into() }, "NULs are dropped");
        assert!(SourceInput::parse("initial_data", SourceType::Content, &json!({"data": "\0 "}), 5).is_err());
    }

    #[test]
    fn unknown_keys_and_overlong_urls_are_refused() {
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert_eq!(
            fields(SourceInput::parse("initial_data", SourceType::Uri, &json!({"url": long}), 5)),
            ["initial_data.url"]
        );
        assert_eq!(
            fields(SourceInput::parse(
                "initial_data",
                SourceType::Uri,
                &json!({"url": "https://example.com", "depth": 2}),
                5
            )),
            ["initial_data.depth"]
        );
    }

    #[test]
    fn file_needs_a_key() {
        assert!(SourceInput::parse("initial_data", SourceType::File, &json!({"data": "uploads/abc"}), 5).is_ok());
        assert_eq!(
            fields(SourceInput::parse("initial_data", SourceType::File, &json!({"data": ""}), 5)),
            ["initial_data.data"]
        );
    }

    #[test]
    fn composition_members_are_bounded_unique_uuids() {
        let a = SourceId::new().to_string();
        let b = SourceId::new().to_string();
        let ok =
            SourceInput::parse("initial_data", SourceType::Composition, &json!({"source_ids": [a, b]}), 5).unwrap();
        assert_eq!(SourceInput::from_stored(SourceType::Composition, &ok.to_json()).unwrap(), ok);
        let duplicate = json!({"source_ids": [a, "nope", a]});
        assert_eq!(
            fields(SourceInput::parse("initial_data", SourceType::Composition, &duplicate, 5)),
            ["initial_data.source_ids[1]", "initial_data.source_ids[2]"]
        );
        let empty = json!({"source_ids": []});
        assert_eq!(
            fields(SourceInput::parse("initial_data", SourceType::Composition, &empty, 5)),
            ["initial_data.source_ids"]
        );
        let too_many: Vec<String> = (0..101).map(|_| SourceId::new().to_string()).collect();
        let too_many = json!({ "source_ids": too_many });
        assert_eq!(
            fields(SourceInput::parse("initial_data", SourceType::Composition, &too_many, 5)),
            ["initial_data.source_ids"]
        );
    }
}
