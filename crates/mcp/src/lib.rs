//! The MCP transport (rmcp): ctxd's context and artifacts as tools, resources and a
//! prompt for AI assistants, over the same use cases as REST and gRPC. Streamable
//! HTTP at `/mcp` on the REST listener (each request let in by the access gate, like
//! every `/v1` request) and stdio for local clients (`ctxd mcp`).

mod args;
mod errors;
mod render;
pub mod resources;
mod server;
pub mod tools;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use ctxd_domain::{
    Error,
    model::User,
    services::{UseCases, access::AccessGate},
};
use rmcp::{
    ServiceExt,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};
pub use server::{CtxdMcp, Identity, PACK_CONTEXT};
use tokio_util::sync::CancellationToken;

/// How the Streamable HTTP endpoint is bounded.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Most sessions (of clients before protocol 2026-07-28, which keep one) at once;
    /// a new session over it is refused with 503.
    pub max_sessions: usize,
    /// A session idle this long is closed.
    pub idle_timeout: Duration,
    /// `Host` values accepted besides loopback ones (DNS rebinding protection).
    pub allowed_hosts: Vec<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_sessions: 1000,
            idle_timeout: Duration::from_secs(600),
            allowed_hosts: Vec::new(),
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What the gate needs per request.
#[derive(Clone)]
struct Door {
    gate: Arc<AccessGate>,
    sessions: Arc<LocalSessionManager>,
    max_sessions: usize,
}

/// `/mcp`, to merge into the REST router. Open streams and sessions end when
/// `stopping` is cancelled.
pub fn router(
    use_cases: UseCases,
    gate: Arc<AccessGate>,
    settings: &HttpSettings,
    stopping: CancellationToken,
) -> Router {
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(settings.idle_timeout);
    let sessions = Arc::new(sessions);
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned(), "[::1]".to_owned()];
    hosts.extend(settings.allowed_hosts.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_max_request_body_bytes(settings.max_body_bytes)
        .with_cancellation_token(stopping.child_token());
    let handler = CtxdMcp::new(use_cases, Identity::PerRequest, stopping);
    let service = StreamableHttpService::new(move || Ok(handler.for_session()), sessions.clone(), config);
    let door = Door { gate, sessions, max_sessions: settings.max_sessions };
    Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn_with_state(door, admit))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
}

/// Lets a request in through the access gate (the same `Authorization: Bearer` API
/// keys, rate limit and refusals as REST: 401 with `WWW-Authenticate`, 429 with
/// `Retry-After`), refuses a new session over the bound, and leaves the user in the
/// request's extensions for the handler.
async fn admit(State(door): State<Door>, mut request: Request, next: Next) -> Response {
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let admitted = match door.gate.admit(authorization, chrono::Utc::now()).await {
        Ok(admitted) => admitted,
        Err(error) => return refusal(error),
    };
    let opens_session = request.method() == Method::POST && !request.headers().contains_key("mcp-session-id");
    if opens_session && door.sessions.sessions.read().await.len() >= door.max_sessions {
        let body = serde_json::json!({"error": "too many MCP sessions open; close one or retry later"});
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], axum::Json(body)).into_response();
    }
    request.extensions_mut().insert::<User>(admitted.user);
    let closes_session = request.method() == Method::DELETE;
    let mut response = next.run(request).await;
    // rmcp answers a closed session 202; the MCP Python SDK counts only 200 and 204
    // as a session ended and logs "Session termination failed" for anything else.
    // Nothing is left to accept later: the session is gone, so 204 says it.
    if closes_session && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

fn refusal(error: Error) -> Response {
    let status = errors::http_status(error.kind());
    let body = serde_json::json!({"error": error.public_message(), "code": status.as_u16()});
    let mut response = (status, axum::Json(body)).into_response();
    match &error {
        Error::Unauthenticated(_) => {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Error::RateLimited(decision) => {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(decision.retry_after_seconds));
        }
        _ => {}
    }
    response
}

/// Serves MCP on stdin/stdout for `user` until the client closes the streams or
/// `stopping` is cancelled. Nothing else may write to stdout meanwhile.
///
/// # Errors
/// When the session cannot start (the client never initialized) or ends abnormally.
pub async fn serve_stdio(
    use_cases: UseCases,
    user: User,
    stopping: CancellationToken,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let handler = CtxdMcp::new(use_cases, Identity::Fixed(user), stopping.clone());
    let running = handler.serve_with_ct(rmcp::transport::stdio(), stopping.child_token()).await?;
    running.waiting().await?;
    Ok(())
}
