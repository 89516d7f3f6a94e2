//! Conversions at the edge: protobuf messages ↔ domain types, and the one table from
//! domain error kinds to gRPC codes.

use chrono::{DateTime, Utc};
use ctxd_domain::{
    Error, ErrorKind,
    model::{
        ApiKey, Artifact, ArtifactKind, Collection, CollectionNode, Context, Page, PageRequest, RefreshMode, Run,
        RunKind, RunOutcome, RunStatus, Source, SourceFields, SourceInput, SourceMaterial, SourceType, Space,
    },
    services::{ListedRevision, RefreshPolicyInput},
    state::SourceStatus,
};
use serde_json::Value;
use tonic::{Code, Status};

use crate::pb;

/// The gRPC code of each error kind: the twin of REST's status table.
pub fn code_of(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::InvalidInput => Code::InvalidArgument,
        ErrorKind::Unauthenticated => Code::Unauthenticated,
        ErrorKind::Forbidden => Code::PermissionDenied,
        // gRPC has no "gone": the resource is not there, and the message says why.
        ErrorKind::NotFound | ErrorKind::Gone => Code::NotFound,
        ErrorKind::Conflict => Code::FailedPrecondition,
        ErrorKind::PayloadTooLarge => Code::ResourceExhausted,
        ErrorKind::RateLimited => Code::ResourceExhausted,
        ErrorKind::Unavailable => Code::Unavailable,
        ErrorKind::Internal => Code::Internal,
    }
}

/// A domain error as a status, with the message REST gives (and, for validation,
/// every bad field).
pub fn status(error: Error) -> Status {
    let code = code_of(error.kind());
    match &error {
        Error::Internal(cause) => tracing::error!(error = %cause, "internal error"),
        Error::Unavailable(cause) => tracing::warn!(error = %cause, "dependency unavailable"),
        _ => {}
    }
    let mut message = error.public_message();
    if let Error::Validation { details, .. } = &error {
        let fields: Vec<String> = details.iter().map(|d| format!("{}: {}", d.field, d.message)).collect();
        message = format!("{message}: {}", fields.join("; "));
    }
    let mut status = Status::new(code, message);
    // What REST sends as headers.
    if let Error::RateLimited(decision) = &error {
        let metadata = status.metadata_mut();
        for (name, value) in [
            ("retry-after", decision.retry_after_seconds),
            ("x-ratelimit-limit", u64::from(decision.limit)),
            ("x-ratelimit-remaining", u64::from(decision.remaining)),
            ("x-ratelimit-reset", decision.reset_seconds),
        ] {
            metadata.insert(name, tonic::metadata::MetadataValue::from(value));
        }
    }
    status
}

/// A validation status for one field.
pub fn invalid(field: &str, message: &str) -> Status {
    status(Error::invalid(field, message))
}

pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: at.timestamp(), nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0) }
}

pub fn from_timestamp(at: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).ok()?)
}

pub fn page_request(page: Option<&pb::PageRequest>) -> Result<PageRequest, Status> {
    PageRequest::new(page.and_then(|p| p.page), page.and_then(|p| p.per_page)).map_err(status)
}

pub fn pagination<T>(page: &Page<T>) -> pb::Pagination {
    pb::Pagination { page: page.request.page, per_page: page.request.per_page, total: page.total, pages: page.pages() }
}

/// Parses an id field, answering INVALID_ARGUMENT with the field's name.
pub fn id<T>(field: &str, raw: &str, parse: fn(&str, &str) -> Result<T, ctxd_domain::FieldError>) -> Result<T, Status> {
    parse(field, raw).map_err(|e| status(Error::invalid_fields(vec![e])))
}

pub fn space(s: Space) -> pb::Space {
    pb::Space {
        id: s.id.to_string(),
        name: s.name,
        description: s.description,
        created_at: Some(timestamp(s.created_at)),
        updated_at: Some(timestamp(s.updated_at)),
    }
}

pub fn collection(c: Collection) -> pb::Collection {
    pb::Collection {
        id: c.id.to_string(),
        space_id: c.space_id.to_string(),
        parent_id: c.parent_id.map(|p| p.to_string()),
        name: c.name,
        description: c.description,
        created_at: Some(timestamp(c.created_at)),
        updated_at: Some(timestamp(c.updated_at)),
    }
}

pub fn collection_node(node: CollectionNode) -> pb::CollectionNode {
    pb::CollectionNode {
        collection: Some(collection(node.collection)),
        children: node.children.into_iter().map(collection_node).collect(),
    }
}

