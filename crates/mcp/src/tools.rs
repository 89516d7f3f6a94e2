//! What each MCP tool does, as plain functions over the use cases: they take a user
//! and typed arguments and answer text for the model plus structured content, so
//! tests call them without a protocol in between.

use std::time::Duration;

use ctxd_domain::{
    Error, FieldError, Result,
    ids::{ArtifactId, CollectionId, SourceId, SpaceId},
    model::{
        Artifact, ArtifactQuery, Context, PageRequest, RefreshMode, Source, SourceMaterial, SourceType, Space, User,
    },
    ports::SourceFilter,
    services::{ContentFormat, NewSource, RefreshPolicyInput, RefreshRequest, SpaceInput, UseCases},
    state::SourceStatus,
};
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::render;

/// What a tool answers: text a model reads, and the same as structured content.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub text: String,
    pub structured: Value,
}

/// The longest a tool waits for a run it started.
pub const MAX_WAIT_SECONDS: u64 = 120;
/// How long `add_source` and `refresh_source` wait unless told otherwise.
const DEFAULT_WAIT_SECONDS: u64 = 30;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageArgs {
    /// 1-based page (default 1).
    pub page: Option<u64>,
    /// Items per page, 1 to 100 (default 20).
    pub per_page: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArtifactsArgs {
    /// The space to search: its id (from `list_spaces`) or its name.
    pub space: String,
    /// Words to find in an artifact's title, language or content.
    pub query: Option<String>,
    /// CODE, SCHEMA, DIAGRAM, TABLE, COMMAND, ...
    pub kind: Option<String>,
    /// A code language such as `rust` or `sql`.
    pub language: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceArgs {
    /// The source's id.
    pub source_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetContextArgs {
    /// The source's id.
    pub source_id: String,
    /// A revision number; default: the context served now.
    pub revision: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetContentArgs {
    /// The source's id.
    pub source_id: String,
    /// A revision number; default: the current revision.
    pub revision: Option<u32>,
    /// First line to return (1-based, inclusive).
    pub start_line: Option<usize>,
    /// Last line to return (inclusive).
    pub end_line: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetArtifactArgs {
    /// The artifact's id.
    pub artifact_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSourcesArgs {
    /// The space: its id (from `list_spaces`) or its name.
    pub space: String,
    /// Only sources in this collection.
    pub collection_id: Option<String>,
    /// CREATED, PENDING, PROCESSING, COMPLETED, FAILED or CANCELED.
    pub status: Option<String>,
    /// URI, FILE, CONTENT or COMPOSITION.
    #[serde(rename = "type")]
    pub source_type: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSourceArgs {
    /// The space to add it to: its id or its name (a new name creates the space).
    pub space: String,
    /// A web page to fetch (http or https). Give this or `text`.
    pub url: Option<String>,
    /// Pasted text: a chat transcript, markdown, plain text, HTML, a JSON chat
    /// export or an API message list. Give this or `url`.
    pub text: Option<String>,
    pub name: Option<String>,
    pub collection_id: Option<String>,
    /// Refresh a URL source every this many seconds (at least the server's minimum).
    pub refresh_interval_seconds: Option<u64>,
    /// How long to wait for the first run (0 to 120 seconds, default 30).
    pub wait_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshSourceArgs {
    /// The source's id (a URL or FILE source).
    pub source_id: String,
    /// Re-extract even when the content did not change.
    pub force: Option<bool>,
    pub run_context_extraction: Option<bool>,
    pub run_artifact_extraction: Option<bool>,
    /// How long to wait for the run (0 to 120 seconds, default 30).
    pub wait_seconds: Option<u64>,
}

fn page(page: Option<u64>, per_page: Option<u64>) -> Result<PageRequest> {
    PageRequest::new(page, per_page)
}

/// An id argument, or a validation error naming it.
fn id<T>(field: &str, raw: &str, parse: fn(&str, &str) -> std::result::Result<T, FieldError>) -> Result<T> {
    parse(field, raw.trim()).map_err(|error| Error::invalid_fields(vec![error]))
}

pub(crate) fn source_id(raw: &str) -> Result<SourceId> {
    id("source_id", raw, SourceId::parse_field)
}

/// The caller's space named by `raw`: an id, or a name (compared without case);
/// with `create`, a name no space has yet makes a new space.
async fn space(use_cases: &UseCases, user: &User, raw: &str, create: bool) -> Result<SpaceId> {
    let raw = raw.trim();
    if let Ok(id) = raw.parse::<SpaceId>() {
        return Ok(id);
    }
    if raw.is_empty() {
        return Err(Error::invalid("space", "name a space (its id or its name)"));
    }
    for number in 1.. {
        let listed =
            use_cases.spaces.list(user, PageRequest::new(Some(number), Some(PageRequest::MAX_PER_PAGE))?).await?;
        if let Some(found) = listed.items.iter().find(|space| space.name.eq_ignore_ascii_case(raw)) {
            return Ok(found.id);
        }
        if number >= listed.pages() {
            break;
        }
    }
    if !create {
        return Err(Error::NotFound("space"));
    }
    let input = SpaceInput { name: raw.to_owned(), description: None };
    let created = use_cases.spaces.create(user, input).await.map_err(|error| match error {
        // The name is the `space` argument here.
        Error::Validation { .. } => {
            Error::invalid("space", "a new space's name: 1 to 200 characters, no control characters")
        }
        other => other,
    })?;
    Ok(created.id)
}

fn collection_id(raw: &str) -> Result<CollectionId> {
    id("collection_id", raw, CollectionId::parse_field)
}

fn wait_for(seconds: Option<u64>) -> Result<Duration> {
    match seconds.unwrap_or(DEFAULT_WAIT_SECONDS) {
        seconds if seconds <= MAX_WAIT_SECONDS => Ok(Duration::from_secs(seconds)),
        _ => Err(Error::invalid("wait_seconds", format!("at most {MAX_WAIT_SECONDS}"))),
    }
}

pub async fn list_spaces(use_cases: &UseCases, user: &User, args: PageArgs) -> Result<ToolOutput> {
    let spaces = use_cases.spaces.list(user, page(args.page, args.per_page)?).await?;
    let text = render::spaces(&spaces.items, spaces.total);
    let items: Vec<Value> = spaces.items.iter().map(space_json).collect();
    Ok(ToolOutput { text, structured: json!({"spaces": items, "total": spaces.total}) })
}

fn space_json(space: &Space) -> Value {
    json!({"id": space.id.to_string(), "name": space.name, "description": space.description})
}

pub async fn list_sources(use_cases: &UseCases, user: &User, args: ListSourcesArgs) -> Result<ToolOutput> {
    let space = space(use_cases, user, &args.space, false).await?;
    let filter = SourceFilter {
        status: args.status.as_deref().map(|s| parse_enum::<SourceStatus>("status", s)).transpose()?,
        source_type: args.source_type.as_deref().map(|s| parse_enum::<SourceType>("type", s)).transpose()?,
        collection_id: args.collection_id.as_deref().map(collection_id).transpose()?,
        pinned: None,
        include_deleted: false,
    };
    let sources = use_cases.sources.list(user, space, filter, page(args.page, args.per_page)?).await?;
    let text = render::sources(&sources.items, sources.total);
    let items: Vec<Value> = sources.items.iter().map(source_json).collect();
    Ok(ToolOutput { text, structured: json!({"sources": items, "total": sources.total}) })
}

fn parse_enum<T: std::str::FromStr>(field: &str, raw: &str) -> Result<T> {
    raw.parse().map_err(|_| Error::invalid(field, format!("unknown value {raw:?}")))
}

pub fn source_json(source: &Source) -> Value {
    let run = source.last_run.as_ref();
    json!({
        "id": source.id.to_string(),
        "space_id": source.space_id.to_string(),
        "name": source.name,
        "type": source.input.source_type().as_str(),
        "status": source.status.as_str(),
        "message": source.message,
        "revision": source.revision,
        "last_run": run.map(|r| json!({
            "id": r.id.to_string(),
            "kind": r.kind.as_str(),
            "status": r.status.as_str(),
            "outcome": r.outcome.map(|o| o.as_str()),
            "attempt": r.attempt,
            "error": r.error,
            "next_attempt_at": r.retry_at.map(|at| at.to_rfc3339()),
        })),
        "original_tokens": source.stats.original_tokens,
        "context_tokens": source.stats.context_tokens,
        "artifact_count": source.stats.artifact_count,
    })
}

pub async fn get_context(use_cases: &UseCases, user: &User, args: GetContextArgs) -> Result<ToolOutput> {
    let id = source_id(&args.source_id)?;
    let source = use_cases.sources.get(user, id).await?;
    let context = use_cases.outputs.context(user, id, args.revision).await?;
    Ok(context_output(&source, &context))
}

pub fn context_output(source: &Source, context: &Context) -> ToolOutput {
    let draft = &context.draft;
    ToolOutput {
        text: render::context(source, context),
        structured: json!({
            "source_id": source.id.to_string(),
            "revision": context.revision,
            "title": draft.title,
            "summary": draft.summary,
            "key_points": draft.key_points,
            "decisions": draft.decisions,
            "open_questions": draft.open_questions,
            "content": draft.content,
            "original_tokens": draft.original_tokens,
            "context_tokens": draft.context_tokens,
            "compression_ratio": draft.compression_ratio(),
        }),
    }
}

pub async fn get_content(use_cases: &UseCases, user: &User, args: GetContentArgs) -> Result<ToolOutput> {
    let id = source_id(&args.source_id)?;
    let content = use_cases.outputs.content(user, id, args.revision, ContentFormat::Markdown).await?;
    let markdown = String::from_utf8_lossy(&content.bytes);
    let total = markdown.lines().count();
    let start = args.start_line.unwrap_or(1);
    let end = args.end_line.unwrap_or(total).min(total);
    if start == 0 {
        return Err(Error::invalid("start_line", "lines count from 1"));
    }
    if args.end_line.is_some_and(|end| end < start) {
        return Err(Error::invalid("end_line", "must not be before start_line"));
    }
    let selected: Vec<&str> = markdown.lines().skip(start - 1).take(end.saturating_sub(start - 1)).collect();
    let text = selected.join("\n");
    let structured = json!({
        "source_id": id.to_string(),
        "start_line": start,
        "end_line": start + selected.len().saturating_sub(1),
        "total_lines": total,
        "markdown": text,
    });
    Ok(ToolOutput { text, structured })
}

pub async fn get_artifact(use_cases: &UseCases, user: &User, args: GetArtifactArgs) -> Result<ToolOutput> {
    let id = id("artifact_id", &args.artifact_id, ArtifactId::parse_field)?;
    let artifact = use_cases.outputs.artifact(user, id).await?;
    Ok(ToolOutput { text: render::artifact(&artifact), structured: artifact_json(&artifact) })
}

fn artifact_json(artifact: &Artifact) -> Value {
    json!({
        "id": artifact.id.to_string(),
        "source_id": artifact.source_id.to_string(),
        "revision": artifact.revision,
        "kind": artifact.draft.kind.as_str(),
        "language": artifact.draft.language,
        "title": artifact.draft.title,
        "content": artifact.draft.content,
        "metadata": artifact.draft.metadata,
    })
}

pub async fn search_artifacts(use_cases: &UseCases, user: &User, args: SearchArtifactsArgs) -> Result<ToolOutput> {
    let space = space(use_cases, user, &args.space, false).await?;
    let query = ArtifactQuery::new(args.kind.as_deref(), args.language.as_deref(), args.query.as_deref())?;
    let found = use_cases.outputs.search_artifacts(user, space, &query, page(args.page, args.per_page)?).await?;
    let text = render::artifacts(&found.items, found.total);
    let items: Vec<Value> = found.items.iter().map(artifact_json).collect();
    Ok(ToolOutput { text, structured: json!({"artifacts": items, "total": found.total}) })
}

pub async fn source_status(use_cases: &UseCases, user: &User, args: SourceArgs) -> Result<ToolOutput> {
    let id = source_id(&args.source_id)?;
    let source = use_cases.sources.get(user, id).await?;
    let revisions = use_cases.outputs.revisions(user, id, PageRequest::new(Some(1), Some(10))?).await?;
    let text = render::status(&source, &revisions.items);
    let listed: Vec<Value> = revisions
        .items
        .iter()
        .map(|listed| {
            json!({
                "number": listed.revision.number,
                "fetched_at": listed.revision.fetched_at.to_rfc3339(),
                "content_hash": listed.revision.content_hash,
                "content_available": listed.content_available,
            })
        })
        .collect();
    let mut structured = source_json(&source);
    structured["revisions"] = Value::from(listed);
    structured["revision_count"] = Value::from(revisions.total);
    Ok(ToolOutput { text, structured })
}

pub async fn add_source(use_cases: &UseCases, user: &User, args: AddSourceArgs) -> Result<ToolOutput> {
    let wait = wait_for(args.wait_seconds)?;
    let material = match (args.url, args.text) {
        (Some(url), None) => SourceMaterial::Uri { url },
        (None, Some(data)) => SourceMaterial::Content { data },
        (Some(_), Some(_)) => return Err(Error::invalid("url", "give url or text, not both")),
        (None, None) => return Err(Error::invalid("url", "give url (a page to fetch) or text (pasted content)")),
    };
    // Last: a new name creates the space, which a bad argument above must not do.
    let space = space(use_cases, user, &args.space, true).await?;
    let mut request = NewSource::new(material);
    request.fields.url = "url";
    request.fields.data = "text";
    request.fields.refresh_policy = "refresh_interval_seconds";
    request.name = args.name;
    request.collection_id = args.collection_id.as_deref().map(collection_id).transpose()?;
    request.refresh_policy = args
        .refresh_interval_seconds
        .map(|seconds| RefreshPolicyInput { mode: RefreshMode::Interval, interval_seconds: Some(seconds) });
    let created = use_cases.sources.create(user, space, request).await?;
    settled(use_cases, user, created, wait).await
}

pub async fn refresh_source(use_cases: &UseCases, user: &User, args: RefreshSourceArgs) -> Result<ToolOutput> {
    let id = source_id(&args.source_id)?;
    let wait = wait_for(args.wait_seconds)?;
    let request = RefreshRequest {
        run_context_extraction: args.run_context_extraction,
        run_artifact_extraction: args.run_artifact_extraction,
        force: args.force,
    };
    let accepted = use_cases.sources.refresh(user, id, request).await?;
    settled(use_cases, user, accepted, wait).await
}

/// Waits up to `wait` for the run `accepted` queued to end, then answers its context
/// (when it completed with one) or where it stands.
async fn settled(use_cases: &UseCases, user: &User, accepted: Source, wait: Duration) -> Result<ToolOutput> {
    let run_id = accepted.last_run.as_ref().map(|run| run.id);
    let mut latest = accepted.clone();
    if let Some(mut states) = use_cases.sources.watch(user, accepted.id, false, None).await? {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(state)) = tokio::time::timeout_at(deadline, states.next()).await {
            latest = state?;
            let ours = latest.last_run.as_ref().map(|run| run.id) == run_id;
            if ours && latest.status.is_final() {
                break;
            }
        }
    }
    let finished = latest.status.is_final() && latest.last_run.as_ref().map(|run| run.id) == run_id;
    if finished
        && latest.status == SourceStatus::Completed
        && let Ok(context) = use_cases.outputs.context(user, latest.id, None).await
    {
        let mut output = context_output(&latest, &context);
        output.text = format!("{}\n\n{}", render::status_line(&latest), output.text);
        output.structured["source"] = source_json(&latest);
        return Ok(output);
    }
    let mut text = render::status_line(&latest);
    if !finished {
        text.push_str("\nThe run is still going; ask for `source_status` later.");
    }
    Ok(ToolOutput { text, structured: json!({"source": source_json(&latest), "finished": finished}) })
}

/// The `pack_context` prompt's message, and a line describing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    pub text: String,
    pub description: String,
}

/// The most sources one prompt packs.
const MAX_PACKED: usize = 100;

/// The contexts of the sources named in `raw` (ids separated by commas or white
/// space) as one message, each with its token counts, and the totals.
pub async fn pack_context(use_cases: &UseCases, user: &User, raw: &str) -> Result<Packed> {
    let ids: Vec<SourceId> = raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(source_id)
        .collect::<Result<_>>()?;
    if ids.is_empty() {
        return Err(Error::invalid("source_ids", "name at least one source"));
    }
    if ids.len() > MAX_PACKED {
        return Err(Error::invalid("source_ids", format!("at most {MAX_PACKED} sources")));
    }
    let (mut original, mut compact) = (0, 0);
    let mut text = String::new();
    for id in &ids {
        let source = use_cases.sources.get(user, *id).await?;
        let context = use_cases.outputs.context(user, *id, None).await?;
        original += context.draft.original_tokens;
        compact += context.draft.context_tokens;
        text.push_str(&render::context(&source, &context));
        text.push_str("\n---\n\n");
    }
    let description = format!("{} source(s): {compact} context tokens standing for {original}", ids.len());
    text.push_str(&format!("Packed by ctxd: {description}.\n"));
    Ok(Packed { text, description })
}
