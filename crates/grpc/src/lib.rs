//! The gRPC transport (tonic): the same use cases as REST, converted at the edge.

/// Code generated from `proto/ctxd/v1`.
pub mod pb {
    #![allow(missing_debug_implementations, unused_qualifications, clippy::all)]
    tonic::include_proto!("ctxd.v1");

    /// The descriptor set, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("ctxd_descriptor");
}

mod convert;
mod metered;
mod services;
mod watch;

use std::{sync::Arc, time::Duration};

use ctxd_domain::services::{UseCases, access::AccessGate, health::Health};
pub use services::Api;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic_health::ServingStatus;

/// Serves every ctxd service, `grpc.health.v1.Health` (SERVING while the database
/// answers) and server reflection on `listener`, each call counted into `metrics`,
/// until `stopping` is cancelled; calls in
/// flight are finished first, and watches end.
///
/// # Errors
/// When the server cannot run (reflection setup, transport failure).
pub async fn serve(
    listener: TcpListener,
    use_cases: UseCases,
    gate: Arc<AccessGate>,
    health: Health,
    metrics: Arc<ctxd_telemetry::Metrics>,
    stopping: CancellationToken,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let api = Api::new(use_cases, gate, stopping.clone());
    let (reporter, health_service) = tonic_health::server::health_reporter();
    // Both reflection versions: grpcurl and current clients speak v1; Python's
    // grpcio-reflection, older grpcurl and several GUI clients only v1alpha. The health
    // service is registered too, so listings show it.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let (reflection_v1, reflection_v1alpha) = (reflection().build_v1()?, reflection().build_v1alpha()?);
    let watcher = tokio::spawn(async move {
        // The overall status ("") follows the dependencies (database, object store),
        // checked every few seconds.
        loop {
            let status = if health.is_ready().await { ServingStatus::Serving } else { ServingStatus::NotServing };
            reporter.set_service_status("", status).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });
    let result = Server::builder()
        .layer(metered::MeteredLayer(metrics))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(pb::spaces_service_server::SpacesServiceServer::new(api.clone()))
        .add_service(pb::collections_service_server::CollectionsServiceServer::new(api.clone()))
        .add_service(pb::sources_service_server::SourcesServiceServer::new(api.clone()))
        .add_service(pb::artifacts_service_server::ArtifactsServiceServer::new(api.clone()))
        .add_service(pb::api_keys_service_server::ApiKeysServiceServer::new(api))
        .serve_with_incoming_shutdown(incoming(listener), stopping.cancelled_owned())
        .await;
    watcher.abort();
    result.map_err(Into::into)
}

/// The accepted connections, each with Nagle's algorithm off. tonic sets `TCP_NODELAY`
/// only on listeners it binds itself; without it a response written in two parts
/// waits for the client's delayed ACK, about 40 ms (seen as the p99 of `bench grpc`).
fn incoming(listener: TcpListener) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt as _;
    TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        // Not an accept error: tonic stops serving on some of those, and a connection
        // that cannot take the option fails on its own soon enough.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "gRPC connection without TCP_NODELAY");
        }
        Ok(stream)
    })
}
