//! Wire types of the REST API (request bodies, responses) and their conversions to
//! and from the domain. Field casing follows Ctxfy's mix, as the contract fixes it.

use chrono::{DateTime, SecondsFormat, Utc};
use ctxd_domain::{
    ids::CollectionId,
    model::{
        ApiKey, Artifact, ArtifactChanges, ArtifactKind, Collection, CollectionNode, Context, Page, RefreshMode,
        RefreshPolicy, Revision, Run, RunKind, RunOutcome, RunStatus, Source, SourceType, Space,
    },
    services::{FastForwardRequest, NewSource, RefreshPolicyInput, RefreshRequest, ReprocessRequest, SourcePatch},
    state::SourceStatus,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use utoipa::{
    IntoParams, ToSchema,
    openapi::{Object, ObjectBuilder, Type, schema::SchemaType},
};

/// OpenAPI schemas for the domain's wire enums, built from their `ALL` lists so the
/// document can never disagree with what the server accepts.
macro_rules! enum_schema {
    ($($fn_name:ident => $ty:ty),* $(,)?) => {$(
        pub(crate) fn $fn_name() -> Object {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(<$ty>::ALL.iter().map(|v| v.as_str())))
                .build()
        }
    )*};
}

enum_schema!(
    artifact_kind_schema => ArtifactKind,
    source_type_schema => SourceType,
    source_status_schema => SourceStatus,
    run_kind_schema => RunKind,
    run_status_schema => RunStatus,
    refresh_mode_schema => RefreshMode,
);

/// A run's outcome (from [`RunOutcome::ALL`]) or null.
pub(crate) fn nullable_run_outcome_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(RunOutcome::ALL.iter().map(|v| Value::from(v.as_str())).chain([Value::Null])))
        .build()
}

/// A string schema of `min..=max` characters matching `pattern`, or null.
fn text_schema(min: usize, max: usize, pattern: &str, nullable: bool) -> Object {
    let kind = if nullable { SchemaType::from_iter([Type::String, Type::Null]) } else { SchemaType::new(Type::String) };
    ObjectBuilder::new().schema_type(kind).min_length(Some(min)).max_length(Some(max)).pattern(Some(pattern)).build()
}

/// No control characters (what `char::is_control` finds), as names must be.
const NO_CONTROL: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";
/// No control characters and something besides white space.
const NOT_BLANK: &str = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$";
/// No NUL (descriptions may hold line breaks and tabs).
const NO_NUL: &str = r"^[^\x00]*$";

/// A space or collection name (`model::check_name`, 1..=200).
pub(crate) fn name_schema() -> Object {
    text_schema(1, 200, NOT_BLANK, false)
}

/// A name that may be left out (null keeps the current one).
pub(crate) fn optional_name_schema() -> Object {
    text_schema(1, 200, NOT_BLANK, true)
}

/// A source's or key's name: 0..=200 characters, no control characters.
pub(crate) fn label_schema() -> Object {
    text_schema(0, 200, NO_CONTROL, true)
}

/// A description: up to 10,000 characters, no NUL.
pub(crate) fn description_schema() -> Object {
    text_schema(0, 10_000, NO_NUL, true)
}

/// An upload's file name: 1..=255 characters, not blank, no control characters.
pub(crate) fn filename_schema() -> Object {
    text_schema(1, 255, NOT_BLANK, false)
}

/// The `language` filter: up to 50 characters, no control characters.
pub(crate) fn language_schema() -> Object {
    text_schema(0, 50, NO_CONTROL, false)
}

/// The `q` search words: up to 200 characters, no NUL.
pub(crate) fn query_schema() -> Object {
    text_schema(0, 200, NO_NUL, false)
}

/// RFC 3339 UTC with `Z`, millisecond precision.
fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn serialize_time<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*at))
}

