//! Inbound use cases: one service per resource, each a thin layer of rules over the
//! ports. REST and gRPC call these and nothing else, so a rule is written once.

pub mod access;
mod api_keys;
mod collections;
pub mod console;
pub mod handoff;
pub mod health;
pub mod idempotency;
mod outputs;
pub mod pipeline;
pub mod postbacks;
pub mod purge;
pub mod rate_limits;
pub mod retention;
pub mod scheduler;
mod sources;
mod spaces;
mod uploads;

use std::sync::Arc;

pub use api_keys::{ApiKeyService, NewApiKey};
pub use collections::{CollectionPatch, CollectionService, NewCollection};
pub use outputs::{Content, ContentFormat, ListedRevision, OutputService, RevisionDiff};
pub use sources::{
    FastForwardRequest, NewSource, RefreshPolicyInput, RefreshRequest, ReprocessRequest, SourcePatch, SourceService,
    SourceWatch, event_id,
};
pub use spaces::{SpaceInput, SpaceService};
pub use uploads::{
    NewUpload, PresignedUpload, ReceivedUpload, UploadService, UploadSettings, UploadSignature, UploadTarget,
};

use crate::ports::{
    ApiKeyRepository, ArtifactRepository, BlobStore, Clock, CollectionRepository, IdempotencyStore, PostbackStore,
    RevisionRepository, RunQueue, SourceEvents, SourceRepository, SpaceRepository, UploadRepository, UserRepository,
};

/// Rules that operators configure.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest inline CONTENT accepted, in bytes.
    pub max_content_bytes: usize,
    /// Shortest INTERVAL refresh policy.
    pub min_refresh_interval_seconds: u64,
    /// Whether `http://` postback targets are accepted (local development).
    pub allow_http_postbacks: bool,
    /// Whether postback URLs may name loopback and private addresses (development and
    /// tests; `fetch.allow_private_networks`).
    pub allow_private_postbacks: bool,
    /// Waits before each postback retry; after the last one, delivery gives up.
    pub postback_retry_delays: Vec<std::time::Duration>,
    pub uploads: UploadSettings,
    /// How deep collections may nest (a top-level collection is at depth 1).
    pub max_collection_depth: usize,
    /// How many of a source's latest revisions keep their content.
    pub retain_revisions: u32,
    /// How long a soft-deleted source stays restorable before the purge takes it.
    pub deleted_grace: chrono::Duration,
    /// How long a web console sign-in lasts (never past its key's expiry).
    pub console_session_ttl: chrono::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_content_bytes: 10 * 1024 * 1024,
            min_refresh_interval_seconds: 60,
            allow_http_postbacks: false,
            allow_private_postbacks: false,
            postback_retry_delays: crate::model::DEFAULT_RETRY_DELAYS_SECONDS
                .iter()
                .map(|s| std::time::Duration::from_secs(*s))
                .collect(),
            uploads: UploadSettings::default(),
            max_collection_depth: crate::model::collection::DEFAULT_MAX_DEPTH,
            retain_revisions: 20,
            deleted_grace: chrono::Duration::days(30),
            console_session_ttl: chrono::Duration::hours(12),
        }
    }
}

/// Every outbound port, as the composition root hands them over.
#[derive(Clone)]
pub struct Ports {
    pub users: Arc<dyn UserRepository>,
    pub api_keys: Arc<dyn ApiKeyRepository>,
    pub spaces: Arc<dyn SpaceRepository>,
    pub collections: Arc<dyn CollectionRepository>,
    pub sources: Arc<dyn SourceRepository>,
    pub runs: Arc<dyn RunQueue>,
    pub uploads: Arc<dyn UploadRepository>,
    pub revisions: Arc<dyn RevisionRepository>,
    pub artifacts: Arc<dyn ArtifactRepository>,
    pub events: Arc<dyn SourceEvents>,
    pub blobs: Arc<dyn BlobStore>,
    pub postbacks: Arc<dyn PostbackStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub clock: Arc<dyn Clock>,
    /// This process's idle workers, which take accepted runs without a claim.
    pub handoff: handoff::Handoff,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

/// All use cases, built once and shared by the transports. Cloning it is one
/// reference count: every request clones the transports' state, and copying each
/// service's ports (an `Arc` per port) took ~5% of a refresh's CPU in the hot path.
#[derive(Debug, Clone)]
pub struct UseCases(Arc<UseCaseSet>);

/// The services behind [`UseCases`].
#[derive(Debug)]
pub struct UseCaseSet {
    pub api_keys: ApiKeyService,
    pub spaces: SpaceService,
    pub collections: CollectionService,
    pub sources: SourceService,
    pub outputs: OutputService,
    pub postbacks: postbacks::PostbackService,
    pub idempotency: idempotency::IdempotencyService,
    pub uploads: UploadService,
    pub console: console::ConsoleSessions,
}

impl std::ops::Deref for UseCases {
    type Target = UseCaseSet;

