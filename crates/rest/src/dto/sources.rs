//! Sources: create, patch and processing bodies, the source and run answers.

use super::*;

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
    /// While a run that failed transiently waits in the queue: when it is tried
    /// again (`error` holds the last attempt's error). Null for every other run.
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<DateTime<Utc>>,
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
            next_attempt_at: run.retry_at,
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

/// `GET /v1/sources/{sourceId}/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Keep the stream open after a final status (default false: it ends there).
    pub follow: Option<bool>,
}
