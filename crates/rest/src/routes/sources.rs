//! `/v1/spaces/{spaceId}/sources` and `/v1/sources/{sourceId}/...`, including the
//! processing actions (refresh, reprocess, fast-forward) and cancel.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderName, StatusCode, header},
    response::{IntoResponse, Response},
};
use ctxd_domain::{ids::SourceId, model::PageRequest, ports::SourceFilter, services::idempotency::Keyed};

use super::spaces::space_id;
use crate::{
    AppState,
    dto::{
        FastForwardIn, Pagination, RefreshIn, ReprocessIn, SourceCreateIn, SourceListParams, SourceOut, SourcePatchIn,
        SourcesPage,
    },
    error::{ApiError, BadRequest, Conflict, ErrorBody, NotFound, Refusals},
    extract::{ApiJson, ApiQuery, Auth, HashedJson, OptionalJson, path_id},
};

fn source_id(raw: &str) -> Result<SourceId, ApiError> {
    path_id("sourceId", raw, SourceId::parse_field)
}

type Accepted = (StatusCode, Json<SourceOut>);

/// Register a source; processing starts at once (202, status PENDING). With an
/// `Idempotency-Key`, a retry of the same request within 24 h gets the first response
/// again (header `idempotent-replayed: true`); the same key with another request is 409.
#[utoipa::path(post, path = "/v1/spaces/{spaceId}/sources", tag = "sources",
    params(
        ("spaceId" = String, Path, format = Uuid),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters; remembered for 24 h"),
    ),
    request_body = SourceCreateIn,
    responses((status = 202, description = "Accepted: the work is queued", body = SourceOut), BadRequest, NotFound, (status = 409, description = "Idempotency-Key reused with another request, or still in progress", body = ErrorBody), Refusals),
    security(("bearer" = [])))]
pub async fn create_source(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_space_id): Path<String>,
    headers: HeaderMap,
    HashedJson(body, body_hash): HashedJson<SourceCreateIn>,
) -> Result<Response, ApiError> {
    let space_id = space_id(&raw_space_id)?;
    let key = match headers.get("idempotency-key") {
        Some(value) => {
            Some(value.to_str().map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?.to_owned())
        }
        None => None,
    };
    // A keyed create runs to its end (stored answer or released key) even when the
    // client hangs up midway: cancelled between claiming the key and recording the
    // answer, the key would stay "in progress" and every retry would get a 409.
    let work = async move {
        // The same key on another space's create is another request.
        let fingerprint = format!("{space_id}:{body_hash}");
        let create = async {
            let request = body.into_domain()?;
            state.use_cases.sources.create(&user, space_id, request).await.map(SourceOut::from)
        };
        let record =
            |out: &SourceOut| (StatusCode::ACCEPTED.as_u16(), serde_json::to_string(out).expect("DTOs serialize"));
        match state.use_cases.idempotency.once(&user, key.as_deref(), &fingerprint, create, record).await? {
            Keyed::Done(out) => Ok((StatusCode::ACCEPTED, Json(out)).into_response()),
            Keyed::Replayed { status, body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::ACCEPTED);
                let headers = [
                    (header::CONTENT_TYPE, "application/json"),
                    (HeaderName::from_static("idempotent-replayed"), "true"),
                ];
                Ok((status, headers, body).into_response())
            }
        }
    };
    crate::request_id::spawn_detached(work)
        .await
        .unwrap_or_else(|_| Err(ApiError::from(ctxd_domain::Error::internal("the create panicked"))))
}

/// List a space's sources: pinned first, then newest first.
#[utoipa::path(get, path = "/v1/spaces/{spaceId}/sources", tag = "sources",
    params(("spaceId" = String, Path, format = Uuid), SourceListParams),
    responses((status = 200, description = "OK", body = SourcesPage), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn list_sources(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_space_id): Path<String>,
    ApiQuery(params): ApiQuery<SourceListParams>,
) -> Result<Json<SourcesPage>, ApiError> {
    let space_id = space_id(&raw_space_id)?;
    let page = PageRequest::new(params.page, params.per_page)?;
    let filter = SourceFilter {
        status: params.status,
        source_type: params.source_type,
        collection_id: params.collection_id,
        pinned: params.pinned,
        include_deleted: params.include_deleted.unwrap_or(false),
    };
    let page = state.use_cases.sources.list(&user, space_id, filter, page).await?;
    let pagination = Pagination::from(&page);
    Ok(Json(SourcesPage { sources: page.items.into_iter().map(Into::into).collect(), pagination }))
}