    fn deref(&self) -> &UseCaseSet {
        &self.0
    }
}

impl UseCases {
    pub fn new(ports: Ports, limits: Limits) -> Self {
        Self(Arc::new(UseCaseSet {
            api_keys: ApiKeyService::new(ports.clone()),
            spaces: SpaceService::new(ports.clone()),
            collections: CollectionService::new(ports.clone(), limits.max_collection_depth),
            outputs: OutputService::new(ports.clone(), limits.retain_revisions),
            idempotency: idempotency::IdempotencyService::new(ports.idempotency.clone(), ports.clock.clone()),
            postbacks: postbacks::PostbackService::new(
                ports.postbacks.clone(),
                ports.clock.clone(),
                limits.postback_retry_delays.clone(),
            ),
            uploads: UploadService::new(ports.clone(), limits.uploads.clone()),
            console: console::ConsoleSessions::new(
                ports.clone(),
                &limits.uploads.signing_key,
                limits.console_session_ttl,
            ),
            sources: SourceService::new(ports, limits),
        }))
    }
}

#[cfg(test)]
pub(crate) mod test_ports {
    //! Mock ports for the use-case unit tests.

    use std::sync::Arc;

    use chrono::{DateTime, TimeZone, Utc};

    use super::Ports;
    use crate::ports::*;

    /// A feed that never says anything.
    pub(crate) struct NoEvents;

    impl SourceEvents for NoEvents {
        fn subscribe(&self) -> futures_util::stream::BoxStream<'static, SourceChange> {
            Box::pin(futures_util::stream::empty())
        }
    }

    pub(crate) fn fixed_now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
    }

    /// Mocks with no expectations: a test sets the ones it needs, and any other call
    /// fails the test.
    #[derive(Default)]
    pub(crate) struct Mocks {
        pub users: MockUserRepository,
        pub api_keys: MockApiKeyRepository,
        pub spaces: MockSpaceRepository,
        pub collections: MockCollectionRepository,
        pub sources: MockSourceRepository,
        pub runs: MockRunQueue,
        pub uploads: MockUploadRepository,
        pub revisions: MockRevisionRepository,
        pub artifacts: MockArtifactRepository,
        pub blobs: MockBlobStore,
        pub postbacks: MockPostbackStore,
        pub idempotency: MockIdempotencyStore,
    }

    impl Mocks {
        pub(crate) fn into_ports(self) -> Ports {
            let mut clock = MockClock::new();
            clock.expect_now().returning(fixed_now);
            Ports {
                users: Arc::new(self.users),
                api_keys: Arc::new(self.api_keys),
                spaces: Arc::new(self.spaces),
                collections: Arc::new(self.collections),
                sources: Arc::new(self.sources),
                runs: Arc::new(self.runs),
                uploads: Arc::new(self.uploads),
                revisions: Arc::new(self.revisions),
                artifacts: Arc::new(self.artifacts),
                events: Arc::new(NoEvents),
                blobs: Arc::new(self.blobs),
                postbacks: Arc::new(self.postbacks),
                idempotency: Arc::new(self.idempotency),
                clock: Arc::new(clock),
                handoff: super::handoff::Handoff::new(),
            }
        }
    }
}
