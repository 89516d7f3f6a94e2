//! The REST side of the access gate (`ctxd_domain::services::access`): every `/v1`
//! request goes through it in one middleware, which hands the user to the handlers and
//! adds the `X-RateLimit-*` headers; refusals are the gate's errors, mapped to
//! 401/429 by the one error table like every other error.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use ctxd_domain::services::rate_limits::Decision;

use crate::{AppState, error::ApiError};

/// Adds the rate-limit headers of `decision` to `headers`.
pub(crate) fn add_limit_headers(headers: &mut HeaderMap, decision: Decision) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset_seconds));
}

/// A `PUT` to ctxd's upload URL: its signature, checked by the use case, is the
/// credential (as with an S3 presigned URL), so it needs no API key.
fn is_signed_upload(request: &Request) -> bool {
    request.method() == Method::PUT && request.uri().path().starts_with("/v1/files/")
}

/// Lets `/v1` requests through the gate; other paths pass as they are.
pub async fn middleware(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/v1/") || is_signed_upload(&request) {
        return next.run(request).await;
    }
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let admitted = match state.gate.admit(authorization, chrono::Utc::now()).await {
        Ok(admitted) => admitted,
        Err(error) => return ApiError::from(error).into_response(),
    };
    request.extensions_mut().insert(admitted.user);
    let mut response = next.run(request).await;
    add_limit_headers(response.headers_mut(), admitted.limits);
    response
}
