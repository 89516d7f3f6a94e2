//! What processing produced: `/v1/sources/{sourceId}/runs|revisions|context|content|artifacts`,
//! `/v1/runs/{runId}`, `/v1/artifacts/{artifactId}` and the per-space artifact search.

use axum::{
    Json,
    extract::{Path, State},
    http::header,
    response::IntoResponse,
};
use ctxd_domain::{
    ids::{ArtifactId, RunId, SourceId, SpaceId},
    model::{ArtifactQuery, PageRequest},
    services::{Content, ContentFormat},
};

use crate::{
    AppState,
    dto::{
        ArtifactOut, ArtifactsPage, ContentFormatParam, ContentParams, ContextOut, ContextParams, DiffParams,
        PageParams, Pagination, RevisionDiffOut, RevisionOut, RevisionsPage, RunOut, RunsPage, SearchArtifactsParams,
        SourceArtifactsParams,
    },
    error::{ApiError, BadRequest, ErrorBody, NotFound, Refusals},
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
    responses((status = 200, description = "OK", body = RunsPage), BadRequest, NotFound, Refusals),
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
    responses((status = 200, description = "OK", body = RunOut), BadRequest, NotFound, Refusals),
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
    responses((status = 200, description = "OK", body = RevisionsPage), BadRequest, NotFound, Refusals),
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
    params(("sourceId" = String, Path, format = Uuid), ("n" = u32, Path, minimum = 1)),
    responses((status = 200, description = "OK", body = RevisionOut), BadRequest, NotFound, Refusals),
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
    responses((status = 200, description = "OK", body = ContextOut), BadRequest, (status = 404, description = "Not found, or no context extracted yet", body = ErrorBody), (status = 410, description = "The revision's context was removed with its content by retention (revisions.retain)", body = ErrorBody), Refusals),
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
    responses((status = 200, description = "The content (text/markdown, or the original type with format=raw)"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 401, description = "Not authenticated", body = ErrorBody), (status = 404, description = "Not found, or no content yet", body = ErrorBody), (status = 410, description = "The revision's content was removed by retention (revisions.retain)", body = ErrorBody)),
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
    params(("sourceId" = String, Path, format = Uuid), ("n" = u32, Path, minimum = 1), ContentParams),
    responses((status = 200, description = "The content (text/markdown, or the original type with format=raw)"), (status = 400, description = "Invalid input", body = ErrorBody), (status = 401, description = "Not authenticated", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 410, description = "The revision's content was removed by retention (revisions.retain)", body = ErrorBody)),
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
    params(("sourceId" = String, Path, format = Uuid), ("n" = u32, Path, minimum = 1), DiffParams),
    responses((status = 200, description = "OK", body = RevisionDiffOut), BadRequest, (status = 404, description = "Not found", body = ErrorBody), (status = 410, description = "The revision's content was removed by retention (revisions.retain)", body = ErrorBody), Refusals),
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
        artifacts: diff.artifacts.into(),
    }))
}

/// A source's current artifacts (or those found in `?revision=`), in document order.
#[utoipa::path(get, path = "/v1/sources/{sourceId}/artifacts", tag = "artifacts",
    params(("sourceId" = String, Path, format = Uuid), SourceArtifactsParams),
    responses((status = 200, description = "OK", body = ArtifactsPage), BadRequest, NotFound, (status = 410, description = "The revision's artifacts were removed with its content by retention (revisions.retain)", body = ErrorBody), Refusals),
    security(("bearer" = [])))]
pub async fn list_source_artifacts(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiQuery(params): ApiQuery<SourceArtifactsParams>,
) -> Result<Json<ArtifactsPage>, ApiError> {
    let id = source_id(&raw_id)?;
    let page = PageRequest::new(params.page, params.per_page)?;
    let page = state.use_cases.outputs.artifacts(&user, id, params.revision, page).await?;
    let pagination = Pagination::from(&page);
    Ok(Json(ArtifactsPage { artifacts: page.items.into_iter().map(Into::into).collect(), pagination }))
}

/// One artifact.
#[utoipa::path(get, path = "/v1/artifacts/{artifactId}", tag = "artifacts",
    params(("artifactId" = String, Path, format = Uuid)),
    responses((status = 200, description = "OK", body = ArtifactOut), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn get_artifact(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<Json<ArtifactOut>, ApiError> {
    let id = path_id("artifactId", &raw_id, ArtifactId::parse_field)?;
    Ok(Json(state.use_cases.outputs.artifact(&user, id).await?.into()))
}

/// Searches the current artifacts of a space's sources by kind, language and text.
#[utoipa::path(get, path = "/v1/spaces/{spaceId}/artifacts", tag = "artifacts",
    params(("spaceId" = String, Path, format = Uuid), SearchArtifactsParams),
    responses((status = 200, description = "OK", body = ArtifactsPage), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn search_artifacts(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiQuery(params): ApiQuery<SearchArtifactsParams>,
) -> Result<Json<ArtifactsPage>, ApiError> {
    let space = path_id("spaceId", &raw_id, SpaceId::parse_field)?;
    let page = PageRequest::new(params.page, params.per_page);
    let query = ArtifactQuery::new(params.kind.as_deref(), params.language.as_deref(), params.q.as_deref());
    let (page, query) = merge_violations(page, query)?;
    let page = state.use_cases.outputs.search_artifacts(&user, space, &query, page).await?;
    let pagination = Pagination::from(&page);
    Ok(Json(ArtifactsPage { artifacts: page.items.into_iter().map(Into::into).collect(), pagination }))
}

/// Both results, or one validation error listing every bad parameter of both.
fn merge_violations<A, B>(a: ctxd_domain::Result<A>, b: ctxd_domain::Result<B>) -> Result<(A, B), ApiError> {
    use ctxd_domain::Error;
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(Error::Validation { details: mut first, .. }), Err(Error::Validation { details: second, .. })) => {
            first.extend(second);
            Err(Error::invalid_fields(first).into())
        }
        (Err(error), _) | (_, Err(error)) => Err(error.into()),
    }
}
