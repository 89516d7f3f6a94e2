//! Outbound ports: what the use cases need from storage and the clock. Adapters
//! implement them; tests mock them with mockall.
//!
//! Unless a method says otherwise, every method fails with
//! [`Error::Unavailable`](crate::Error::Unavailable) when the store cannot be reached
//! and [`Error::Internal`](crate::Error::Internal) on anything unexpected. Lookups
//! return `Ok(None)` rather than an error for a missing row; deciding that this is a
//! 404 is the use case's job.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use url::Url;

use crate::{
    Result,
    ids::{ApiKeyId, ArtifactId, CollectionId, PostbackId, RunId, SourceId, SpaceId, UserId},
    model::{
        ApiKey, Artifact, ArtifactDraft, ArtifactQuery, ArtifactWrite, Collection, Context, ContextDraft,
        DeliveryFailure, Document, HttpMeta, NormalizeInput, Page, PageRequest, Postback, Revision, Run, RunStatus,
        Source, SourceType, Space, Upload, User,
    },
    state::SourceStatus,
};

/// Wall-clock time, injectable so tests can pin it.
#[cfg_attr(test, mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// # Errors
    /// [`Error::Conflict`](crate::Error::Conflict) when the name is taken.
    async fn insert(&self, user: &User) -> Result<()>;
    async fn find_by_name(&self, name: &str) -> Result<Option<User>>;
    async fn count(&self) -> Result<u64>;
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    async fn insert(&self, key: &ApiKey) -> Result<()>;
    /// The key with this SHA-256 hash and its user, revoked or not.
    async fn find_by_hash(&self, key_hash: &str) -> Result<Option<(ApiKey, User)>>;
    /// The user's keys, newest first.
    async fn list(&self, user_id: UserId, page: PageRequest) -> Result<Page<ApiKey>>;
    async fn get(&self, user_id: UserId, id: ApiKeyId) -> Result<Option<ApiKey>>;
    /// Sets `revoked_at` unless already set, and returns the stored key.
    async fn revoke(&self, user_id: UserId, id: ApiKeyId, at: DateTime<Utc>) -> Result<Option<ApiKey>>;
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait SpaceRepository: Send + Sync {
    async fn insert(&self, space: &Space) -> Result<()>;
    async fn get(&self, user_id: UserId, id: SpaceId) -> Result<Option<Space>>;
    /// The user's spaces, newest first.
    async fn list(&self, user_id: UserId, page: PageRequest) -> Result<Page<Space>>;
    /// Writes name, description and `updated_at`.
    async fn update(&self, space: &Space) -> Result<()>;
    /// Deletes the space in one transaction: the space is hidden, its collections
    /// removed, its sources soft-deleted with their queued runs canceled and running
    /// ones asked to stop; the sources' data goes with the purge
    /// ([`SourceRepository::purge`]). Returns whether a live space was there.
    async fn delete(&self, user_id: UserId, id: SpaceId, now: DateTime<Utc>) -> Result<bool>;
    /// Removes up to `limit` deleted spaces whose sources are all purged; returns how
    /// many.
    async fn purge_emptied(&self, limit: u64) -> Result<u64>;
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait CollectionRepository: Send + Sync {
    async fn insert(&self, collection: &Collection) -> Result<()>;
    async fn get(&self, user_id: UserId, id: CollectionId) -> Result<Option<Collection>>;
    /// All collections of a space, in creation order.
    async fn list_in_space(&self, space_id: SpaceId) -> Result<Vec<Collection>>;
    /// Writes name, description, parent and `updated_at`.
    async fn update(&self, collection: &Collection) -> Result<()>;
    /// Deletes the collection; in the same transaction its child collections and its
    /// sources move to its parent (or to the top level).
    async fn delete(&self, collection: &Collection) -> Result<()>;
}

/// Filters of the source list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceFilter {
    pub status: Option<SourceStatus>,
    pub source_type: Option<SourceType>,
    pub collection_id: Option<CollectionId>,
    pub pinned: Option<bool>,
    pub include_deleted: bool,
}

