//! `GET /metrics`: Prometheus text with HTTP requests by route and status, their
//! latency, runs finished by kind and outcome, URI fetches by result (304s among
//! them) with their body bytes, and the queue depth.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::AppState;

/// The process's metrics, shared by the HTTP layer and the workers.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    runs_finished: IntCounterVec,
    fetches: IntCounterVec,
    fetch_body_bytes: IntCounter,
    queue_depth: IntGauge,
}

/// What a URI fetch came to, as `ctxd_fetches_total` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchResult {
    /// The origin sent a body.
    Fetched,
    /// 304: the last revision is still current.
    NotModified,
    /// 404 or 410.
    Gone,
    Failed,
}

impl FetchResult {
    fn label(self) -> &'static str {
        match self {
            Self::Fetched => "fetched",
            Self::NotModified => "not_modified",
            Self::Gone => "gone",
            Self::Failed => "failed",
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("ctxd_http_requests_total", "HTTP requests by route, method and status"),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new("ctxd_http_request_duration_seconds", "HTTP request latency by route and method"),
            &["route", "method"],
        )
        .expect("valid metric");
        let runs_finished = IntCounterVec::new(
            Opts::new("ctxd_runs_finished_total", "Runs finished in this process by kind, status and outcome"),
            &["kind", "status", "outcome"],
        )
        .expect("valid metric");
        let fetches = IntCounterVec::new(
            Opts::new("ctxd_fetches_total", "URI fetches by result: fetched, not_modified (304), gone, failed"),
            &["result"],
        )
        .expect("valid metric");
        let fetch_body_bytes =
            IntCounter::new("ctxd_fetch_body_bytes_total", "Body bytes of fetched URIs, after decompression")
                .expect("valid metric");
        let queue_depth = IntGauge::new("ctxd_queue_depth", "Runs waiting in the queue").expect("valid metric");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(runs_finished.clone()),
            Box::new(fetches.clone()),
            Box::new(fetch_body_bytes.clone()),
            Box::new(queue_depth.clone()),
        ] {
            registry.register(collector).expect("each metric is registered once");
        }
        Self { registry, http_requests, http_duration, runs_finished, fetches, fetch_body_bytes, queue_depth }
    }

    /// Counts a finished run.
    pub fn run_finished(&self, kind: &str, status: &str, outcome: Option<&str>) {
        self.runs_finished.with_label_values(&[kind, status, outcome.unwrap_or("none")]).inc();
    }

    /// Counts a URI fetch and the body bytes it brought.
    pub fn fetch_finished(&self, result: FetchResult, body_bytes: u64) {
        self.fetches.with_label_values(&[result.label()]).inc();
        self.fetch_body_bytes.inc_by(body_bytes);
    }

    fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}

/// Records every request against its route template (not the raw path, so ids do
/// not explode the label set).
pub async fn middleware(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .http_duration
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    metrics.http_requests.with_label_values(&[route.as_str(), method.as_str(), response.status().as_str()]).inc();
    response
}

/// The Prometheus text exposition.
pub async fn render(State(state): State<AppState>) -> Response {
    match state.queue.depth().await {
        Ok(depth) => state.metrics.queue_depth.set(i64::try_from(depth).unwrap_or(i64::MAX)),
        Err(error) => tracing::warn!(%error, "metrics: queue depth unavailable"),
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
