//! `/v1/postback-secret`, the key that signs the caller's postbacks, and
//! `/v1/sources/{sourceId}/postbacks`, what became of each delivery.

use axum::{
    Json,
    extract::{Path, State},
};
use ctxd_domain::{ids::SourceId, model::PageRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    AppState,
    dto::{PageParams, Pagination, PostbacksPage},
    error::{ApiError, BadRequest, NotFound, Refusals},
    extract::{ApiQuery, Auth, path_id},
};

/// A source's postback deliveries, newest first: attempts, the receiver's last
/// answer, the next attempt, delivered or given up.
#[utoipa::path(get, path = "/v1/sources/{sourceId}/postbacks", tag = "postbacks",
    params(("sourceId" = String, Path, format = Uuid), PageParams),
    responses((status = 200, description = "OK", body = PostbacksPage), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn list_postbacks(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<PostbacksPage>, ApiError> {
    let id = path_id("sourceId", &raw_id, SourceId::parse_field)?;
    let page = PageRequest::new(params.page, params.per_page)?;
    let page = state.use_cases.outputs.postbacks(&user, id, page).await?;
    let pagination = Pagination::from(&page);
    Ok(Json(PostbacksPage { postbacks: page.items.into_iter().map(Into::into).collect(), pagination }))
}

/// A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostbackSecretOut {
    pub secret: String,
}

/// The secret that signs your postbacks (`webhook-signature`), made on first use.
#[utoipa::path(get, path = "/v1/postback-secret", tag = "postbacks",
    responses((status = 200, description = "OK", body = PostbackSecretOut), Refusals),
    security(("bearer" = [])))]
pub async fn get_postback_secret(
    State(state): State<AppState>,
    Auth(user): Auth,
) -> Result<Json<PostbackSecretOut>, ApiError> {
    let secret = state.use_cases.postbacks.secret(&user).await?;
    Ok(Json(PostbackSecretOut { secret: secret.expose().to_owned() }))
}

/// Replace the secret; every later delivery, retries included, is signed with the new one.
#[utoipa::path(post, path = "/v1/postback-secret/rotate", tag = "postbacks",
    responses((status = 200, description = "The new secret", body = PostbackSecretOut), Refusals),
    security(("bearer" = [])))]
pub async fn rotate_postback_secret(
    State(state): State<AppState>,
    Auth(user): Auth,
) -> Result<Json<PostbackSecretOut>, ApiError> {
    let secret = state.use_cases.postbacks.rotate(&user).await?;
    Ok(Json(PostbackSecretOut { secret: secret.expose().to_owned() }))
}
