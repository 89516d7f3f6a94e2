//! `/v1/api-keys`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use ctxd_domain::{ids::ApiKeyId, model::PageRequest, services::NewApiKey};

use crate::{
    AppState,
    dto::{ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut, ApiKeysPage, PageParams, Pagination},
    error::{ApiError, BadRequest, NotFound, Refusals},
    extract::{ApiQuery, Auth, OptionalJson, path_id},
};

/// Create an API key. The secret (`api_key`) is returned only in this response.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body(content = Option<ApiKeyIn>, description = "Optional; an empty body means the defaults"),
    responses((status = 201, description = "Created", body = ApiKeyCreatedOut), BadRequest, Refusals),
    security(("bearer" = [])))]
pub async fn create_api_key(
    State(state): State<AppState>,
    Auth(user): Auth,
    OptionalJson(body): OptionalJson<ApiKeyIn>,
) -> Result<(StatusCode, Json<ApiKeyCreatedOut>), ApiError> {
    let request = NewApiKey { name: body.name, expiration_date: body.expiration_date };
    let issued = state.use_cases.api_keys.create(&user, request).await?;
    let api_key = issued.secret.expose().to_owned();
    Ok((StatusCode::CREATED, Json(ApiKeyCreatedOut { key: issued.key.into(), api_key })))
}

/// List the caller's API keys (without secrets), newest first.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", params(PageParams),
    responses((status = 200, description = "OK", body = ApiKeysPage), BadRequest, Refusals),
    security(("bearer" = [])))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    Auth(user): Auth,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<ApiKeysPage>, ApiError> {
    let page = PageRequest::new(params.page, params.per_page)?;
    let page = state.use_cases.api_keys.list(&user, page).await?;
    let pagination = Pagination::from(&page);
    Ok(Json(ApiKeysPage { api_keys: page.items.into_iter().map(Into::into).collect(), pagination }))
}

/// Revoke an API key; it stops working immediately.
#[utoipa::path(delete, path = "/v1/api-keys/{keyId}", tag = "api-keys", params(("keyId" = String, Path, format = Uuid)),
    responses((status = 200, description = "OK", body = ApiKeyOut), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<Json<ApiKeyOut>, ApiError> {
    let id = path_id("keyId", &raw_id, ApiKeyId::parse_field)?;
    let key = state.use_cases.api_keys.revoke(&user, id).await?;
    Ok(Json(key.into()))
}