pub fn api_key(k: ApiKey) -> pb::ApiKey {
    pb::ApiKey {
        id: k.id.to_string(),
        key_prefix: k.key_prefix,
        name: k.name,
        expiration_date: k.expiration_date.map(timestamp),
        created_at: Some(timestamp(k.created_at)),
        revoked_at: k.revoked_at.map(timestamp),
    }
}

pub fn source_type(t: SourceType) -> pb::SourceType {
    match t {
        SourceType::Uri => pb::SourceType::Uri,
        SourceType::File => pb::SourceType::File,
        SourceType::Content => pb::SourceType::Content,
        SourceType::Composition => pb::SourceType::Composition,
    }
}

pub fn source_status(s: SourceStatus) -> pb::SourceStatus {
    match s {
        SourceStatus::Created => pb::SourceStatus::Created,
        SourceStatus::Pending => pb::SourceStatus::Pending,
        SourceStatus::Processing => pb::SourceStatus::Processing,
        SourceStatus::Completed => pb::SourceStatus::Completed,
        SourceStatus::Failed => pb::SourceStatus::Failed,
        SourceStatus::Canceled => pb::SourceStatus::Canceled,
    }
}

/// The domain status of a filter value; UNSPECIFIED is "any".
pub fn source_status_filter(raw: i32) -> Result<Option<SourceStatus>, Status> {
    Ok(match pb::SourceStatus::try_from(raw).map_err(|_| invalid("status", "unknown status"))? {
        pb::SourceStatus::Unspecified => None,
        pb::SourceStatus::Created => Some(SourceStatus::Created),
        pb::SourceStatus::Pending => Some(SourceStatus::Pending),
        pb::SourceStatus::Processing => Some(SourceStatus::Processing),
        pb::SourceStatus::Completed => Some(SourceStatus::Completed),
        pb::SourceStatus::Failed => Some(SourceStatus::Failed),
        pb::SourceStatus::Canceled => Some(SourceStatus::Canceled),
    })
}

pub fn source_type_filter(raw: i32) -> Result<Option<SourceType>, Status> {
    Ok(match pb::SourceType::try_from(raw).map_err(|_| invalid("type", "unknown source type"))? {
        pb::SourceType::Unspecified => None,
        pb::SourceType::Uri => Some(SourceType::Uri),
        pb::SourceType::File => Some(SourceType::File),
        pb::SourceType::Content => Some(SourceType::Content),
        pb::SourceType::Composition => Some(SourceType::Composition),
    })
}

pub fn artifact_kind_filter(raw: i32) -> Result<Option<ArtifactKind>, Status> {
    Ok(match pb::ArtifactKind::try_from(raw).map_err(|_| invalid("kind", "unknown artifact kind"))? {
        pb::ArtifactKind::Unspecified => None,
        pb::ArtifactKind::Code => Some(ArtifactKind::Code),
        pb::ArtifactKind::Schema => Some(ArtifactKind::Schema),
        pb::ArtifactKind::Diagram => Some(ArtifactKind::Diagram),
        pb::ArtifactKind::Table => Some(ArtifactKind::Table),
        pb::ArtifactKind::Command => Some(ArtifactKind::Command),
    })
}

fn artifact_kind(kind: ArtifactKind) -> pb::ArtifactKind {
    match kind {
        ArtifactKind::Code => pb::ArtifactKind::Code,
        ArtifactKind::Schema => pb::ArtifactKind::Schema,
        ArtifactKind::Diagram => pb::ArtifactKind::Diagram,
        ArtifactKind::Table => pb::ArtifactKind::Table,
        ArtifactKind::Command => pb::ArtifactKind::Command,
    }
}

/// Where the parts of a source request sit in the proto messages, for the domain's
/// error paths.
pub const SOURCE_FIELDS: SourceFields = SourceFields {
    source_type: "input",
    url: "input.url",
    file_key: "input.file_key",
    data: "input.data",
    source_ids: "input.composition.source_ids",
    postback_url: "postback_url",
    refresh_policy: "refresh_policy",
};