/// A run [`RunQueue::claim`] handed to a worker, with what it works on.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedRun {
    pub run: Run,
    /// `None` when the source is gone.
    pub subject: Option<RunSubject>,
}

/// What a claimed run works on, as the claim left it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSubject {
    /// PROCESSING, with the claimed run as its last (unless the source had moved on).
    pub source: Source,
    /// The revision the source's outputs come from, if it has one.
    pub current: Option<Revision>,
    /// The status of the source's run queued just before this one, if any: an
    /// UNCHANGED refresh needs that run to have succeeded.
    pub previous: Option<RunStatus>,
}

/// Who holds a run, and until when unless they extend it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub worker: String,
    pub until: DateTime<Utc>,
}

/// What a [`SourceRepository::save`] expects still to be stored: the source as its
/// caller read it. The status alone is not enough: a source read COMPLETED can go
/// through a whole run (PENDING, PROCESSING, COMPLETED again) before the save, and a
/// save guarded on the status alone would then queue a second run for one due time, or
/// write the read revision back over the new one. Every run a source starts changes
/// its last run, so the pair tells a source that merely looks the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub status: SourceStatus,
    pub last_run: Option<RunId>,
}

impl Expected {
    /// The guard for a save of `source` as it was read, before any change.
    #[must_use]
    pub fn read(source: &Source) -> Self {
        Self { status: source.status, last_run: source.last_run.as_ref().map(|run| run.id) }
    }
}

/// How a [`SourceRepository::save`] touches the source's run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunWrite {
    None,
    /// Queue a new run.
    Insert(Run),
    /// Store a new run already claimed: PROCESSING and leased to a worker of this
    /// process, which the caller hands it to (see `services::handoff`).
    InsertLeased(Run, Lease),
    /// Rewrite an existing run (coalesced flags, cancellation).
    Update(Run),
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait SourceRepository: Send + Sync {
    /// Stores a new source and its first run in one transaction; with a `lease`, the
    /// run is stored already claimed (see [`RunWrite::InsertLeased`]).
    async fn create(&self, source: &Source, first_run: &Run, lease: Option<Lease>) -> Result<()>;
    /// The source, soft-deleted or not, if the user owns it.
    async fn get(&self, user_id: UserId, id: SourceId) -> Result<Option<Source>>;
    /// The user's sources among `ids` (deleted ones included), in no particular order.
    async fn get_many(&self, user_id: UserId, ids: &[SourceId]) -> Result<Vec<Source>>;
    /// A space's sources matching `filter`: pinned first, then newest first.
    async fn list(&self, space_id: SpaceId, filter: &SourceFilter, page: PageRequest) -> Result<Page<Source>>;
    /// Writes every mutable column of `source` and applies `run` in one transaction,
    /// but only while the stored status and last run still equal `expected`: this is
    /// the compare-and-set that keeps two concurrent requests (or a request, a
    /// scheduler and a worker) from both acting on the same state. Returns `false`,
    /// having written nothing, when either had changed. `postback` goes to the outbox
    /// in the same transaction.
    async fn save(
        &self,
        source: &Source,
        expected: Expected,
        run: RunWrite,
        postback: Option<Postback>,
    ) -> Result<bool>;
    /// Live INTERVAL sources whose `next_refresh_at` is at or before `now`, most
    /// overdue first, at most `limit`.
    async fn due_for_refresh(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<Source>>;
    /// Live compositions with a pending rebuild request: one of their members got a
    /// new revision (see [`RunQueue::finish`]). Oldest request first.
    async fn due_for_rebuild(&self, limit: u64) -> Result<Vec<Source>>;
    /// Drops the rebuild request of `id`: its run is queued.
    async fn rebuild_queued(&self, id: SourceId) -> Result<()>;
    /// Requests a rebuild of every composition that contains `member` (it was
    /// deleted or restored, so what the compositions hold changed).
    async fn request_rebuilds_of(&self, member: SourceId) -> Result<()>;
    /// Sources due to be purged: soft-deleted at or before `deleted_before`, or in a
    /// deleted space. At most `limit`, oldest first.
    async fn purgeable(&self, deleted_before: DateTime<Utc>, limit: u64) -> Result<Vec<SourceId>>;
    /// Deletes source `id` for good, with its runs, revisions, contexts, artifacts and
    /// postback deliveries, if it is still due (see [`SourceRepository::purgeable`]).
    /// Returns whether it was.
    async fn purge(&self, id: SourceId, deleted_before: DateTime<Utc>) -> Result<bool>;
}

/// What a worker reports when a run ends.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFinish {
    pub status: RunStatus,
    pub outcome: Option<crate::model::RunOutcome>,
    pub error: Option<String>,
    pub revision: Option<Revision>,
    /// The context extracted from `revision` (only with a new revision).
    pub context: Option<Context>,
    /// The artifacts found in `revision`, when artifact extraction ran.
    pub artifacts: Option<ArtifactWrite>,
    /// The notification to put in the outbox with the outcome.
    pub postback: Option<Postback>,
    pub timings: crate::model::StageTimings,
    /// Replaces the run's attempt count: a claim that found the attempts spent ran
    /// nothing, so it records the last attempt that did.
    pub attempt: Option<u32>,
}

