//! `/v1/postback-secret`: the key that signs the caller's postbacks.

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    AppState,
    error::{ApiError, Refusals},
    extract::Auth,
};

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