/// The oneof as the domain's material: the case gives the type.
pub fn material(input: Option<&pb::SourceInput>) -> Result<SourceMaterial, Status> {
    use pb::source_input::Input;
    match input.and_then(|i| i.input.as_ref()) {
        Some(Input::Url(url)) => Ok(SourceMaterial::Uri { url: url.clone() }),
        Some(Input::FileKey(key)) => Ok(SourceMaterial::File { file_key: key.clone() }),
        Some(Input::Data(data)) => Ok(SourceMaterial::Content { data: data.clone() }),
        Some(Input::Composition(ids)) => Ok(SourceMaterial::Composition { source_ids: ids.source_ids.clone() }),
        None => Err(invalid("input", "one of url, file_key, data or composition is required")),
    }
}

fn input(input: &SourceInput) -> pb::SourceInput {
    use pb::source_input::Input;
    let input = match input {
        SourceInput::Uri { url } => Input::Url(url.to_string()),
        SourceInput::File { file_key } => Input::FileKey(file_key.clone()),
        SourceInput::Content { data } => Input::Data(data.clone()),
        SourceInput::Composition { source_ids } => {
            Input::Composition(pb::SourceIds { source_ids: source_ids.iter().map(ToString::to_string).collect() })
        }
    };
    pb::SourceInput { input: Some(input) }
}

pub fn refresh_policy_input(policy: Option<&pb::RefreshPolicyInput>) -> Result<Option<RefreshPolicyInput>, Status> {
    let Some(policy) = policy else { return Ok(None) };
    let mode =
        match pb::RefreshMode::try_from(policy.mode).map_err(|_| invalid("refresh_policy.mode", "unknown mode"))? {
            pb::RefreshMode::Unspecified => return Err(invalid("refresh_policy.mode", "must be MANUAL or INTERVAL")),
            pb::RefreshMode::Manual => RefreshMode::Manual,
            pb::RefreshMode::Interval => RefreshMode::Interval,
        };
    Ok(Some(RefreshPolicyInput { mode, interval_seconds: policy.interval_seconds }))
}

pub fn run(r: Run) -> pb::Run {
    let kind = match r.kind {
        RunKind::Initial => pb::RunKind::Initial,
        RunKind::Refresh => pb::RunKind::Refresh,
        RunKind::ScheduledRefresh => pb::RunKind::ScheduledRefresh,
        RunKind::Reprocess => pb::RunKind::Reprocess,
        RunKind::FastForward => pb::RunKind::FastForward,
    };
    let status = match r.status {
        RunStatus::Pending => pb::RunStatus::Pending,
        RunStatus::Processing => pb::RunStatus::Processing,
        RunStatus::Completed => pb::RunStatus::Completed,
        RunStatus::Failed => pb::RunStatus::Failed,
        RunStatus::Canceled => pb::RunStatus::Canceled,
    };
    let outcome = match r.outcome {
        None => pb::RunOutcome::Unspecified,
        Some(RunOutcome::Changed) => pb::RunOutcome::Changed,
        Some(RunOutcome::Unchanged) => pb::RunOutcome::Unchanged,
        Some(RunOutcome::Gone) => pb::RunOutcome::Gone,
    };
    pb::Run {
        id: r.id.to_string(),
        source_id: r.source_id.to_string(),
        kind: kind.into(),
        status: status.into(),
        outcome: outcome.into(),
        run_context_extraction: r.flags.run_context_extraction,
        run_artifact_extraction: r.flags.run_artifact_extraction,
        force: r.flags.force,
        attempt: r.attempt,
        error: r.error,
        cancel_requested: r.cancel_requested,
        queued_at: Some(timestamp(r.queued_at)),
        started_at: r.started_at.map(timestamp),
        finished_at: r.finished_at.map(timestamp),
        next_attempt_at: r.retry_at.map(timestamp),
        timings: Some(pb::StageTimings {
            fetch_ms: r.timings.fetch,
            normalize_ms: r.timings.normalize,
            context_ms: r.timings.context,
            artifacts_ms: r.timings.artifacts,
        }),
    }
}