impl RunFinish {
    /// An outcome with nothing but a status: no revision, context or postback.
    pub fn status_only(status: RunStatus) -> Self {
        Self {
            status,
            outcome: None,
            error: None,
            revision: None,
            context: None,
            artifacts: None,
            postback: None,
            timings: Default::default(),
            attempt: None,
        }
    }
}

/// What a heartbeat learned about a claimed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseState {
    /// The worker still holds the run (false: it was reclaimed, finished or deleted).
    pub held: bool,
    /// Someone asked for the run to stop.
    pub cancel_requested: bool,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait RunQueue: Send + Sync {
    async fn get(&self, user_id: UserId, id: RunId) -> Result<Option<Run>>;
    /// Takes the oldest queued run (or one whose lease expired), marks it and its
    /// source PROCESSING, and leases it to `worker` for `lease`. Safe to call from
    /// many processes at once: each run is handed to one claimer. The run comes with
    /// its [`RunSubject`], read with the claim because every run starts from it.
    async fn claim(&self, worker: &str, lease: std::time::Duration) -> Result<Option<ClaimedRun>>;
    /// Ends a PROCESSING run: stores its result, its revision (if any) and the
    /// source's new status in one transaction. Returns whether it did: `false` when
    /// the run is no longer held (canceled, reclaimed, deleted). Nothing is read back:
    /// the worker needs no more, and the source's row would be sent and decoded again
    /// on every refresh.
    ///
    /// A finish that writes a revision also records, in the same transaction, a
    /// rebuild request for every composition that contains the source.
    async fn finish(&self, run_id: RunId, finish: RunFinish) -> Result<bool>;
    /// Extends `worker`'s lease on a PROCESSING run and reports whether it is still
    /// held and whether cancellation was requested.
    async fn heartbeat(&self, run_id: RunId, worker: &str, lease: std::time::Duration) -> Result<LeaseState>;
    /// Puts a PROCESSING run back in the queue, claimable from `retry_at`, recording
    /// `error`; the source goes back to PENDING. Returns whether the run was held.
    async fn release(&self, run_id: RunId, worker: &str, error: &str, retry_at: DateTime<Utc>) -> Result<bool>;
    /// A source's runs, newest first.
    async fn list_for_source(&self, source_id: SourceId, page: PageRequest) -> Result<Page<Run>>;
    /// How many runs are queued (PENDING), for the metrics.
    async fn depth(&self) -> Result<u64>;
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait RevisionRepository: Send + Sync {
    async fn get(&self, source_id: SourceId, number: u32) -> Result<Option<Revision>>;
    /// A source's revisions, newest first.
    async fn list(&self, source_id: SourceId, page: PageRequest) -> Result<Page<Revision>>;
    async fn context(&self, source_id: SourceId, revision: u32) -> Result<Option<Context>>;
    /// The newest context made from revision `at_most` or an earlier one: what is
    /// served while a newer revision's context was not extracted.
    async fn latest_context(&self, source_id: SourceId, at_most: u32) -> Result<Option<Context>>;
    /// Removes what revision `number` kept beside its content once retention removed
    /// that content: its artifacts that are no longer current, and its context unless
    /// it is the newest one the source has (a run that skipped extraction serves it).
    /// The revision's own row stays. Returns the rows removed.
    async fn prune_outputs(&self, source_id: SourceId, number: u32) -> Result<u64>;
}

/// Where a sweep over old runs stands: the runs are visited by id (creation order),
/// each call a bounded window after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSweep {
    /// The last run id the previous window covered; `None` starts at the oldest run.
    pub after: Option<RunId>,
    /// Only runs queued before this are looked at.
    pub queued_before: DateTime<Utc>,
    /// Runs of a source that are among its `keep_per_source` newest stay.
    pub keep_per_source: u32,
}

