//! What processing produced: revisions, contexts, content, diffs and artifacts.

use super::*;

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
    /// False once content retention (`revisions.retain`) removed this revision's
    /// content: its metadata stays, its content endpoints answer 410.
    pub content_available: bool,
    pub metadata: RevisionMetadataOut,
}

/// What the normalizer learned about the content.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionMetadataOut {
    /// For a web page, its kind: article, documentation, forum, product, listing,
    /// collection, service or other. Absent for other content and for revisions not
    /// re-extracted since it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "forum")]
    pub page_type: Option<&'static str>,
}

impl From<ListedRevision> for RevisionOut {
    fn from(listed: ListedRevision) -> Self {
        let ListedRevision { revision: r, content_available } = listed;
        RevisionOut {
            content_available,
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
            metadata: RevisionMetadataOut { page_type: r.page_type.map(PageType::as_str) },
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
