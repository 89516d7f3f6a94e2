//! Conversions between sea-orm models and domain types. Anything the database holds
//! that the domain cannot parse is a corrupt row and surfaces as `Error::Internal`.

use chrono::{DateTime, TimeZone, Utc};
use ctxd_domain::{
    Error, Result,
    ids::UserId,
    model::{
        ApiKey, Artifact, ArtifactDraft, Collection, Context, ContextDraft, HttpMeta, PageType, Postback, Provenance,
        RefreshMode, RefreshPolicy, Revision, Run, RunFlags, RunKind, RunOutcome, RunStatus, Source, SourceInput,
        SourceStats, SourceType, Space, Upload, User,
    },
    ports::Lease,
    state::SourceStatus,
};
use sea_orm::prelude::Json;

use crate::entities::{
    api_keys, artifacts, collections, contexts, postback_outbox, revisions, runs, sources, spaces, uploads, users,
};

fn parse<T: std::str::FromStr>(column: &str, raw: &str) -> Result<T> {
    raw.parse().map_err(|_| Error::internal(format!("corrupt {column} value {raw:?} in the database")))
}

fn from_json<T: serde::de::DeserializeOwned>(column: &str, raw: Json) -> Result<T> {
    serde_json::from_value(raw).map_err(|e| Error::internal(format!("corrupt {column} JSON: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Json {
    serde_json::to_value(value).expect("plain data always serializes")
}

pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single().ok_or_else(|| Error::internal(format!("corrupt timestamp {ms}")))
}

/// Counts are unsigned in the domain and signed in SQL.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn user_from(model: users::Model) -> Result<User> {
    Ok(User {
        id: model.id.into(),
        name: model.name,
        plan: parse("users.plan", &model.plan)?,
        created_at: model.created_at,
    })
}

pub(crate) fn user_to(user: &User) -> users::Model {
    users::Model {
        id: user.id.0,
        name: user.name.clone(),
        plan: user.plan.as_str().into(),
        created_at: user.created_at,
    }
}

pub(crate) fn api_key_from(model: api_keys::Model) -> ApiKey {
    ApiKey {
        id: model.id.into(),
        user_id: model.user_id.into(),
        name: model.name,
        key_prefix: model.key_prefix,
        key_hash: model.key_hash,
        expiration_date: model.expiration_date,
        created_at: model.created_at,
        revoked_at: model.revoked_at,
    }
}

pub(crate) fn api_key_to(key: &ApiKey) -> api_keys::Model {
    api_keys::Model {
        id: key.id.0,
        user_id: key.user_id.0,
        name: key.name.clone(),
        key_prefix: key.key_prefix.clone(),
        key_hash: key.key_hash.clone(),
        expiration_date: key.expiration_date,
        created_at: key.created_at,
        revoked_at: key.revoked_at,
    }
}

pub(crate) fn space_from(model: spaces::Model) -> Space {
    Space {
        id: model.id.into(),
        user_id: model.user_id.into(),
        name: model.name,
        description: model.description,
        created_at: model.created_at,
        updated_at: model.updated_at,
    }
}

pub(crate) fn space_to(space: &Space) -> spaces::Model {
    spaces::Model {
        id: space.id.0,
        user_id: space.user_id.0,
        name: space.name.clone(),
        description: space.description.clone(),
        created_at: space.created_at,
        updated_at: space.updated_at,
        deleted_at: None,
    }
}

pub(crate) fn collection_from(model: collections::Model) -> Collection {
    Collection {
        id: model.id.into(),
        space_id: model.space_id.into(),
        user_id: model.user_id.into(),
        parent_id: model.parent_id.map(Into::into),
        name: model.name,
        description: model.description,
        created_at: model.created_at,
        updated_at: model.updated_at,
    }
}

pub(crate) fn collection_to(collection: &Collection) -> collections::Model {
    collections::Model {
        id: collection.id.0,
        space_id: collection.space_id.0,
        user_id: collection.user_id.0,
        parent_id: collection.parent_id.map(|id| id.0),
        name: collection.name.clone(),
        description: collection.description.clone(),
        created_at: collection.created_at,
        updated_at: collection.updated_at,
    }
}

pub(crate) fn upload_from(model: uploads::Model) -> Upload {
    Upload {
        file_key: model.file_key,
        user_id: model.user_id.into(),
        filename: model.filename,
        content_type: model.content_type,
        size: to_u64(model.size),
        created_at: model.created_at,
    }
}

pub(crate) fn upload_to(upload: &Upload) -> uploads::Model {
    uploads::Model {
        file_key: upload.file_key.clone(),
        user_id: upload.user_id.0,
        filename: upload.filename.clone(),
        content_type: upload.content_type.clone(),
        size: to_i64(upload.size),
        created_at: upload.created_at,
    }
}

pub(crate) fn run_from(model: runs::Model) -> Result<Run> {
    let kind: RunKind = parse("runs.kind", &model.kind)?;
    let input = match model.input {
        // Only fast-forward runs carry material; its type is inside the stored JSON.
        Some(raw) => {
            let envelope: StoredInput = from_json("runs.input", raw)?;
            let source_type = parse("runs.input.type", &envelope.r#type)?;
            Some(SourceInput::from_stored(source_type, &envelope.initial_data).map_err(Error::internal)?)
        }
        None => None,
    };
    Ok(Run {
        id: model.id.into(),
        source_id: model.source_id.into(),
        user_id: model.user_id.into(),
        kind,
        status: parse("runs.status", &model.status)?,
        outcome: model.outcome.as_deref().map(|o| parse::<RunOutcome>("runs.outcome", o)).transpose()?,
        flags: RunFlags {
            run_context_extraction: model.run_context_extraction,
            run_artifact_extraction: model.run_artifact_extraction,
            force: model.force,
            update_existing: model.update_existing,
        },
        input,
        attempt: u32::try_from(model.attempt).unwrap_or(0),
        // A released run waits in the queue until `available_at_ms`.
        retry_at: if model.status == RunStatus::Pending.as_str() && model.attempt > 0 && model.available_at_ms > 0 {
            Some(from_millis(model.available_at_ms)?)
        } else {
            None
        },
        error: model.error,
        cancel_requested: model.cancel_requested,
        queued_at: model.queued_at,
        started_at: model.started_at,
        finished_at: model.finished_at,
        timings: from_json("runs.timings", model.timings)?,
    })
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredInput {
    r#type: String,
    initial_data: Json,
}

/// The run's columns; lease columns are the queue's business and stay as they are
/// unless the caller sets them.
pub(crate) fn run_to(run: &Run) -> runs::Model {
    runs::Model {
        id: run.id.0,
        source_id: run.source_id.0,
        user_id: run.user_id.0,
        kind: run.kind.as_str().into(),
        status: run.status.as_str().into(),
        outcome: run.outcome.map(|o| o.as_str().into()),
        run_context_extraction: run.flags.run_context_extraction,
        run_artifact_extraction: run.flags.run_artifact_extraction,
        force: run.flags.force,
        update_existing: run.flags.update_existing,
        input: run.input.as_ref().map(|input| {
            to_json(&StoredInput { r#type: input.source_type().as_str().into(), initial_data: input.to_json() })
        }),
        attempt: i32::try_from(run.attempt).unwrap_or(i32::MAX),
        error: run.error.clone(),
        cancel_requested: run.cancel_requested,
        queued_at: run.queued_at,
        started_at: run.started_at,
        finished_at: run.finished_at,
        timings: to_json(&run.timings),
        locked_by: None,
        locked_until_ms: None,
        available_at_ms: 0,
    }
}

/// A run stored already claimed by `lease`'s worker (see `RunWrite::InsertLeased`).
pub(crate) fn leased_run_to(run: &Run, lease: &Lease) -> runs::Model {
    runs::Model { locked_by: Some(lease.worker.clone()), locked_until_ms: Some(millis(lease.until)), ..run_to(run) }
}

pub(crate) fn source_from(model: sources::Model, last_run: Option<Run>) -> Result<Source> {
    let source_type: SourceType = parse("sources.type", &model.r#type)?;
    let input = SourceInput::from_stored(source_type, &model.initial_data).map_err(Error::internal)?;
    let status: SourceStatus = parse("sources.status", &model.status)?;
    let refresh_policy = RefreshPolicy {
        mode: parse::<RefreshMode>("sources.refresh_mode", &model.refresh_mode)?,
        interval_seconds: model.refresh_interval_seconds.map(to_u64),
        next_refresh_at: model.next_refresh_at_ms.map(from_millis).transpose()?,
    };
    Ok(Source {
        id: model.id.into(),
        user_id: model.user_id.into(),
        space_id: model.space_id.into(),
        collection_id: model.collection_id.map(Into::into),
        name: model.name,
        description: model.description,
        status,
        message: model.message,
        input,
        postback_url: model.postback_url.as_deref().map(|u| parse("sources.postback_url", u)).transpose()?,
        run_context_extraction: model.run_context_extraction,
        run_artifact_extraction: model.run_artifact_extraction,
        refresh_policy,
        pinned: model.pinned,
        deleted_at: model.deleted_at,
        created_at: model.created_at,
        updated_at: model.updated_at,
        revision: model.revision.map(|n| u32::try_from(n).unwrap_or(0)),
        content_hash: model.content_hash,
        last_fetched_at: model.last_fetched_at,
        last_run,
        stats: SourceStats {
            original_tokens: model.original_tokens.map(to_u64),
            context_tokens: model.context_tokens.map(to_u64),
            artifact_count: model.artifact_count.map(to_u64),
        },
    })
}

pub(crate) fn source_to(source: &Source) -> sources::Model {
    sources::Model {
        id: source.id.0,
        user_id: source.user_id.0,
        space_id: source.space_id.0,
        collection_id: source.collection_id.map(|id| id.0),
        r#type: source.source_type().as_str().into(),
        name: source.name.clone(),
        description: source.description.clone(),
        status: source.status.as_str().into(),
        message: source.message.clone(),
        initial_data: source.input.to_json(),
        postback_url: source.postback_url.as_ref().map(|u| u.as_str().into()),
        run_context_extraction: source.run_context_extraction,
        run_artifact_extraction: source.run_artifact_extraction,
        refresh_mode: source.refresh_policy.mode.as_str().into(),
        refresh_interval_seconds: source.refresh_policy.interval_seconds.map(to_i64),
        next_refresh_at_ms: source.refresh_policy.next_refresh_at.map(millis),
        pinned: source.pinned,
        deleted_at: source.deleted_at,
        created_at: source.created_at,
        updated_at: source.updated_at,
        revision: source.revision.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        content_hash: source.content_hash.clone(),
        last_fetched_at: source.last_fetched_at,
        last_run_id: source.last_run.as_ref().map(|run| run.id.0),
        original_tokens: source.stats.original_tokens.map(to_i64),
        context_tokens: source.stats.context_tokens.map(to_i64),
        artifact_count: source.stats.artifact_count.map(to_i64),
    }
}

pub(crate) fn revision_to(revision: &Revision) -> revisions::Model {
    revisions::Model {
        source_id: revision.source_id.0,
        number: i32::try_from(revision.number).unwrap_or(i32::MAX),
        content_hash: revision.content_hash.clone(),
        fetched_at: revision.fetched_at,
        http: to_json(&revision.http),
        bytes: to_i64(revision.bytes),
        extractor_version: revision.extractor_version.clone(),
        metadata: Some(to_json(&RevisionMetadata { page_type: revision.page_type })),
    }
}

/// The `revisions.metadata` object.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct RevisionMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page_type: Option<PageType>,
}

pub(crate) fn revision_from(model: revisions::Model) -> Result<Revision> {
    Ok(Revision {
        source_id: model.source_id.into(),
        number: u32::try_from(model.number).unwrap_or(0),
        content_hash: model.content_hash,
        fetched_at: model.fetched_at,
        http: from_json::<HttpMeta>("revisions.http", model.http)?,
        bytes: to_u64(model.bytes),
        extractor_version: model.extractor_version,
        page_type: match model.metadata {
            Some(metadata) => from_json::<RevisionMetadata>("revisions.metadata", metadata)?.page_type,
            None => None,
        },
    })
}

pub(crate) fn context_to(context: &Context) -> contexts::Model {
    let draft = &context.draft;
    contexts::Model {
        source_id: context.source_id.0,
        revision: i32::try_from(context.revision).unwrap_or(i32::MAX),
        extractor_version: context.extractor_version.clone(),
        content: draft.content.clone(),
        title: draft.title.clone(),
        summary: draft.summary.clone(),
        outline: to_json(&draft.outline),
        key_points: to_json(&draft.key_points),
        decisions: to_json(&draft.decisions),
        open_questions: to_json(&draft.open_questions),
        original_tokens: to_i64(draft.original_tokens),
        context_tokens: to_i64(draft.context_tokens),
        created_at: context.created_at,
    }
}

pub(crate) fn context_from(model: contexts::Model) -> Result<Context> {
    Ok(Context {
        source_id: model.source_id.into(),
        revision: u32::try_from(model.revision).unwrap_or(0),
        extractor_version: model.extractor_version,
        draft: ContextDraft {
            content: model.content,
            title: model.title,
            summary: model.summary,
            outline: from_json("contexts.outline", model.outline)?,
            key_points: from_json("contexts.key_points", model.key_points)?,
            decisions: from_json("contexts.decisions", model.decisions)?,
            open_questions: from_json("contexts.open_questions", model.open_questions)?,
            original_tokens: to_u64(model.original_tokens),
            context_tokens: to_u64(model.context_tokens),
        },
        created_at: model.created_at,
    })
}

pub(crate) fn artifact_to(artifact: &Artifact, user_id: UserId, active: bool) -> artifacts::Model {
    let draft = &artifact.draft;
    let to_i32 = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    artifacts::Model {
        id: artifact.id.0,
        source_id: artifact.source_id.0,
        space_id: artifact.space_id.0,
        user_id: user_id.0,
        revision: to_i32(artifact.revision),
        kind: draft.kind.as_str().to_owned(),
        language: draft.language.clone(),
        title: draft.title.clone(),
        content: draft.content.clone(),
        metadata: draft.metadata.clone(),
        start_line: to_i32(draft.provenance.start_line),
        end_line: to_i32(draft.provenance.end_line),
        turn: draft.provenance.turn.map(to_i32),
        content_hash: draft.content_hash(),
        active,
        created_at: artifact.created_at,
    }
}

pub(crate) fn artifact_from(model: artifacts::Model) -> Result<Artifact> {
    let to_u32 = |n: i32| u32::try_from(n).unwrap_or(0);
    Ok(Artifact {
        id: model.id.into(),
        source_id: model.source_id.into(),
        space_id: model.space_id.into(),
        revision: to_u32(model.revision),
        draft: ArtifactDraft {
            kind: parse("artifacts.kind", &model.kind)?,
            language: model.language,
            title: model.title,
            content: model.content,
            metadata: model.metadata,
            provenance: Provenance {
                start_line: to_u32(model.start_line),
                end_line: to_u32(model.end_line),
                turn: model.turn.map(to_u32),
            },
        },
        created_at: model.created_at,
    })
}

pub(crate) fn postback_to(postback: &Postback) -> postback_outbox::Model {
    postback_outbox::Model {
        id: postback.id.0,
        user_id: postback.user_id.0,
        source_id: postback.source_id.0,
        url: postback.url.to_string(),
        payload: postback.payload.clone(),
        status: postback.status.as_str().into(),
        attempts: i32::try_from(postback.attempts).unwrap_or(i32::MAX),
        next_attempt_at_ms: millis(postback.next_attempt_at),
        last_error: postback.last_error.clone(),
        created_at: postback.created_at,
        delivered_at: postback.delivered_at,
        last_status_code: postback.last_status_code.map(i32::from),
    }
}

pub(crate) fn postback_from(model: postback_outbox::Model) -> Result<Postback> {
    Ok(Postback {
        id: model.id.into(),
        user_id: model.user_id.into(),
        source_id: model.source_id.into(),
        url: parse("postback_outbox.url", &model.url)?,
        payload: model.payload,
        status: parse("postback_outbox.status", &model.status)?,
        attempts: u32::try_from(model.attempts).unwrap_or(0),
        next_attempt_at: from_millis(model.next_attempt_at_ms)?,
        last_error: model.last_error,
        last_status_code: model.last_status_code.and_then(|code| u16::try_from(code).ok()),
        created_at: model.created_at,
        delivered_at: model.delivered_at,
    })
}
