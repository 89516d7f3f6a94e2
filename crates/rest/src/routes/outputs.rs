//! What processing produced: `/v1/sources/{sourceId}/runs|revisions|context|content`
//! and `/v1/runs/{runId}`.

use axum::{
    Json,
    extract::{Path, State},
    http::header,
    response::IntoResponse,
};
use ctxd_domain::{
    ids::{RunId, SourceId},
    model::PageRequest,
    services::{Content, ContentFormat},
};

use crate::{
    AppState,
    dto::{
        ArtifactChangesOut, ContentFormatParam, ContentParams, ContextOut, ContextParams, DiffParams, PageParams,
        Pagination, RevisionDiffOut, RevisionOut, RevisionsPage, RunOut, RunsPage,
    },
    error::{ApiError, ErrorBody},
    extract::{ApiQuery, Auth, path_id},
};

fn source_id(raw: &str) -> Result<SourceId, ApiError> {
    path_id("sourceId", raw, SourceId::parse_field)
}

fn revision_number(raw: &str) -> Result<u32, ApiError> {
    raw.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid("n", "must be a revision number (1, 2, ...)"))
}

/// A source's runs, newest first.
#[utoipa::path(get, path = "/v1/sources/{sourceId}/runs", tag = "runs",
    params(("sourceId" = String, Path, format = Uuid), PageParams),
    responses((status = 200, description = "OK", body = RunsPage), (status = 400, description = "Invalid input", body = ErrorBody), (status = 401, description = "Not authenticated", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_runs(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<RunsPage>, ApiError> {
    let id = source_id(&raw_id)?;
    let page = PageRequest::new(params.page, params.per_page)?;
    let page = state.use_cases.outputs.runs(&user, id, page).await?;
    let pagination = Pagination::from(&page);
    Ok(Json(RunsPage { runs: page.items.into_iter().map(Into::into).collect(), pagination }))
}

/// One run, with its per-stage timings.
#[utoipa::path(get, path = "/v1/runs/{runId}", tag = "runs", params(("runId" = String, Path, format = Uuid)),
    responses((status = 200, description = "OK", body = RunOut), (status = 400, description = "Invalid input", body = ErrorBody), (status = 401, description = "Not authenticated", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_run(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<Json<RunOut>, ApiError> {
    let id = path_id("runId", &raw_id, RunId::parse_field)?;
    Ok(Json(state.use_cases.outputs.run(&user, id).await?.into()))
}

/// A source's revisions, newest first.
#[utoipa::path(get, path = "/v1/sources/{sourceId}/revisions", tag = "revisions",
    params(("sourceId" = String, Path, format = Uuid), PageParams),
    responses((status = 200, description = "OK", body = RevisionsPage), (status = 400, description = "Invalid input", body = ErrorBody), (status = 401, description = "Not authenticated", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_revisions(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<RevisionsPage>, ApiError> {
    let id = source_id(&raw_id)?;
    let page = PageRequest::new(params.page, params.per_page)?;
    let page = state.use_cases.outputs.revisions(&user, id, page).await?;
    let pagination = Pagination::from(&page);
    Ok(Json(RevisionsPage { revisions: page.items.into_iter().map(Into::into).collect(), pagination }))
}

/// One revision's metadata.
#[utoipa::path(get, path = "/v1/sources/{sourceId}/revisions/{n}", tag = "revisions",
    params(("sourceId" = String, Path, format = Uuid), ("n" = u32, Path)),
    responses((status = 200, description = "OK", body = RevisionOut), (status = 400, description = "Invalid input", body = ErrorBody), (status = 401, description = "Not authenticated", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_revision(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path((raw_id, raw_n)): Path<(String, String)>,
) -> Result<Json<RevisionOut>, ApiError> {
    let id = source_id(&raw_id)?;
    let n = revision_number(&raw_n)?;
    Ok(Json(state.use_cases.outputs.revision(&user, id, n).await?.into()))
}

/// The compact context of the current revision (or `?revision=n`).
#[utoipa::path(get, path = "/v1/sources/{sourceId}/context", tag = "revisions",
    params(("sourceId" = String, Path, format = Uuid), ContextParams),
    responses((status = 200, description = "OK", body = ContextOut), (status = 400, description = "Invalid input", body = ErrorBody), (status = 401, description = "Not authenticated", body = ErrorBody), (status = 404, description = "Not found, or no context extracted yet", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_context(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiQuery(params): ApiQuery<ContextParams>,
) -> Result<Json<ContextOut>, ApiError> {
    let id = source_id(&raw_id)?;
    Ok(Json(state.use_cases.outputs.context(&user, id, params.revision).await?.into()))
}

fn content_response(content: Content) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content.content_type)], content.bytes)
}

fn format_of(params: &ContentParams) -> ContentFormat {
    match params.format {
        Some(ContentFormatParam::Raw) => ContentFormat::Raw,
        Some(ContentFormatParam::Markdown) | None => ContentFormat::Markdown,
    }
}

/// The current revision's normalized markdown, or with `?format=raw` the bytes as fetched.
#[utoipa::path(get, path = "/v1/sources/{sourceId}/content", tag = "revisions",
    params(("sourceId" = String, Path, format = Uuid), ContentParams),
    responses((status = 200, description = "The content (text/markdown, or the original type with format=raw)"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 401, description = "Not authenticated", body = ErrorBody), (status = 404, description = "Not found, or no content yet", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_content(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiQuery(params): ApiQuery<ContentParams>,
) -> Result<impl IntoResponse, ApiError> {
    let id = source_id(&raw_id)?;
    let content = state.use_cases.outputs.content(&user, id, params.revision, format_of(&params)).await?;
    Ok(content_response(content))
}

/// One revision's normalized markdown, or with `?format=raw` the bytes as fetched.
#[utoipa::path(get, path = "/v1/sources/{sourceId}/revisions/{n}/content", tag = "revisions",
    params(("sourceId" = String, Path, format = Uuid), ("n" = u32, Path), ContentParams),
    responses((status = 200, description = "The content (text/markdown, or the original type with format=raw)"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 401, description = "Not authenticated", body = ErrorBody), (status = 404, description = "Not found, or no longer retained", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_revision_content(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path((raw_id, raw_n)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<ContentParams>,
) -> Result<impl IntoResponse, ApiError> {
    let id = source_id(&raw_id)?;
    let n = revision_number(&raw_n)?;
    let content = state.use_cases.outputs.content(&user, id, Some(n), format_of(&params)).await?;
    Ok(content_response(content))
}

/// A unified diff of the normalized markdown from `?against=m` (default the previous
/// revision) to revision `n`, plus the artifact changes.
#[utoipa::path(get, path = "/v1/sources/{sourceId}/revisions/{n}/diff", tag = "revisions",
    params(("sourceId" = String, Path, format = Uuid), ("n" = u32, Path), DiffParams),
    responses((status = 200, description = "OK", body = RevisionDiffOut), (status = 400, description = "Invalid input", body = ErrorBody), (status = 401, description = "Not authenticated", body = ErrorBody), (status = 404, description = "Not found, or content no longer retained", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn diff_revisions(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path((raw_id, raw_n)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<DiffParams>,
) -> Result<Json<RevisionDiffOut>, ApiError> {
    let id = source_id(&raw_id)?;
    let n = revision_number(&raw_n)?;
    let diff = state.use_cases.outputs.diff(&user, id, n, params.against).await?;
    Ok(Json(RevisionDiffOut {
        from: diff.from,
        to: diff.to,
        changed: diff.changed,
        format: "unified".into(),
        diff: diff.unified,
        // Artifacts arrive with the extraction issue; until then there are none to compare.
        artifacts: ArtifactChangesOut::default(),
    }))
}