pub fn source(s: Source) -> pb::Source {
    let mode = match s.refresh_policy.mode {
        RefreshMode::Manual => pb::RefreshMode::Manual,
        RefreshMode::Interval => pb::RefreshMode::Interval,
    };
    pb::Source {
        id: s.id.to_string(),
        space_id: s.space_id.to_string(),
        collection_id: s.collection_id.map(|c| c.to_string()),
        name: s.name.clone(),
        description: s.description.clone(),
        r#type: source_type(s.source_type()).into(),
        status: source_status(s.status).into(),
        message: s.message.clone(),
        input: Some(input(&s.input)),
        postback_url: s.postback_url.as_ref().map(ToString::to_string),
        run_context_extraction: s.run_context_extraction,
        run_artifact_extraction: s.run_artifact_extraction,
        refresh_policy: Some(pb::RefreshPolicy {
            mode: mode.into(),
            interval_seconds: s.refresh_policy.interval_seconds,
            next_refresh_at: s.refresh_policy.next_refresh_at.map(timestamp),
        }),
        pinned: s.pinned,
        deleted_at: s.deleted_at.map(timestamp),
        created_at: Some(timestamp(s.created_at)),
        updated_at: Some(timestamp(s.updated_at)),
        revision: s.revision,
        content_hash: s.content_hash.clone(),
        last_fetched_at: s.last_fetched_at.map(timestamp),
        last_run: s.last_run.map(run),
        stats: Some(pb::SourceStats {
            original_tokens: s.stats.original_tokens,
            context_tokens: s.stats.context_tokens,
            artifact_count: s.stats.artifact_count,
        }),
    }
}

pub fn revision(listed: ListedRevision) -> pb::Revision {
    let ListedRevision { revision: r, content_available } = listed;
    pb::Revision {
        content_available,
        source_id: r.source_id.to_string(),
        number: r.number,
        content_hash: r.content_hash,
        fetched_at: Some(timestamp(r.fetched_at)),
        http_status: r.http.status.map(u32::from),
        etag: r.http.etag,
        last_modified: r.http.last_modified,
        content_type: r.http.content_type,
        bytes: r.bytes,
        extractor_version: r.extractor_version,
        page_type: r.page_type.map(|t| t.as_str().to_owned()),
    }
}

pub fn context(c: Context) -> pb::Context {
    let compression_ratio = c.compression_ratio();
    let d = c.draft;
    pb::Context {
        source_id: c.source_id.to_string(),
        revision: c.revision,
        extractor_version: c.extractor_version,
        content: d.content,
        title: d.title,
        summary: d.summary,
        outline: d.outline,
        key_points: d.key_points,
        decisions: d.decisions,
        open_questions: d.open_questions,
        original_tokens: d.original_tokens,
        context_tokens: d.context_tokens,
        compression_ratio,
    }
}

/// A JSON value as a protobuf `Value`.
fn value(v: Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(items) => {
            Kind::ListValue(prost_types::ListValue { values: items.into_iter().map(value).collect() })
        }
        Value::Object(map) => Kind::StructValue(structure(map)),
    };
    prost_types::Value { kind: Some(kind) }
}

fn structure(map: serde_json::Map<String, Value>) -> prost_types::Struct {
    prost_types::Struct { fields: map.into_iter().map(|(k, v)| (k, value(v))).collect() }
}

pub fn artifact(a: Artifact) -> pb::Artifact {
    let d = a.draft;
    let metadata = match d.metadata {
        Value::Object(map) => structure(map),
        _ => prost_types::Struct::default(),
    };
    pb::Artifact {
        id: a.id.to_string(),
        source_id: a.source_id.to_string(),
        space_id: a.space_id.to_string(),
        revision: a.revision,
        kind: artifact_kind(d.kind).into(),
        language: d.language,
        title: d.title,
        content: d.content,
        metadata: Some(metadata),
        provenance: Some(pb::Provenance {
            start_line: d.provenance.start_line,
            end_line: d.provenance.end_line,
            turn: d.provenance.turn,
        }),
        created_at: Some(timestamp(a.created_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_kind_has_its_code_and_rest_message() {
        assert_eq!(status(Error::NotFound("source")).message(), "The requested source was not found");
        assert_eq!(status(Error::NotFound("source")).code(), Code::NotFound);
        let invalid = status(Error::invalid("name", "must not be empty"));
        assert_eq!(invalid.code(), Code::InvalidArgument);
        assert_eq!(invalid.message(), "The request contains invalid parameters: name: must not be empty");
        assert_eq!(status(Error::internal("db exploded")).message(), "An unexpected error occurred on the server");
        assert_eq!(code_of(ErrorKind::Conflict), Code::FailedPrecondition);
        assert_eq!(code_of(ErrorKind::Unauthenticated), Code::Unauthenticated);
    }

    #[test]
    fn timestamps_and_json_metadata_round_trip() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_000_000).unwrap();
        assert_eq!(from_timestamp(&timestamp(at)), Some(at));
        let rows = value(serde_json::json!({"rows": [["a", 1]]}));
        let Some(prost_types::value::Kind::StructValue(s)) = rows.kind else { panic!("a struct") };
        assert!(s.fields.contains_key("rows"));
    }
}