/// What one window of a [`RunSweep`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSweepStep {
    pub deleted: u64,
    /// The last run id the window covered (`None`: there was nothing to look at).
    pub covered_to: Option<RunId>,
    /// Whether the window reached `queued_before`: the sweep is through.
    pub reached_end: bool,
}

/// The history every refresh and request adds to: runs, postback deliveries,
/// idempotency keys, rate-limit rows. Each call deletes a bounded batch, so no
/// statement holds its locks for long (see [`crate::services::retention`]).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// Deletes, within the next window of at most `window` runs, the finished runs
    /// that are neither among their source's `keep_per_source` newest nor its newest
    /// COMPLETED run.
    async fn purge_runs(&self, sweep: RunSweep, window: u64) -> Result<RunSweepStep>;
    /// Deletes up to `limit` postback deliveries created before `created_before` that
    /// are no longer pending (delivered, or given up).
    async fn purge_deliveries(&self, created_before: DateTime<Utc>, limit: u64) -> Result<u64>;
    /// Deletes up to `limit` idempotency keys created before `created_before`.
    async fn purge_idempotency_keys(&self, created_before: DateTime<Utc>, limit: u64) -> Result<u64>;
    /// Deletes up to `limit` rate-limit rows whose `tat` is before `tat_before_us`: a
    /// budget whose theoretical arrival time has passed is a fresh one, as with no row.
    async fn purge_rate_limits(&self, tat_before_us: i64, limit: u64) -> Result<u64>;
}

/// Bytes streamed in chunks; an `Err` item ends the stream and is what the consumer
/// reports (so a stream that checks what it carries can refuse it with a 400).
pub type ByteStream = futures_util::stream::BoxStream<'static, Result<bytes::Bytes>>;

/// What the store knows about an object without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub size: u64,
    /// The store's version tag: changes whenever the object is overwritten.
    pub etag: Option<String>,
    pub last_modified: DateTime<Utc>,
}

/// The answer to a conditional read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobRead {
    Missing,
    /// The object still has the ETag the caller named.
    NotModified,
    Found {
        bytes: Vec<u8>,
        meta: BlobMeta,
    },
}

/// Bytes by key: revision contents and uploads.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()>;
    /// `Ok(None)` when there is no such object.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Deleting a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<()>;
    /// Deletes every object whose key starts with `prefix` (a folder, ending in `/`);
    /// returns how many there were.
    async fn delete_prefix(&self, prefix: &str) -> Result<u64>;
    /// Metadata of an object, `Ok(None)` when there is none.
    async fn head(&self, key: &str) -> Result<Option<BlobMeta>>;
    /// Reads an object unless its ETag is still `if_none_match`.
    async fn read(&self, key: &str, if_none_match: Option<String>) -> Result<BlobRead>;
    /// Writes an object from a stream in bounded memory. The object appears only
    /// when the stream ended without an error; on an error the previous object (if
    /// any) is left as it was and the stream's error is returned.
    async fn put_stream(&self, key: &str, body: ByteStream) -> Result<u64>;
    /// Streams an object out, `Ok(None)` when there is none.
    async fn open(&self, key: &str) -> Result<Option<(BlobMeta, ByteStream)>>;
    /// A URL a client can `PUT` the object's bytes to for `ttl`, when the store signs
    /// its own URLs (S3); `Ok(None)` when uploads must go through ctxd.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        ttl: std::time::Duration,
    ) -> Result<Option<Url>>;
    /// Where the object can be read once uploaded, when the store has its own
    /// addresses (S3); `None` for the local directory.
    fn public_url(&self, key: &str) -> Option<Url>;
}

