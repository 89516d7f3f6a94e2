//! axum adapter: the `/v1` REST API (wire-compatible with Ctxfy's and extending it),
//! authentication, the contract's error shape, `X-Request-Id`, and the OpenAPI
//! document generated from the handlers themselves.

pub mod access;
pub mod dto;
pub mod error;
pub mod extract;
pub mod listener;
pub mod material;
pub mod metrics;
pub mod query_guard;
pub mod request_id;
pub mod routes;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use ctxd_domain::services::{UseCases, health::Health};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub use_cases: UseCases,
    pub health: Health,
    /// The one door of every `/v1` request (shared with gRPC).
    pub gate: Arc<ctxd_domain::services::access::AccessGate>,
    pub metrics: Arc<ctxd_telemetry::Metrics>,
    pub queue: Arc<dyn ctxd_domain::ports::RunQueue>,
    /// Cancelled when the server stops: open event streams end, so a graceful
    /// shutdown does not wait for clients that follow a source.
    pub stopping: tokio_util::sync::CancellationToken,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Settings the REST adapter needs from the binary's configuration.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// Largest request body accepted, in bytes (413 above it). Uploads to ctxd's
    /// signed URL are streamed and limited by their declared size instead.
    pub max_body_bytes: usize,
    pub rate_limits: ctxd_domain::services::rate_limits::RateLimits,
    /// The address clients reach ctxd at, for the upload URLs it hands out; default:
    /// taken from each request's `Host`.
    pub public_url: Option<url::Url>,
    /// Whether `X-Forwarded-Proto`/`X-Forwarded-Host` come from a proxy ctxd trusts.
    pub trust_forwarded: bool,
}

/// [`RestConfig::public_url`] and [`RestConfig::trust_forwarded`], for the handlers
/// that build absolute URLs.
#[derive(Debug, Clone)]
pub struct PublicUrl {
    pub configured: Option<url::Url>,
    pub trust_forwarded: bool,
}

impl Default for RestConfig {
    fn default() -> Self {
        // Inline CONTENT may be 10 MiB; JSON escaping can grow it, so leave headroom.
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            rate_limits: ctxd_domain::services::rate_limits::RateLimits::default(),
            public_url: None,
            trust_forwarded: false,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ctxd",
        description = "Self-hostable context service: sources in, compact context and typed artifacts out, kept fresh. \
                       Wire-compatible with the Ctxfy API.",
    ),
    modifiers(&BearerAuth),
    components(schemas(error::ErrorBody)),
    tags(
        (name = "spaces"), (name = "collections"), (name = "sources"), (name = "runs"), (name = "revisions"),
        (name = "postbacks"), (name = "uploads"), (name = "api-keys"), (name = "operations"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Every documented route, with its OpenAPI description.
fn api_router() -> OpenApiRouter<AppState> {
    use routes::{
        api_keys::*, collections::*, events::*, operations::*, outputs::*, postbacks::*, sources::*, spaces::*,
        uploads::*,
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(create_space, list_spaces))
        .routes(routes!(get_space, replace_space, delete_space))
        .routes(routes!(create_collection, collection_tree))
        .routes(routes!(update_collection, delete_collection))
        .routes(routes!(create_source, list_sources))
        .routes(routes!(get_source, update_source, delete_source))
        .routes(routes!(restore_source))
        .routes(routes!(toggle_pin))
        .routes(routes!(cancel_source))
        .routes(routes!(refresh_source))
        .routes(routes!(reprocess_source))
        .routes(routes!(fast_forward_source))
        .routes(routes!(source_events))
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(list_revisions))
        .routes(routes!(get_revision))
        .routes(routes!(get_context))
        .routes(routes!(get_content))
        .routes(routes!(get_revision_content))
        .routes(routes!(diff_revisions))
        .routes(routes!(list_source_artifacts))
        .routes(routes!(get_artifact))
        .routes(routes!(search_artifacts))
        .routes(routes!(get_postback_secret))
        .routes(routes!(rotate_postback_secret))
        .routes(routes!(list_postbacks))
        .routes(routes!(presign_upload))
        .routes(routes!(put_file, get_file))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(health))
}

/// The generated OpenAPI 3.1 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

/// The whole HTTP application: API routes, `/openapi.json`, the docs page at `/docs`,
/// and the cross-cutting layers.
pub fn router(state: AppState, config: &RestConfig) -> Router {
    let (api, openapi) = api_router().split_for_parts();
    let openapi = Arc::new(openapi);
    let spec = openapi.clone();
    let metrics = state.metrics.clone();
    let declared = Arc::new(query_guard::DeclaredQueries::from_openapi(&openapi));
    api.route_layer(middleware::from_fn_with_state(declared, query_guard::middleware))
        .route("/openapi.json", get(move || async move { Json(spec.as_ref().clone()) }))
        .route("/metrics", get(metrics::render))
        .merge(SwaggerUi::new("/docs").url("/docs/openapi.json", openapi.as_ref().clone()))
        .fallback(error::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), access::middleware))
        .route_layer(middleware::from_fn_with_state(metrics, metrics::middleware))
        .with_state(state)
        .layer(axum::Extension(PublicUrl {
            configured: config.public_url.clone(),
            trust_forwarded: config.trust_forwarded,
        }))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CatchPanicLayer::custom(|_| panic_response()))
        .layer(middleware::from_fn(error::ensure_shape))
        .layer(middleware::from_fn(request_id::middleware))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "This method is not allowed on this route")
}

/// A panicking handler is a bug; the caller still gets the contract's 500 body.
fn panic_response() -> Response {
    tracing::error!(request_id = %request_id::current(), "handler panicked");
    ApiError::from(ctxd_domain::Error::internal("handler panicked")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_lists_every_route_of_the_api() {
        let doc = openapi();
        let paths: Vec<_> = doc.paths.paths.keys().cloned().collect();
        for expected in [
            "/v1/spaces",
            "/v1/spaces/{spaceId}",
            "/v1/spaces/{spaceId}/collections",
            "/v1/collections/{collectionId}",
            "/v1/spaces/{spaceId}/sources",
            "/v1/sources/{sourceId}",
            "/v1/sources/{sourceId}/restore",
            "/v1/sources/{sourceId}/toggle-pin",
            "/v1/sources/{sourceId}/cancel",
            "/v1/sources/{sourceId}/refresh",
            "/v1/sources/{sourceId}/reprocess",
            "/v1/sources/{sourceId}/fast-forward",
            "/v1/api-keys",
            "/v1/api-keys/{keyId}",
            "/v1/upload/s3",
            "/v1/files/{fileKey}",
            "/health",
        ] {
            assert!(paths.iter().any(|p| p == expected), "missing {expected} in {paths:?}");
        }
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["openapi"].as_str().unwrap().starts_with("3.1"));
        let source_type = &json["components"]["schemas"]["SourceCreateIn"]["properties"]["type"]["enum"];
        assert_eq!(source_type, &serde_json::json!(["URI", "FILE", "CONTENT", "COMPOSITION"]));
    }
}
