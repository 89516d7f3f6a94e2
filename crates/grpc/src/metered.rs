//! Counts every gRPC call into the process's metrics (`ctxd_grpc_requests_total` by
//! method and status code, `ctxd_grpc_request_duration_seconds` by method), as a tower
//! layer around all services.
//!
//! The code is read from the answer's head: tonic writes a failure as a trailers-only
//! answer, `grpc-status` among the headers, and a unary call that succeeds carries no
//! `grpc-status` there (it follows in the trailers) and counts as `Ok`. A stream that
//! fails after its first message counts as `Ok` too, and its latency is the time to
//! its first message: reading the trailers would mean wrapping every answer's body.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use ctxd_telemetry::Metrics;
use futures_util::future::BoxFuture;
use tonic::Code;

/// The layer: every service of the server, metered into `metrics`.
#[derive(Debug, Clone)]
pub struct MeteredLayer(pub Arc<Metrics>);

impl<S> tower::Layer<S> for MeteredLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metered { inner, metrics: self.0.clone() }
    }
}

#[derive(Debug, Clone)]
pub struct Metered<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, Body, Answer> tower::Service<http::Request<Body>> for Metered<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Answer>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let started = Instant::now();
        let answer = self.inner.call(request);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let response = answer.await?;
            metrics.grpc_request(&method, code_name(&response), started.elapsed().as_secs_f64());
            Ok(response)
        })
    }
}

/// The status code of an answer as its head says it (see the module documentation).
fn code_name<B>(response: &http::Response<B>) -> &'static str {
    let code = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(Code::Ok, Code::from);
    match code {
        Code::Ok => "Ok",
        Code::Cancelled => "Cancelled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_comes_from_the_head_or_is_ok() {
        let failed = http::Response::builder().header("grpc-status", "5").body(()).unwrap();
        assert_eq!(code_name(&failed), "NotFound");
        assert_eq!(code_name(&http::Response::new(())), "Ok");
    }
}
