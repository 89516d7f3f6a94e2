//! Authentication and per-user rate limits for every `/v1` route, in one middleware:
//! it resolves the API key, counts the request against the user's plan, adds the
//! `X-RateLimit-*` headers to the response, and answers 401 or 429 itself.
//!
//! The limiter itself is the domain's (shared with gRPC, and on Postgres with every
//! replica).

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{AppState, error::ApiError};

pub use ctxd_domain::services::rate_limits::{Decision, RateLimiter, RateLimits};

fn add_headers(response: &mut Response, decision: Decision) {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset_seconds));
}

/// Authenticates `/v1` requests and applies the rate limit; other paths pass through.
/// A `PUT` to ctxd's upload URL: its signature, checked by the use case, is the
/// credential (as with an S3 presigned URL), so it needs no API key.
fn is_signed_upload(request: &Request) -> bool {
    request.method() == Method::PUT && request.uri().path().starts_with("/v1/files/")
}

pub async fn middleware(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/v1/") || is_signed_upload(&request) {
        return next.run(request).await;
    }
    let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(secret) = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))) else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "Authentication required. Please provide a valid API token")
            .into_response();
    };
    let user = match state.use_cases.api_keys.authenticate(secret.trim()).await {
        Ok(user) => user,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let decision = match state.rate_limiter.check(user.id, user.plan, chrono::Utc::now()).await {
        Ok(decision) => decision,
        Err(error) => return ApiError::from(error).into_response(),
    };
    if !decision.allowed {
        let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, decision.refusal())
            .with_retry_after(decision.retry_after_seconds)
            .into_response();
        add_headers(&mut response, decision);
        return response;
    }
    request.extensions_mut().insert(user);
    let mut response = next.run(request).await;
    add_headers(&mut response, decision);
    response
}