/// Get a source.
#[utoipa::path(get, path = "/v1/sources/{sourceId}", tag = "sources", params(("sourceId" = String, Path, format = Uuid)),
    responses((status = 200, description = "OK", body = SourceOut), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn get_source(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<Json<SourceOut>, ApiError> {
    Ok(Json(state.use_cases.sources.get(&user, source_id(&raw_id)?).await?.into()))
}

/// Change name, description, collection, refresh policy or postback URL.
#[utoipa::path(patch, path = "/v1/sources/{sourceId}", tag = "sources", params(("sourceId" = String, Path, format = Uuid)),
    request_body = SourcePatchIn,
    responses((status = 200, description = "OK", body = SourceOut), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn update_source(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiJson(body): ApiJson<SourcePatchIn>,
) -> Result<Json<SourceOut>, ApiError> {
    let id = source_id(&raw_id)?;
    Ok(Json(state.use_cases.sources.update(&user, id, body.into()).await?.into()))
}

/// Soft-delete a source (cancels work in flight; restorable).
#[utoipa::path(delete, path = "/v1/sources/{sourceId}", tag = "sources", params(("sourceId" = String, Path, format = Uuid)),
    responses((status = 204, description = "Done; no content"), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn delete_source(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.sources.delete(&user, source_id(&raw_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore a soft-deleted source (409 when it is not deleted).
#[utoipa::path(post, path = "/v1/sources/{sourceId}/restore", tag = "sources", params(("sourceId" = String, Path, format = Uuid)),
    responses((status = 200, description = "OK", body = SourceOut), BadRequest, NotFound, Conflict, Refusals),
    security(("bearer" = [])))]
pub async fn restore_source(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<Json<SourceOut>, ApiError> {
    Ok(Json(state.use_cases.sources.restore(&user, source_id(&raw_id)?).await?.into()))
}

/// Pin or unpin a source.
#[utoipa::path(patch, path = "/v1/sources/{sourceId}/toggle-pin", tag = "sources", params(("sourceId" = String, Path, format = Uuid)),
    responses((status = 200, description = "OK", body = SourceOut), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn toggle_pin(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<Json<SourceOut>, ApiError> {
    Ok(Json(state.use_cases.sources.toggle_pin(&user, source_id(&raw_id)?).await?.into()))
}

/// Cancel queued or running work (from CREATED, PENDING or PROCESSING).
#[utoipa::path(post, path = "/v1/sources/{sourceId}/cancel", tag = "sources", params(("sourceId" = String, Path, format = Uuid)),
    responses((status = 202, description = "Accepted: the work is queued", body = SourceOut), BadRequest, NotFound, Conflict, Refusals),
    security(("bearer" = [])))]
pub async fn cancel_source(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<Accepted, ApiError> {
    let source = state.use_cases.sources.cancel(&user, source_id(&raw_id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(source.into())))
}

/// Re-fetch a URI or FILE source (conditional; unchanged content is not re-extracted).
#[utoipa::path(post, path = "/v1/sources/{sourceId}/refresh", tag = "sources", params(("sourceId" = String, Path, format = Uuid)),
    request_body(content = Option<RefreshIn>, description = "Optional; an empty body means the defaults"),
    responses((status = 202, description = "Refresh initiated", body = SourceOut), BadRequest, NotFound, Conflict, Refusals),
    security(("bearer" = [])))]
pub async fn refresh_source(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    OptionalJson(body): OptionalJson<RefreshIn>,
) -> Result<Accepted, ApiError> {
    let id = source_id(&raw_id)?;
    let source = state.use_cases.sources.refresh(&user, id, body.into()).await?;
    Ok((StatusCode::ACCEPTED, Json(source.into())))
}

/// Re-run extraction on the stored content of the current revision.
#[utoipa::path(post, path = "/v1/sources/{sourceId}/reprocess", tag = "sources", params(("sourceId" = String, Path, format = Uuid)),
    request_body(content = Option<ReprocessIn>, description = "Optional; an empty body means the defaults"),
    responses((status = 202, description = "Accepted: the work is queued", body = SourceOut), BadRequest, NotFound, Conflict, Refusals),
    security(("bearer" = [])))]
pub async fn reprocess_source(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    OptionalJson(body): OptionalJson<ReprocessIn>,
) -> Result<Accepted, ApiError> {
    let id = source_id(&raw_id)?;
    let source = state.use_cases.sources.reprocess(&user, id, body.into()).await?;
    Ok((StatusCode::ACCEPTED, Json(source.into())))
}

/// Bring the source up to date with new material supplied in the request.
#[utoipa::path(post, path = "/v1/sources/{sourceId}/fast-forward", tag = "sources", params(("sourceId" = String, Path, format = Uuid)),
    request_body = FastForwardIn,
    responses((status = 202, description = "Accepted: the work is queued", body = SourceOut), BadRequest, NotFound, Conflict, Refusals),
    security(("bearer" = [])))]
pub async fn fast_forward_source(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiJson(body): ApiJson<FastForwardIn>,
) -> Result<Accepted, ApiError> {
    let id = source_id(&raw_id)?;
    let source = state.use_cases.sources.fast_forward(&user, id, body.into_domain()?).await?;
    Ok((StatusCode::ACCEPTED, Json(source.into())))
}