fn serialize_opt_time<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serializer.serialize_str(&rfc3339(*at)),
        None => serializer.serialize_none(),
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`) for
/// PATCH bodies.
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

// ---------------------------------------------------------------------------------
// Pagination

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 10000000)]
    pub page: Option<u64>,
    /// Items per page, 1..=100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
    pub pages: u64,
}

impl<T> From<&Page<T>> for Pagination {
    fn from(page: &Page<T>) -> Self {
        Pagination { page: page.request.page, per_page: page.request.per_page, total: page.total, pages: page.pages() }
    }
}

// ---------------------------------------------------------------------------------
// Spaces

/// Body of `POST /v1/spaces` and `PUT /v1/spaces/{spaceId}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceIn {
    /// 1..=200 characters.
    #[schema(schema_with = name_schema)]
    pub name: String,
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceOut {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<Space> for SpaceOut {
    fn from(space: Space) -> Self {
        SpaceOut {
            id: space.id.to_string(),
            name: space.name,
            description: space.description,
            created_at: space.created_at,
            updated_at: space.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpacesPage {
    pub spaces: Vec<SpaceOut>,
    pub pagination: Pagination,
}

// ---------------------------------------------------------------------------------
// Collections

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionIn {
    #[schema(schema_with = name_schema)]
    pub name: String,
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
    /// A collection of the same space, or null for a top-level collection.
    #[serde(rename = "parentId")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_id: Option<CollectionId>,
}

/// Body of `PATCH /v1/collections/{collectionId}`: absent fields stay as they are;
/// `parentId: null` moves the collection to the top level.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionPatchIn {
    #[schema(schema_with = optional_name_schema)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = description_schema)]
    pub description: Option<Option<String>>,
    #[serde(default, rename = "parentId", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_id: Option<Option<CollectionId>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionOut {
    pub id: String,
    #[serde(rename = "spaceId")]
    pub space_id: String,
    #[serde(rename = "parentId")]
    pub parent_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<Collection> for CollectionOut {
    fn from(c: Collection) -> Self {
        CollectionOut {
            id: c.id.to_string(),
            space_id: c.space_id.to_string(),
            parent_id: c.parent_id.map(|p| p.to_string()),
            name: c.name,
            description: c.description,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A collection with its children nested.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionNodeOut {
    #[serde(flatten)]
    pub collection: CollectionOut,
    #[schema(no_recursion)]
    pub children: Vec<CollectionNodeOut>,
}

impl From<CollectionNode> for CollectionNodeOut {
    fn from(node: CollectionNode) -> Self {
        CollectionNodeOut {
            collection: node.collection.into(),
            children: node.children.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionTree {
    pub collections: Vec<CollectionNodeOut>,
}

// ---------------------------------------------------------------------------------
// Sources

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshPolicyIn {
    #[schema(schema_with = refresh_mode_schema)]
    pub mode: RefreshMode,
    /// Required for INTERVAL (minimum 60 unless configured otherwise).
    #[serde(default, deserialize_with = "crate::extract::whole_number")]
    pub interval_seconds: Option<u64>,
}

impl From<RefreshPolicyIn> for RefreshPolicyInput {
    fn from(p: RefreshPolicyIn) -> Self {
        RefreshPolicyInput { mode: p.mode, interval_seconds: p.interval_seconds }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructionsIn {
    /// https URL that receives status notifications.
    pub postback_url: Option<String>,
    /// Default true.
    pub run_context_extraction: Option<bool>,
    /// Default true.
    pub run_artifact_extraction: Option<bool>,
    #[serde(default, deserialize_with = "crate::extract::object")]
    pub refresh_policy: Option<RefreshPolicyIn>,
}

/// Body of `POST /v1/spaces/{spaceId}/sources`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceCreateIn {
    #[serde(rename = "type")]
    #[schema(schema_with = source_type_schema)]
    pub source_type: SourceType,
    /// URI: `{url}` (or `{uri}`); FILE: `{data: fileKey}`; CONTENT: `{data: text}`;
    /// COMPOSITION: `{source_ids: [...]}`.
    #[schema(value_type = Object)]
    pub initial_data: Value,
    #[schema(schema_with = label_schema)]
    pub name: Option<String>,
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
    #[serde(rename = "collectionId")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub collection_id: Option<CollectionId>,
    #[serde(default, deserialize_with = "crate::extract::object")]
    pub instructions: Option<InstructionsIn>,
    /// Same as `instructions.refresh_policy`; give it in one place only.
    #[serde(default, deserialize_with = "crate::extract::object")]
    pub refresh_policy: Option<RefreshPolicyIn>,
}

impl SourceCreateIn {
    pub fn into_domain(self) -> Result<NewSource, ctxd_domain::Error> {
        let instructions = self.instructions.unwrap_or_default();
        let refresh_policy = match (instructions.refresh_policy, self.refresh_policy) {
            (Some(_), Some(_)) => {
                return Err(ctxd_domain::Error::invalid(
                    "refresh_policy",
                    "give refresh_policy either at the top level or in instructions, not both",
                ));
            }
            (one, other) => one.or(other).map(Into::into),
        };
        let input =
            crate::material::read(self.source_type, &self.initial_data).map_err(ctxd_domain::Error::invalid_fields)?;
        Ok(NewSource {
            input,
            fields: crate::material::CREATE_FIELDS,
            name: self.name,
            description: self.description,
            collection_id: self.collection_id,
            postback_url: instructions.postback_url,
            run_context_extraction: instructions.run_context_extraction,
            run_artifact_extraction: instructions.run_artifact_extraction,
            refresh_policy,
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructionsPatchIn {
    /// null removes the postback URL.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub postback_url: Option<Option<String>>,
}

/// Body of `PATCH /v1/sources/{sourceId}`. Absent fields stay; null clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcePatchIn {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = label_schema)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = description_schema)]
    pub description: Option<Option<String>>,
    #[serde(default, rename = "collectionId", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub collection_id: Option<Option<CollectionId>>,
    #[serde(default, deserialize_with = "crate::extract::object")]
    pub refresh_policy: Option<RefreshPolicyIn>,
    #[serde(default, deserialize_with = "crate::extract::object")]
    pub instructions: Option<InstructionsPatchIn>,
}

impl From<SourcePatchIn> for SourcePatch {
    fn from(p: SourcePatchIn) -> Self {
        SourcePatch {
            fields: crate::material::PATCH_FIELDS,
            name: p.name,
            description: p.description,
            collection_id: p.collection_id,
            refresh_policy: p.refresh_policy.map(Into::into),
            postback_url: p.instructions.and_then(|i| i.postback_url),
        }
    }
}

/// Body of `POST /v1/sources/{sourceId}/refresh`; every field optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    /// Default true.
    pub run_context_extraction: Option<bool>,
    /// Default true.
    pub run_artifact_extraction: Option<bool>,
    /// Re-extract even when the content did not change. Default false.
    pub force: Option<bool>,
}

impl From<RefreshIn> for RefreshRequest {
    fn from(r: RefreshIn) -> Self {
        RefreshRequest {
            run_context_extraction: r.run_context_extraction,
            run_artifact_extraction: r.run_artifact_extraction,
            force: r.force,
        }
    }
}

/// Body of `POST /v1/sources/{sourceId}/reprocess`; every field optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReprocessIn {
    pub run_context_extraction: Option<bool>,
    pub run_artifact_extraction: Option<bool>,
    /// true (default): replace outputs; false: keep artifacts and add new ones.
    pub update_existing: Option<bool>,
}

impl From<ReprocessIn> for ReprocessRequest {
    fn from(r: ReprocessIn) -> Self {
        ReprocessRequest {
            run_context_extraction: r.run_context_extraction,
            run_artifact_extraction: r.run_artifact_extraction,
            update_existing: r.update_existing,
        }
    }
}

/// Body of `POST /v1/sources/{sourceId}/fast-forward`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FastForwardIn {
    /// URI, FILE or CONTENT.
    #[serde(rename = "type")]
    #[schema(schema_with = source_type_schema)]
    pub source_type: SourceType,
    #[schema(value_type = Object)]
    pub initial_data: Value,
    #[serde(default, deserialize_with = "crate::extract::object")]
    pub instructions: Option<InstructionsIn>,
}

impl FastForwardIn {
    /// # Errors
    /// A validation error naming each bad key of `initial_data`.
    pub fn into_domain(self) -> Result<FastForwardRequest, ctxd_domain::Error> {
        let instructions = self.instructions.unwrap_or_default();
        let input =
            crate::material::read(self.source_type, &self.initial_data).map_err(ctxd_domain::Error::invalid_fields)?;
        Ok(FastForwardRequest {
            input,
            fields: crate::material::CREATE_FIELDS,
            postback_url: instructions.postback_url,
            run_context_extraction: instructions.run_context_extraction,
            run_artifact_extraction: instructions.run_artifact_extraction,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstructionsOut {
    pub postback_url: Option<String>,
    pub run_context_extraction: bool,
    pub run_artifact_extraction: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshPolicyOut {
    #[schema(schema_with = refresh_mode_schema)]
    pub mode: RefreshMode,
    pub interval_seconds: Option<u64>,
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_refresh_at: Option<DateTime<Utc>>,
}

impl From<RefreshPolicy> for RefreshPolicyOut {
    fn from(p: RefreshPolicy) -> Self {
        RefreshPolicyOut { mode: p.mode, interval_seconds: p.interval_seconds, next_refresh_at: p.next_refresh_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimingsOut {
    pub fetch: Option<u64>,
    pub normalize: Option<u64>,
    pub context: Option<u64>,
    pub artifacts: Option<u64>,
}

/// One processing attempt of a source.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunOut {
    pub id: String,
    #[serde(rename = "sourceId")]
    pub source_id: String,
    #[schema(schema_with = run_kind_schema)]
    pub kind: RunKind,
    #[schema(schema_with = run_status_schema)]
    pub status: RunStatus,
    /// Set once the run finished: null while it is queued or running, and for runs
    /// that failed or were canceled before deciding.
    #[schema(schema_with = nullable_run_outcome_schema)]
    pub outcome: Option<RunOutcome>,
    pub run_context_extraction: bool,
    pub run_artifact_extraction: bool,
    pub force: bool,
    pub update_existing: bool,
    pub cancel_requested: bool,
    pub attempt: u32,
    pub error: Option<String>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub queued_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<DateTime<Utc>>,
    pub timings_ms: TimingsOut,
}

impl From<Run> for RunOut {
    fn from(run: Run) -> Self {
        RunOut {
            id: run.id.to_string(),
            source_id: run.source_id.to_string(),
            kind: run.kind,
            status: run.status,
            outcome: run.outcome,
            run_context_extraction: run.flags.run_context_extraction,
            run_artifact_extraction: run.flags.run_artifact_extraction,
            force: run.flags.force,
            update_existing: run.flags.update_existing,
            cancel_requested: run.cancel_requested,
            attempt: run.attempt,
            error: run.error,
            queued_at: run.queued_at,
            started_at: run.started_at,
            finished_at: run.finished_at,
            timings_ms: TimingsOut {
                fetch: run.timings.fetch,
                normalize: run.timings.normalize,
                context: run.timings.context,
                artifacts: run.timings.artifacts,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    pub original_tokens: Option<u64>,
    pub context_tokens: Option<u64>,
    pub artifact_count: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceOut {
    pub id: String,
    #[serde(rename = "spaceId")]
    pub space_id: String,
    #[serde(rename = "collectionId")]
    pub collection_id: Option<String>,
    #[serde(rename = "type")]
    #[schema(schema_with = source_type_schema)]
    pub source_type: SourceType,
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(schema_with = source_status_schema)]
    pub status: SourceStatus,
    /// The failure reason when status is FAILED.
    pub message: Option<String>,
    #[schema(value_type = Object)]
    pub initial_data: Value,
    pub instructions: InstructionsOut,
    pub pinned: bool,
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
    pub revision: Option<u32>,
    pub content_hash: Option<String>,
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_fetched_at: Option<DateTime<Utc>>,
    pub refresh_policy: RefreshPolicyOut,
    pub last_run: Option<RunOut>,
    pub stats: StatsOut,
}

impl From<Source> for SourceOut {
    fn from(s: Source) -> Self {
        SourceOut {
            id: s.id.to_string(),
            space_id: s.space_id.to_string(),
            collection_id: s.collection_id.map(|c| c.to_string()),
            source_type: s.source_type(),
            name: s.name,
            description: s.description,
            status: s.status,
            message: s.message,
            initial_data: s.input.to_json(),
            instructions: InstructionsOut {
                postback_url: s.postback_url.map(|u| u.to_string()),
                run_context_extraction: s.run_context_extraction,
                run_artifact_extraction: s.run_artifact_extraction,
            },
            pinned: s.pinned,
            deleted_at: s.deleted_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
            revision: s.revision,
            content_hash: s.content_hash,
            last_fetched_at: s.last_fetched_at,
            refresh_policy: s.refresh_policy.into(),
            last_run: s.last_run.map(Into::into),
            stats: StatsOut {
                original_tokens: s.stats.original_tokens,
                context_tokens: s.stats.context_tokens,
                artifact_count: s.stats.artifact_count,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourcesPage {
    pub sources: Vec<SourceOut>,
    pub pagination: Pagination,
}

/// Filters of `GET /v1/spaces/{spaceId}/sources`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SourceListParams {
    #[param(minimum = 1, maximum = 10000000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
    #[param(schema_with = source_status_schema)]
    pub status: Option<SourceStatus>,
    #[serde(rename = "type")]
    #[param(rename = "type", schema_with = source_type_schema)]
    pub source_type: Option<SourceType>,
    #[serde(rename = "collectionId")]
    #[param(rename = "collectionId", value_type = Option<String>, format = Uuid)]
    pub collection_id: Option<CollectionId>,
    pub pinned: Option<bool>,
    /// Include soft-deleted sources (default false).
    pub include_deleted: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunsPage {
    pub runs: Vec<RunOut>,
    pub pagination: Pagination,
}

// ---------------------------------------------------------------------------------
// Revisions, context, content

#[derive(Debug, Serialize, ToSchema)]
pub struct HttpMetaOut {
    pub status: Option<u16>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
}

/// One distinct content of a source.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionOut {
    pub number: u32,
    pub content_hash: String,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub fetched_at: DateTime<Utc>,
    pub http: HttpMetaOut,
    pub bytes: u64,
    pub extractor_version: String,
}

impl From<Revision> for RevisionOut {
    fn from(r: Revision) -> Self {
        RevisionOut {
            number: r.number,
            content_hash: r.content_hash,
            fetched_at: r.fetched_at,
            http: HttpMetaOut {
                status: r.http.status,
                etag: r.http.etag,
                last_modified: r.http.last_modified,
                content_type: r.http.content_type,
            },
            bytes: r.bytes,
            extractor_version: r.extractor_version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionsPage {
    pub revisions: Vec<RevisionOut>,
    pub pagination: Pagination,
}

/// The compact context of one revision.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContextOut {
    #[serde(rename = "sourceId")]
    pub source_id: String,
    pub revision: u32,
    pub extractor_version: String,
    /// Always `markdown`.
    pub format: String,
    pub content: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub outline: Vec<String>,
    pub key_points: Vec<String>,
    pub decisions: Vec<String>,
    pub open_questions: Vec<String>,
    pub original_tokens: u64,
    pub context_tokens: u64,
    pub compression_ratio: Option<f64>,
}

impl From<Context> for ContextOut {
    fn from(c: Context) -> Self {
        let compression_ratio = c.compression_ratio();
        let d = c.draft;
        ContextOut {
            source_id: c.source_id.to_string(),
            revision: c.revision,
            extractor_version: c.extractor_version,
            format: "markdown".into(),
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
}

/// How two revisions differ.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionDiffOut {
    pub from: u32,
    pub to: u32,
    /// Whether the normalized markdown differs.
    pub changed: bool,
    /// Always `unified`.
    pub format: String,
    /// Unified diff of the normalized markdown.
    pub diff: String,
    pub artifacts: ArtifactChangesOut,
}

/// Artifact ids added, removed or changed between the two revisions (for a changed
/// artifact, the id of its version in the newer revision).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ArtifactChangesOut {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl From<ArtifactChanges> for ArtifactChangesOut {
    fn from(c: ArtifactChanges) -> Self {
        let ids = |set: Vec<Artifact>| set.into_iter().map(|a| a.id.to_string()).collect();
        ArtifactChangesOut {
            added: ids(c.added),
            removed: ids(c.removed),
            changed: c.changed.into_iter().map(|(_, after)| after.id.to_string()).collect(),
        }
    }
}

/// Where an artifact was found in its revision's normalized markdown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvenanceOut {
    pub start_line: u32,
    pub end_line: u32,
    /// The 1-based chat turn, for transcripts.
    pub turn: Option<u32>,
}

/// A typed artifact: code, schema, diagram, table or command.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArtifactOut {
    pub id: String,
    #[serde(rename = "sourceId")]
    pub source_id: String,
    #[serde(rename = "spaceId")]
    pub space_id: String,
    pub revision: u32,
    /// CODE, SCHEMA, DIAGRAM, TABLE or COMMAND.
    pub kind: String,
    pub language: Option<String>,
    pub title: Option<String>,
    pub content: String,
    /// Kind-specific details: `rows` (arrays of cells) for a TABLE.
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub provenance: ProvenanceOut,
    pub created_at: DateTime<Utc>,
}

impl From<Artifact> for ArtifactOut {
    fn from(a: Artifact) -> Self {
        let d = a.draft;
        ArtifactOut {
            id: a.id.to_string(),
            source_id: a.source_id.to_string(),
            space_id: a.space_id.to_string(),
            revision: a.revision,
            kind: d.kind.as_str().to_owned(),
            language: d.language,
            title: d.title,
            content: d.content,
            metadata: d.metadata,
            provenance: ProvenanceOut {
                start_line: d.provenance.start_line,
                end_line: d.provenance.end_line,
                turn: d.provenance.turn,
            },
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArtifactsPage {
    pub artifacts: Vec<ArtifactOut>,
    pub pagination: Pagination,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SourceArtifactsParams {
    /// Artifacts found in this revision; default the source's current set.
    #[param(minimum = 1)]
    pub revision: Option<u32>,
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 10000000)]
    pub page: Option<u64>,
    /// Items per page, 1..=100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchArtifactsParams {
    /// CODE, SCHEMA, DIAGRAM, TABLE or COMMAND.
    #[param(schema_with = artifact_kind_schema)]
    pub kind: Option<String>,
    /// A language, such as `python` (case-insensitive).
    #[param(schema_with = language_schema)]
    pub language: Option<String>,
    /// Words to find in the title, language or content (all of them must occur); the
    /// best matches come first.
    #[param(schema_with = query_schema)]
    pub q: Option<String>,
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 10000000)]
    pub page: Option<u64>,
    /// Items per page, 1..=100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    /// The revision to compare with; default the previous one.
    #[param(minimum = 1)]
    pub against: Option<u32>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContextParams {
    /// A revision number; default the current revision.
    #[param(minimum = 1)]
    pub revision: Option<u32>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContentParams {
    /// `markdown` (default) or `raw` (the bytes as fetched).
    #[param(inline)]
    pub format: Option<ContentFormatParam>,
    /// A revision number; default the current revision.
    #[param(minimum = 1)]
    pub revision: Option<u32>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContentFormatParam {
    Markdown,
    Raw,
}

// ---------------------------------------------------------------------------------
// API keys

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    #[schema(schema_with = label_schema)]
    pub name: Option<String>,
    /// RFC 3339; the key stops working at this instant.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expiration_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: String,
    pub key_prefix: String,
    pub name: Option<String>,
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expiration_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        ApiKeyOut {
            id: k.id.to_string(),
            key_prefix: k.key_prefix,
            name: k.name,
            expiration_date: k.expiration_date,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// The key as returned once, at creation, with its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreatedOut {
    #[serde(flatten)]
    pub key: ApiKeyOut,
    /// The secret; shown only in this response.
    pub api_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeysPage {
    pub api_keys: Vec<ApiKeyOut>,
    pub pagination: Pagination,
}

// ---------------------------------------------------------------------------------
// Health

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Each dependency's state.
    #[schema(value_type = Object)]
    pub checks: serde_json::Map<String, Value>,
}

/// `POST /v1/upload/s3` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadIn {
    #[schema(required = true, schema_with = filename_schema)]
    pub filename: Option<String>,
    /// The MIME type the file will be `PUT` with.
    #[serde(rename = "contentType")]
    #[schema(required = true, value_type = String, pattern = "^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;[ -~]*)?$")]
    pub content_type: Option<String>,
    /// Exact size in bytes.
    #[schema(required = true, value_type = u64, minimum = 1)]
    #[serde(default, deserialize_with = "crate::extract::whole_number")]
    pub size: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadOut {
    /// `PUT` the bytes here with the declared `Content-Type`, before `expires_at`.
    #[serde(rename = "uploadUrl")]
    pub upload_url: String,
    /// Where the file is readable once uploaded (with the local store: ctxd's
    /// `GET /v1/files/{fileKey}`, for its owner).
    #[serde(rename = "publicUrl")]
    pub public_url: String,
    /// Pass as `initial_data.data` of a FILE source.
    #[serde(rename = "fileKey")]
    pub file_key: String,
    /// [ext] When `uploadUrl` stops working.
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: DateTime<Utc>,
}

/// The signed part of ctxd's own upload URL.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedUploadParams {
    /// Unix time after which the URL is refused.
    pub expires: Option<i64>,
    pub signature: Option<String>,
}

/// What a successful `PUT` to ctxd's upload URL stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedOut {
    #[serde(rename = "fileKey")]
    pub file_key: String,
    pub size: u64,
    #[serde(rename = "contentType")]
    pub content_type: String,
}