/// How to fetch: validators from the last fetch, for a conditional request, and
/// whether the origin's robots.txt must be honoured (scheduled refreshes: nobody
/// asked for this particular fetch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditional {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub honour_robots: bool,
}

/// What an origin answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// 304: the content is what the last revision holds.
    NotModified,
    Fetched {
        bytes: Vec<u8>,
        http: HttpMeta,
        /// `sha256:<hex>` of `bytes` when the fetcher hashed them while streaming;
        /// `None` lets the pipeline hash them.
        content_hash: Option<String>,
    },
    /// 404 or 410.
    Gone { status: u16 },
}

/// A failed fetch. Transient failures (timeouts, 5xx, connection errors) are retried;
/// permanent ones (other 4xx, refused content) fail the run at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    pub transient: bool,
    pub message: String,
}

/// Fetches URI sources.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait UriFetcher: Send + Sync {
    async fn fetch(&self, url: &Url, conditional: &Conditional) -> Result<FetchOutcome, FetchError>;
}

/// Turns fetched bytes into markdown. Pure CPU.
pub trait Normalizer: Send + Sync {
    /// Changes whenever the output for the same input would.
    fn version(&self) -> &'static str;
    /// # Errors
    /// A message for the run when the content cannot be normalized.
    fn normalize(&self, input: NormalizeInput<'_>) -> Result<Document, String>;
}

/// Finds typed artifacts (code, schemas, diagrams, tables, commands) in a normalized
/// document. Pure CPU.
pub trait ArtifactExtractor: Send + Sync {
    /// Changes whenever the output for the same input would.
    fn version(&self) -> &'static str;
    fn extract(&self, document: &Document) -> Vec<ArtifactDraft>;
}

/// Extracts the compact context from a normalized document and the artifacts found in
/// it (which the context points to). Async because an adapter may ask a model over
/// the network; it never fails: an adapter falls back to an offline extractor.
#[async_trait]
pub trait ContextExtractor: Send + Sync {
    /// Changes whenever the output for the same input would.
    fn version(&self) -> &'static str;
    async fn extract(&self, document: &Document, artifacts: &[ArtifactDraft]) -> ContextDraft;
    /// Tokens in `text` by the tokenizer the extractor's counts use (compositions
    /// count their composed context with it).
    fn count_tokens(&self, text: &str) -> u64;
}

/// Stored artifacts. They are written with a run's outcome ([`RunFinish`]).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ArtifactRepository: Send + Sync {
    /// The source's current artifacts, or those found in `revision`, in document order.
    async fn list_for_source(
        &self,
        source_id: SourceId,
        revision: Option<u32>,
        page: PageRequest,
    ) -> Result<Page<Artifact>>;
    /// Every artifact found in `revision`, for diffs.
    async fn for_revision(&self, source_id: SourceId, revision: u32) -> Result<Vec<Artifact>>;
    /// The artifact, if `user_id` owns it and its source is not deleted.
    async fn get(&self, user_id: UserId, id: ArtifactId) -> Result<Option<Artifact>>;
    /// Current artifacts of the space's live sources matching `query`; with text, the
    /// best matches first.
    async fn search(&self, space_id: SpaceId, query: &ArtifactQuery, page: PageRequest) -> Result<Page<Artifact>>;
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait UploadRepository: Send + Sync {
    /// The upload with this key, if `user_id` owns it.
    async fn get(&self, user_id: UserId, file_key: &str) -> Result<Option<Upload>>;
    /// The upload with this key whoever owns it: for the signed upload route, whose
    /// signature is the caller's credential, and for the worker.
    async fn find(&self, file_key: &str) -> Result<Option<Upload>>;
    async fn insert(&self, upload: &Upload) -> Result<()>;
}

/// A change notice from the source feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChange {
    /// The source's status, run or outputs changed.
    Changed(SourceId),
    /// Notices were dropped (a slow subscriber): anything may have changed.
    Missed,
}

