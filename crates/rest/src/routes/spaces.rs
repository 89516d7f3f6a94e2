//! `/v1/spaces`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use ctxd_domain::{ids::SpaceId, model::PageRequest, services::SpaceInput};

use crate::{
    AppState,
    dto::{PageParams, Pagination, SpaceIn, SpaceOut, SpacesPage},
    error::{ApiError, BadRequest, NotFound, Refusals},
    extract::{ApiJson, ApiQuery, Auth, path_id},
};

pub(crate) fn space_id(raw: &str) -> Result<SpaceId, ApiError> {
    path_id("spaceId", raw, SpaceId::parse_field)
}

/// Create a space.
#[utoipa::path(post, path = "/v1/spaces", tag = "spaces", request_body = SpaceIn,
    responses((status = 201, description = "Created", body = SpaceOut), BadRequest, Refusals),
    security(("bearer" = [])))]
pub async fn create_space(
    State(state): State<AppState>,
    Auth(user): Auth,
    ApiJson(body): ApiJson<SpaceIn>,
) -> Result<(StatusCode, Json<SpaceOut>), ApiError> {
    let space =
        state.use_cases.spaces.create(&user, SpaceInput { name: body.name, description: body.description }).await?;
    Ok((StatusCode::CREATED, Json(space.into())))
}

/// List the caller's spaces, newest first.
#[utoipa::path(get, path = "/v1/spaces", tag = "spaces", params(PageParams),
    responses((status = 200, description = "OK", body = SpacesPage), BadRequest, Refusals),
    security(("bearer" = [])))]
pub async fn list_spaces(
    State(state): State<AppState>,
    Auth(user): Auth,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<SpacesPage>, ApiError> {
    let page = PageRequest::new(params.page, params.per_page)?;
    let page = state.use_cases.spaces.list(&user, page).await?;
    let pagination = Pagination::from(&page);
    Ok(Json(SpacesPage { spaces: page.items.into_iter().map(Into::into).collect(), pagination }))
}

/// Get a space.
#[utoipa::path(get, path = "/v1/spaces/{spaceId}", tag = "spaces", params(("spaceId" = String, Path, format = Uuid)),
    responses((status = 200, description = "OK", body = SpaceOut), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn get_space(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<Json<SpaceOut>, ApiError> {
    let space = state.use_cases.spaces.get(&user, space_id(&raw_id)?).await?;
    Ok(Json(space.into()))
}

/// Replace a space's name and description.
#[utoipa::path(put, path = "/v1/spaces/{spaceId}", tag = "spaces", params(("spaceId" = String, Path, format = Uuid)),
    request_body = SpaceIn,
    responses((status = 200, description = "OK", body = SpaceOut), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn replace_space(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiJson(body): ApiJson<SpaceIn>,
) -> Result<Json<SpaceOut>, ApiError> {
    let id = space_id(&raw_id)?;
    let space = state
        .use_cases
        .spaces
        .replace(&user, id, SpaceInput { name: body.name, description: body.description })
        .await?;
    Ok(Json(space.into()))
}

/// Delete a space with its collections, sources, context and artifacts.
#[utoipa::path(delete, path = "/v1/spaces/{spaceId}", tag = "spaces", params(("spaceId" = String, Path, format = Uuid)),
    responses((status = 204, description = "Done; no content"), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn delete_space(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.spaces.delete(&user, space_id(&raw_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
