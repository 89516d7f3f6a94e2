//! The contract's error shape, and the one place where a domain error kind becomes an
//! HTTP status.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use ctxd_domain::{Error, ErrorKind, FieldError, services::rate_limits::Decision};
use serde::Serialize;
use utoipa::ToSchema;

use crate::request_id;

/// `{ error, message, code, details?, requestId }`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The HTTP reason phrase.
    #[schema(example = "Bad Request")]
    pub error: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The HTTP status code.
    #[schema(example = 400)]
    pub code: u16,
    /// One entry per invalid field (validation errors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
    #[serde(rename = "requestId")]
    pub request_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Path of the field (`initial_data.url`) or name of the parameter.
    pub field: String,
    pub message: String,
}

/// Any error a handler returns.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    pub(crate) details: Vec<FieldError>,
    retry_after: Option<u64>,
    /// The caller's rate-limit standing, for the `X-RateLimit-*` headers of a 429.
    limits: Option<Decision>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), details: Vec::new(), retry_after: None, limits: None }
    }

    /// A 400 naming one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::from(Error::invalid(field, message))
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "The requested resource was not found")
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// The single mapping of error kinds to HTTP statuses.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let status = status_of(error.kind());
        // Infrastructure failures are logged with their cause; the caller gets a fixed
        // sentence and the request id to quote.
        match &error {
            Error::Internal(cause) => {
                tracing::error!(request_id = %request_id::current(), error = %cause, "internal error");
            }
            Error::Unavailable(cause) => {
                tracing::warn!(request_id = %request_id::current(), error = %cause, "dependency unavailable");
            }
            _ => {}
        }
        let message = error.public_message();
        let details = error.details().to_vec();
        let limits = match &error {
            Error::RateLimited(decision) => Some(*decision),
            _ => None,
        };
        Self { status, message, details, retry_after: limits.map(|d| d.retry_after_seconds), limits }
    }
}

impl ApiError {
    /// The contract's error body, quoting `request_id`.
    pub(crate) fn body(&self, request_id: String) -> ErrorBody {
        ErrorBody {
            error: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            message: self.message.clone(),
            code: self.status.as_u16(),
            details: (!self.details.is_empty()).then(|| {
                self.details
                    .iter()
                    .map(|d| ErrorDetail { field: d.field.clone(), message: d.message.clone() })
                    .collect()
            }),
            request_id,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body(request_id::current());
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(limits) = self.limits {
            crate::access::add_limit_headers(response.headers_mut(), limits);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Gives every error answer the contract's JSON shape. Handlers and extractors of
/// this crate already do; this catches the answers written by the framework itself
/// (a path segment whose percent-escapes are not UTF-8, for one), which come as
/// plain text. Their text becomes the message; `Allow` and `Retry-After` stay.
pub async fn ensure_shape(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("Error").to_owned() } else { text };
    let mut shaped = ApiError::new(status, message).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    shaped
}

/// The error answers routes share, each documented once, for `responses(...)` in the
/// routes' `#[utoipa::path]` (next to their success answer and any error of their own).
macro_rules! documented_errors {
    ($($(#[$doc:meta])* $name:ident => [$(($status:literal, $description:literal)),+ $(,)?];)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
                use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, ResponsesBuilder};
                let error = || {
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build()
                };
                ResponsesBuilder::new()
                    $(.response($status, ResponseBuilder::new().description($description).content("application/json", error())))+
                    .build()
                    .into()
            }
        }
    )*};
}

documented_errors! {
    /// What any route behind an API key can answer besides its own.
    Refusals => [
        ("401", "Missing, invalid, expired or revoked API key"),
        ("429", "Over the plan's rate limit; `Retry-After` says when to retry"),
        ("500", "A bug; the `requestId` identifies it in the logs"),
        ("503", "The database or the object store is unavailable; retry later"),
    ];
    /// A 400 with one `details` entry per bad field.
    BadRequest => [("400", "Invalid input; `details` names each bad field")];
    /// A 404 for what is missing, deleted or another user's (indistinguishable).
    NotFound => [("404", "Not found, deleted, or not yours")];
    /// A 409 for an action the resource's state does not allow.
    Conflict => [("409", "Not allowed in the current state")];
}

/// Unknown paths get the contract's 404 body too.
pub async fn fallback() -> ApiError {
    ApiError::not_found()
}