/// The feed of source changes that drives live watches: every committed change of a
/// source's status or run, from this process and (where the store can tell) others.
pub trait SourceEvents: Send + Sync {
    /// Changes from now on, with a [`SourceChange::Missed`] now and then where notices
    /// can be missed (other processes' writes where the store cannot hear them, a
    /// writer that died between its commit and its notice), so a watcher looks again.
    /// Ends when the store shuts down.
    fn subscribe(&self) -> futures_util::stream::BoxStream<'static, SourceChange>;
}

/// Whether a dependency (the database, the object store) is reachable, for
/// `GET /health` and gRPC health (see [`crate::services::health`]).
#[async_trait]
pub trait HealthCheck: Send + Sync {
    async fn check(&self) -> Result<()>;
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait PostbackStore: Send + Sync {
    /// The user's signing secret, if one was made.
    async fn secret(&self, user_id: UserId) -> Result<Option<String>>;
    /// Stores `candidate` as the user's secret unless one exists; returns the one in force.
    async fn ensure_secret(&self, user_id: UserId, candidate: &str, now: DateTime<Utc>) -> Result<String>;
    async fn replace_secret(&self, user_id: UserId, secret: &str, now: DateTime<Utc>) -> Result<()>;
    /// Takes up to `limit` deliveries that are due, holding each for `hold` so other
    /// senders skip them meanwhile. Safe from many processes at once.
    async fn claim_due(&self, now: DateTime<Utc>, hold: std::time::Duration, limit: u64) -> Result<Vec<Postback>>;
    async fn delivered(&self, id: PostbackId, attempts: u32, status_code: u16, at: DateTime<Utc>) -> Result<()>;
    /// Records a failed attempt; `next_attempt_at: None` gives up for good.
    async fn failed(
        &self,
        id: PostbackId,
        attempts: u32,
        failure: &DeliveryFailure,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<()>;
    async fn get(&self, id: PostbackId) -> Result<Option<Postback>>;
    /// A source's deliveries, newest first.
    async fn list_for_source(&self, source_id: SourceId, page: PageRequest) -> Result<Page<Postback>>;
}

/// Sends one webhook request.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// POSTs `body` with `headers`; returns the response status.
    ///
    /// # Errors
    /// A message when no response came (timeout, connection refused, blocked address).
    async fn post(&self, url: &Url, headers: Vec<(String, String)>, body: Vec<u8>) -> Result<u16, String>;
}

/// What a stored idempotency key says about a new request that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// First use (or the last one expired): handle the request, then complete it.
    New,
    /// Same key, same request, already answered: send this again.
    Replay { status: u16, body: String },
    /// Same key, another request.
    Mismatch,
    /// Same key, the first request is still being handled.
    InProgress,
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for a request whose hash is `request_hash`. A stored key older
    /// than `expired_before` counts as unused, and so does one still in progress that
    /// was claimed before `stale_before` (its request died without finishing).
    async fn claim(
        &self,
        user_id: UserId,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<IdempotencyClaim>;
    /// Stores the response of a claimed key.
    async fn complete(&self, user_id: UserId, key: &str, status: u16, body: &str) -> Result<()>;
    /// Releases a claimed key whose request failed, so the client can retry it.
    async fn release(&self, user_id: UserId, key: &str) -> Result<()>;
}

/// Where each user's rate-limit state (a GCRA `tat`, see
/// [`crate::services::rate_limits`]) lives: the database when replicas share it.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait RateBudgets: Send + Sync {
    /// Applies [`crate::services::rate_limits::admit_many`] to `user`'s stored `tat`
    /// atomically (concurrent calls, from any process sharing the store, see each
    /// other's effect) and returns its answer: how many of the `wanted` requests fit,
    /// and the `tat` afterwards.
    async fn take(&self, user: UserId, now_us: i64, interval_us: i64, wanted: u32) -> Result<(u32, i64)>;
}
