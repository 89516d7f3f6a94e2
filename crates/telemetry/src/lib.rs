//! The process's metrics (Prometheus): HTTP and gRPC requests with their latency, runs
//! finished by this process's workers, URI fetches with their body bytes, and the
//! queue depth. Every part of a process counts into the one [`Metrics`]: the REST and
//! gRPC adapters, the workers, the fetch decorator; `GET /metrics` renders it.
//!
//! A crate of its own so that none of them depends on another to count: `ctxd worker`
//! builds no REST type to record a run.

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// The process's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    grpc_requests: IntCounterVec,
    grpc_duration: HistogramVec,
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

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn histogram(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    HistogramVec::new(HistogramOpts::new(name, help), labels).expect("valid metric")
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = counter(
            "ctxd_http_requests_total",
            "HTTP requests by route, method and status",
            &["route", "method", "status"],
        );
        let http_duration = histogram(
            "ctxd_http_request_duration_seconds",
            "HTTP request latency by route and method",
            &["route", "method"],
        );
        let grpc_requests =
            counter("ctxd_grpc_requests_total", "gRPC calls by method and status code", &["method", "code"]);
        let grpc_duration = histogram(
            "ctxd_grpc_request_duration_seconds",
            "gRPC call latency by method (to the end of the answer)",
            &["method"],
        );
        let runs_finished = counter(
            "ctxd_runs_finished_total",
            "Runs finished in this process by kind, status and outcome",
            &["kind", "status", "outcome"],
        );
        let fetches = counter(
            "ctxd_fetches_total",
            "URI fetches by result: fetched, not_modified (304), gone, failed",
            &["result"],
        );
        let fetch_body_bytes =
            IntCounter::new("ctxd_fetch_body_bytes_total", "Body bytes of fetched URIs, after decompression")
                .expect("valid metric");
        let queue_depth = IntGauge::new("ctxd_queue_depth", "Runs waiting in the queue").expect("valid metric");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(grpc_requests.clone()),
            Box::new(grpc_duration.clone()),
            Box::new(runs_finished.clone()),
            Box::new(fetches.clone()),
            Box::new(fetch_body_bytes.clone()),
            Box::new(queue_depth.clone()),
        ] {
            registry.register(collector).expect("each metric is registered once");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            grpc_requests,
            grpc_duration,
            runs_finished,
            fetches,
            fetch_body_bytes,
            queue_depth,
        }
    }

    /// Counts an HTTP request by its route template (never the raw path, so ids do not
    /// explode the label set).
    pub fn http_request(&self, route: &str, method: &str, status: &str, seconds: f64) {
        self.http_duration.with_label_values(&[route, method]).observe(seconds);
        self.http_requests.with_label_values(&[route, method, status]).inc();
    }

    /// Counts a gRPC call by its full method name and status code name.
    pub fn grpc_request(&self, method: &str, code: &str, seconds: f64) {
        self.grpc_duration.with_label_values(&[method]).observe(seconds);
        self.grpc_requests.with_label_values(&[method, code]).inc();
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

    pub fn set_queue_depth(&self, depth: u64) {
        self.queue_depth.set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_count_appears_in_the_exposition() {
        let metrics = Metrics::new();
        metrics.http_request("/v1/spaces", "GET", "200", 0.01);
        metrics.grpc_request("/ctxd.v1.SpacesService/ListSpaces", "Ok", 0.01);
        metrics.run_finished("REFRESH", "COMPLETED", Some("UNCHANGED"));
        metrics.fetch_finished(FetchResult::NotModified, 0);
        metrics.set_queue_depth(3);
        let text = metrics.render();
        for expected in [
            r#"ctxd_http_requests_total{method="GET",route="/v1/spaces",status="200"} 1"#,
            r#"ctxd_grpc_requests_total{code="Ok",method="/ctxd.v1.SpacesService/ListSpaces"} 1"#,
            r#"ctxd_runs_finished_total{kind="REFRESH",outcome="UNCHANGED",status="COMPLETED"} 1"#,
            r#"ctxd_fetches_total{result="not_modified"} 1"#,
            "ctxd_queue_depth 3",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }
}
