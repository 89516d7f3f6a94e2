//! The REST side of the process's metrics (`ctxd_telemetry`): a middleware that counts
//! every request by route template, method and status with its latency, and
//! `GET /metrics`, the Prometheus text of everything the process counted.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use ctxd_telemetry::Metrics;

use crate::AppState;

/// Records every request against its route template (not the raw path, so ids do
/// not explode the label set).
pub async fn middleware(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.http_request(&route, &method, response.status().as_str(), started.elapsed().as_secs_f64());
    response
}

/// The Prometheus text exposition, with the queue depth read now.
pub async fn render(State(state): State<AppState>) -> Response {
    match state.queue.depth().await {
        Ok(depth) => state.metrics.set_queue_depth(depth),
        Err(error) => tracing::warn!(%error, "metrics: queue depth unavailable"),
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
