//! A URI fetcher that counts what its origins answered (`ctxd_fetches_total`,
//! `ctxd_fetch_body_bytes_total`): a decorator on the port, so neither the domain nor
//! the HTTP fetcher knows about metrics.

use std::sync::Arc;

use async_trait::async_trait;
use ctxd_domain::ports::{Conditional, FetchError, FetchOutcome, UriFetcher};
use ctxd_telemetry::{FetchResult, Metrics};
use url::Url;

#[derive(Debug)]
pub struct MeteredFetcher<F> {
    inner: F,
    metrics: Arc<Metrics>,
}

impl<F> MeteredFetcher<F> {
    pub fn new(inner: F, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl<F: UriFetcher> UriFetcher for MeteredFetcher<F> {
    async fn fetch(&self, url: &Url, conditional: &Conditional) -> Result<FetchOutcome, FetchError> {
        let outcome = self.inner.fetch(url, conditional).await;
        let (result, bytes) = match &outcome {
            Ok(FetchOutcome::Fetched { bytes, .. }) => (FetchResult::Fetched, bytes.len() as u64),
            Ok(FetchOutcome::NotModified) => (FetchResult::NotModified, 0),
            Ok(FetchOutcome::Gone { .. }) => (FetchResult::Gone, 0),
            Err(_) => (FetchResult::Failed, 0),
        };
        self.metrics.fetch_finished(result, bytes);
        outcome
    }
}
