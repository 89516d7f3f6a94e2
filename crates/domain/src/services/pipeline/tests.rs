//! Unit tests of ProcessRun against mocked storage and fetcher ports.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use url::Url;

use super::*;
use crate::{
    ids::{SpaceId, UserId},
    model::{ArtifactDraft, ContextDraft, Document, DocumentFormat, RunFlags},
    ports::{
        BlobMeta, MockArtifactRepository, MockBlobStore, MockRevisionRepository, MockRunQueue, MockSourceRepository,
        MockUploadRepository, MockUriFetcher,
    },
    state::SourceStatus,
};

/// Counts calls so a test can prove a stage did not run.
#[derive(Default)]
struct CountingExtractor(Mutex<u32>);

#[async_trait::async_trait]
impl ContextExtractor for CountingExtractor {
    fn version(&self) -> &'static str {
        "count-1"
    }
    async fn extract(&self, document: &Document, _: &[ArtifactDraft]) -> ContextDraft {
        *self.0.lock().unwrap() += 1;
        ContextDraft {
            content: document.markdown.clone(),
            original_tokens: 1,
            context_tokens: 1,
            ..ContextDraft::default()
        }
    }
    fn count_tokens(&self, text: &str) -> u64 {
        text.split_whitespace().count() as u64
    }
}

struct NoArtifacts;

impl ArtifactExtractor for NoArtifacts {
    fn version(&self) -> &'static str {
        "none-1"
    }
    fn extract(&self, _: &Document) -> Vec<ArtifactDraft> {
        Vec::new()
    }
}

struct Utf8;

impl Normalizer for Utf8 {
    fn version(&self) -> &'static str {
        "utf8-1"
    }
    fn normalize(&self, input: NormalizeInput<'_>) -> Result<Document, String> {
        let text = String::from_utf8(input.bytes.to_vec()).map_err(|e| e.to_string())?;
        Ok(Document::new(text, DocumentFormat::Text))
    }
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<Utc> {
        Utc::now()
    }
}

fn uri_source(revision: Option<u32>) -> Source {
    let input = SourceInput::Uri { url: Url::parse("https://example.com/doc").unwrap() };
    let (mut source, _) = Source::submitted(UserId::new(), SpaceId::new(), input, RunFlags::default(), Utc::now());
    source.status = SourceStatus::Processing;
    source.revision = revision;
    source.last_run = None;
    source
}

fn revision_of(source: &Source, bytes: &[u8], extractor_version: &str) -> Revision {
    Revision {
        source_id: source.id,
        number: 1,
        content_hash: format!("sha256:{}", hex::encode(Sha256::digest(bytes))),
        fetched_at: Utc::now(),
        http: HttpMeta { etag: Some("\"v1\"".into()), ..HttpMeta::default() },
        bytes: bytes.len() as u64,
        extractor_version: extractor_version.into(),
        page_type: None,
    }
}

struct Harness {
    /// What `RunQueue::subject` answers for the run.
    subject: RunSubject,
    sources: MockSourceRepository,
    runs: MockRunQueue,
    revisions: MockRevisionRepository,
    blobs: MockBlobStore,
    fetcher: MockUriFetcher,
    uploads: MockUploadRepository,
    artifacts: MockArtifactRepository,
    extractor: Arc<CountingExtractor>,
}

impl Harness {
    fn new(source: &Source, current: Option<Revision>) -> Self {
        Self {
            subject: RunSubject { source: source.clone(), current, previous: None },
            sources: MockSourceRepository::new(),
            runs: MockRunQueue::new(),
            revisions: MockRevisionRepository::new(),
            blobs: MockBlobStore::new(),
            fetcher: MockUriFetcher::new(),
            uploads: MockUploadRepository::new(),
            artifacts: MockArtifactRepository::new(),
            extractor: Arc::new(CountingExtractor::default()),
        }
    }

    fn previous_run(&mut self, status: RunStatus) {
        self.subject.previous = Some(status);
    }

    /// Records what `finish` was called with.
    fn capture_finish(&mut self) -> Arc<Mutex<Option<RunFinish>>> {
        let captured = Arc::new(Mutex::new(None));
        let sink = captured.clone();
        self.runs.expect_finish().returning(move |_, finish| {
            *sink.lock().unwrap() = Some(finish);
            Ok(true)
        });
        captured
    }

    fn pipeline(self) -> (Claimer, Arc<CountingExtractor>) {
        let extractor = self.extractor.clone();
        let ports = PipelinePorts {
            sources: Arc::new(self.sources),
            runs: Arc::new(self.runs),
            revisions: Arc::new(self.revisions),
            blobs: Arc::new(self.blobs),
            uploads: Arc::new(self.uploads),
            artifacts: Arc::new(self.artifacts),
            uri_fetcher: Arc::new(self.fetcher),
            normalizer: Arc::new(Utf8),
            context_extractor: self.extractor,
            artifact_extractor: Arc::new(NoArtifacts),
            clock: Arc::new(SystemClock),
        };
        let pipeline = Pipeline::new(ports, RetryPolicy::default(), 20);
        (Claimer { pipeline, subject: self.subject }, extractor)
    }
}

/// Hands the pipeline runs the way a claim does: each with the harness's subject.
struct Claimer {
    pipeline: Pipeline,
    subject: RunSubject,
}

impl Claimer {
    async fn process(&self, run: Run, worker: &str, stop: &StopSignal) -> Result<Processed> {
        self.pipeline.process(ClaimedRun { run, subject: Some(self.subject.clone()) }, worker, stop).await
    }
}

fn refresh_run(source: &Source, force: bool) -> Run {
    let mut run = Run::queued(
        source.id,
        source.user_id,
        RunKind::Refresh,
        RunFlags { force, ..RunFlags::default() },
        None,
        Utc::now(),
    );
    run.status = RunStatus::Processing;
    run.attempt = 1;
    run
}

/// What the scheduler queues (a refresh policy, a composition rebuild).
fn scheduled_run(source: &Source) -> Run {
    Run { kind: RunKind::ScheduledRefresh, ..refresh_run(source, false) }
}

#[tokio::test]
async fn a_304_after_a_good_run_ends_unchanged_without_extraction() {
    let source = uri_source(Some(1));
    let mut h = Harness::new(&source, Some(revision_of(&source, b"hello", "utf8-1+count-1+none-1")));
    h.fetcher
        .expect_fetch()
        .withf(|_, conditional| conditional.etag.as_deref() == Some("\"v1\"") && !conditional.honour_robots)
        .returning(|_, _| Ok(FetchOutcome::NotModified));
    h.blobs.expect_get().never(); // the stored bytes are not read back either
    h.blobs.expect_put().never();
    h.previous_run(RunStatus::Completed);
    let finished = h.capture_finish();
    let (pipeline, extractor) = h.pipeline();
    let processed = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Unchanged) });
    let finish = finished.lock().unwrap().clone().unwrap();
    assert!(finish.revision.is_none(), "no new revision");
    assert_eq!(*extractor.0.lock().unwrap(), 0, "no extraction");
}

#[tokio::test]
async fn a_run_that_lost_its_lease_leaves_the_blobs_of_the_revision_it_numbered() {
    let source = uri_source(Some(1));
    let mut h = Harness::new(&source, Some(revision_of(&source, b"hello", "utf8-1+count-1+none-1")));
    h.fetcher.expect_fetch().returning(|_, _| {
        Ok(FetchOutcome::Fetched { bytes: b"changed".to_vec(), content_hash: None, http: HttpMeta::default() })
    });
    h.blobs.expect_put().times(2).returning(|_, _| Ok(()));
    // The worker that reclaimed the run writes (and commits) revision 2 at these keys.
    h.blobs.expect_delete().never();
    h.runs.expect_finish().returning(|_, _| Ok(false));
    h.previous_run(RunStatus::Completed);
    let (pipeline, _) = h.pipeline();
    let processed = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Abandoned);
}

#[tokio::test]
async fn only_scheduled_refreshes_ask_the_fetcher_to_honour_robots_txt() {
    let source = uri_source(Some(1));
    let mut h = Harness::new(&source, Some(revision_of(&source, b"hello", "utf8-1+count-1+none-1")));
    h.fetcher
        .expect_fetch()
        .withf(|_, conditional| conditional.honour_robots && conditional.etag.as_deref() == Some("\"v1\""))
        .returning(|_, _| Ok(FetchOutcome::NotModified));
    h.blobs.expect_get().returning(|_| Ok(Some(b"hello".to_vec())));
    h.previous_run(RunStatus::Completed);
    let _finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    let processed = pipeline.process(scheduled_run(&source), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Unchanged) });
}

/// The context the counting extractor makes of `markdown`, as stored for revision 1.
fn stored_context(source: &Source, markdown: &str) -> Context {
    let draft =
        ContextDraft { content: markdown.into(), original_tokens: 1, context_tokens: 1, ..ContextDraft::default() };
    Context { source_id: source.id, revision: 1, extractor_version: "old".into(), draft, created_at: Utc::now() }
}

#[tokio::test]
async fn a_failed_last_run_is_never_skipped_and_re_extracts_into_the_current_revision() {
    let source = uri_source(Some(1));
    let mut h = Harness::new(&source, Some(revision_of(&source, b"hello", "utf8-1+count-1+none-1")));
    h.fetcher.expect_fetch().returning(|_, _| Ok(FetchOutcome::NotModified));
    h.blobs.expect_get().returning(|_| Ok(Some(b"hello".to_vec())));
    h.blobs.expect_put().never();
    let context = stored_context(&source, "hello");
    h.revisions.expect_context().returning(move |_, _| Ok(Some(context.clone())));
    h.artifacts.expect_for_revision().returning(|_, _| Ok(Vec::new()));
    h.previous_run(RunStatus::Failed);
    let finished = h.capture_finish();
    let (pipeline, extractor) = h.pipeline();
    let processed = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(*extractor.0.lock().unwrap(), 1, "extraction ran");
    assert_eq!(
        processed,
        Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Unchanged) },
        "it made what is served already"
    );
    let finish = finished.lock().unwrap().clone().unwrap();
    assert_eq!(finish.revision.unwrap().number, 1, "the same content is the same revision");
    assert!(finish.artifacts.is_none(), "identical artifacts keep their ids");
}

#[tokio::test]
async fn force_and_a_new_extractor_version_re_extract_unchanged_content_in_place() {
    for (force, stored_version) in [(true, "utf8-1+count-1+none-1"), (false, "utf8-0+count-0+none-0")] {
        let source = uri_source(Some(1));
        let mut h = Harness::new(&source, Some(revision_of(&source, b"hello", stored_version)));
        h.fetcher.expect_fetch().returning(|_, _| {
            Ok(FetchOutcome::Fetched { bytes: b"hello".to_vec(), content_hash: None, http: HttpMeta::default() })
        });
        h.blobs.expect_get().returning(|_| Ok(Some(b"hello".to_vec())));
        // An older extractor made another context: the new one replaces it.
        let context = stored_context(&source, "hello, as the old extractor saw it");
        h.revisions.expect_context().returning(move |_, _| Ok(Some(context.clone())));
        // Only the markdown is written again; the raw bytes are the revision's already.
        h.blobs.expect_put().withf(|key, _| key.ends_with("normalized.md")).times(1).returning(|_, _| Ok(()));
        h.previous_run(RunStatus::Completed);
        let finished = h.capture_finish();
        let (pipeline, extractor) = h.pipeline();
        let processed = pipeline.process(refresh_run(&source, force), "w", &StopSignal::default()).await.unwrap();
        assert_eq!(*extractor.0.lock().unwrap(), 1, "force={force}, stored version {stored_version}");
        assert_eq!(processed, Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Changed) });
        let finish = finished.lock().unwrap().clone().unwrap();
        let revision = finish.revision.unwrap();
        assert_eq!((revision.number, revision.extractor_version.as_str()), (1, "utf8-1+count-1+none-1"));
        assert_eq!(finish.context.unwrap().revision, 1);
    }
}

#[tokio::test]
async fn a_hash_computed_while_fetching_is_the_revisions_hash() {
    let source = uri_source(Some(1));
    let mut h = Harness::new(&source, Some(revision_of(&source, b"hello", "utf8-1+count-1+none-1")));
    h.fetcher.expect_fetch().returning(|_, _| {
        let content_hash = Some(format!("sha256:{}", hex::encode(Sha256::digest(b"hello"))));
        Ok(FetchOutcome::Fetched { bytes: b"hello".to_vec(), content_hash, http: HttpMeta::default() })
    });
    h.blobs.expect_put().never();
    h.previous_run(RunStatus::Completed);
    let _finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    let processed = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(
        processed,
        Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Unchanged) },
        "the fetcher's hash of the same bytes matches the stored revision"
    );

    let mut h = Harness::new(&source, Some(revision_of(&source, b"hello", "utf8-1+count-1+none-1")));
    h.fetcher.expect_fetch().returning(|_, _| {
        let content_hash = Some("sha256:computed-by-the-fetcher".to_owned());
        Ok(FetchOutcome::Fetched { bytes: b"hello".to_vec(), content_hash, http: HttpMeta::default() })
    });
    h.blobs.expect_put().returning(|_, _| Ok(()));
    h.previous_run(RunStatus::Completed);
    let finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    let revision = finished.lock().unwrap().clone().unwrap().revision.unwrap();
    assert_eq!(revision.content_hash, "sha256:computed-by-the-fetcher", "not hashed a second time");
}

#[tokio::test]
async fn transient_failures_go_back_to_the_queue_with_back_off_then_fail() {
    let source = uri_source(None);
    let mut h = Harness::new(&source, None);
    h.fetcher
        .expect_fetch()
        .returning(|_, _| Err(FetchError { transient: true, message: "origin answered 503".into() }));
    let released = Arc::new(Mutex::new(Vec::new()));
    let sink = released.clone();
    h.runs.expect_release().returning(move |_, _, error, retry_at| {
        sink.lock().unwrap().push((error.to_owned(), retry_at));
        Ok(true)
    });
    let finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    let mut run = refresh_run(&source, false);
    let processed = pipeline.process(run.clone(), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Retrying { after: Duration::from_secs(5) });
    run.attempt = 2;
    let processed = pipeline.process(run.clone(), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Retrying { after: Duration::from_secs(10) }, "exponential");
    run.attempt = 3;
    let processed = pipeline.process(run, "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Failed, outcome: None });
    assert_eq!(finished.lock().unwrap().clone().unwrap().error.as_deref(), Some("origin answered 503"));
    assert_eq!(released.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_stop_request_cancels_before_anything_is_stored() {
    let source = uri_source(None);
    let mut h = Harness::new(&source, None);
    h.fetcher.expect_fetch().returning(|_, _| {
        Ok(FetchOutcome::Fetched { bytes: b"x".to_vec(), content_hash: None, http: HttpMeta::default() })
    });
    h.blobs.expect_put().never();
    let finished = h.capture_finish();
    let (pipeline, extractor) = h.pipeline();
    let stop = StopSignal::default();
    stop.stop();
    let processed = pipeline.process(refresh_run(&source, false), "w", &stop).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Canceled, outcome: None });
    assert!(finished.lock().unwrap().clone().unwrap().revision.is_none());
    assert_eq!(*extractor.0.lock().unwrap(), 0);
}

#[tokio::test]
async fn gone_origins_fail_with_outcome_gone() {
    let source = uri_source(None);
    let mut h = Harness::new(&source, None);
    h.fetcher.expect_fetch().returning(|_, _| Ok(FetchOutcome::Gone { status: 404 }));
    let finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    let processed = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Failed, outcome: Some(RunOutcome::Gone) });
    assert_eq!(finished.lock().unwrap().clone().unwrap().error.as_deref(), Some("origin answered 404"));
}

#[test]
fn retry_delays_double_until_attempts_run_out() {
    let policy = RetryPolicy { max_attempts: 4, base_delay: Duration::from_secs(5) };
    let delays: Vec<_> = (1..=4).map(|attempt| policy.delay_after(attempt)).collect();
    assert_eq!(
        delays,
        [Some(Duration::from_secs(5)), Some(Duration::from_secs(10)), Some(Duration::from_secs(20)), None]
    );
}

fn file_source(revision: Option<u32>) -> Source {
    let input = SourceInput::File { file_key: "1-notes.md".into() };
    let (mut source, _) = Source::submitted(UserId::new(), SpaceId::new(), input, RunFlags::default(), Utc::now());
    source.status = SourceStatus::Processing;
    source.revision = revision;
    source.last_run = None;
    source
}

fn upload_of(source: &Source) -> crate::model::Upload {
    crate::model::Upload {
        file_key: "1-notes.md".into(),
        user_id: source.user_id,
        filename: "notes.md".into(),
        content_type: "text/markdown".into(),
        size: 5,
        created_at: Utc::now(),
    }
}

#[tokio::test]
async fn a_file_whose_etag_still_matches_is_not_read_again() {
    let source = file_source(Some(1));
    let mut h = Harness::new(&source, Some(revision_of(&source, b"hello", "utf8-1+count-1+none-1")));
    let upload = upload_of(&source);
    h.uploads.expect_find().returning(move |_| Ok(Some(upload.clone())));
    h.blobs
        .expect_read()
        .withf(|key, etag| key == "uploads/1-notes.md" && etag.as_deref() == Some("\"v1\""))
        .returning(|_, _| Ok(BlobRead::NotModified));
    h.blobs.expect_get().never();
    h.blobs.expect_put().never();
    h.previous_run(RunStatus::Completed);
    let _finished = h.capture_finish();
    let (pipeline, extractor) = h.pipeline();
    let processed = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Unchanged) });
    assert_eq!(*extractor.0.lock().unwrap(), 0);
}

#[tokio::test]
async fn an_overwritten_file_becomes_a_new_revision_with_the_uploads_type() {
    let source = file_source(Some(1));
    let mut h = Harness::new(&source, Some(revision_of(&source, b"hello", "utf8-1+count-1+none-1")));
    let upload = upload_of(&source);
    h.uploads.expect_find().returning(move |_| Ok(Some(upload.clone())));
    h.blobs.expect_read().returning(|_, _| {
        let meta = BlobMeta { size: 5, etag: Some("v2".into()), last_modified: Utc::now() };
        Ok(BlobRead::Found { bytes: b"world".to_vec(), meta })
    });
    h.blobs.expect_put().times(2).returning(|_, _| Ok(()));
    h.previous_run(RunStatus::Completed);
    let finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    let processed = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Changed) });
    let revision = finished.lock().unwrap().clone().unwrap().revision.unwrap();
    assert_eq!(revision.number, 2);
    assert_eq!(revision.http.etag.as_deref(), Some("v2"));
    assert_eq!(revision.http.content_type.as_deref(), Some("text/markdown"));
}

#[tokio::test]
async fn a_file_missing_from_storage_fails_as_gone() {
    let source = file_source(None);
    let mut h = Harness::new(&source, None);
    let upload = upload_of(&source);
    h.uploads.expect_find().returning(move |_| Ok(Some(upload.clone())));
    h.blobs.expect_read().returning(|_, _| Ok(BlobRead::Missing));
    let finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    let processed = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Failed, outcome: Some(RunOutcome::Gone) });
    let error = finished.lock().unwrap().clone().unwrap().error.unwrap();
    assert_eq!(error, "the uploaded file notes.md is no longer in storage");
}

/// A composition of `members` (each with a revision 1 unless `None`), whose
/// members' markdown is "text of NAME".
fn composition_harness(members: &[(&str, Option<u32>)], current: Option<Revision>) -> (Harness, Source) {
    let user_id = UserId::new();
    let space_id = SpaceId::new();
    let member_sources: Vec<Source> = members
        .iter()
        .map(|(name, revision)| {
            let input = SourceInput::Content { data: "x".into() };
            let (mut member, _) = Source::submitted(user_id, space_id, input, RunFlags::default(), Utc::now());
            member.name = Some((*name).to_owned());
            member.revision = *revision;
            member
        })
        .collect();
    let input = SourceInput::Composition { source_ids: member_sources.iter().map(|m| m.id).collect() };
    let (mut source, _) = Source::submitted(user_id, space_id, input, RunFlags::default(), Utc::now());
    source.name = Some("Pack".into());
    source.status = SourceStatus::Processing;
    source.last_run = None;
    let current = current.map(|mut revision| {
        revision.source_id = source.id;
        source.revision = Some(revision.number);
        revision
    });
    let mut h = Harness::new(&source, current);
    let names: Vec<(SourceId, String)> = member_sources.iter().map(|m| (m.id, m.name.clone().unwrap())).collect();
    h.sources.expect_get_many().returning(move |_, _| Ok(member_sources.clone()));
    h.blobs.expect_get().returning(move |key| {
        Ok(names
            .iter()
            .find(|(id, _)| key.contains(&id.to_string()))
            .map(|(_, name)| format!("text of {name}\n").into_bytes()))
    });
    h.revisions.expect_context().returning(|_, _| Ok(None));
    h.artifacts.expect_for_revision().returning(|_, _| Ok(Vec::new()));
    (h, source)
}

#[tokio::test]
async fn a_composition_joins_its_members_in_order_without_re_extracting() {
    let (mut h, source) = composition_harness(&[("b", Some(1)), ("later", None), ("a", Some(2))], None);
    let stored = Arc::new(Mutex::new(Vec::new()));
    let sink = stored.clone();
    h.blobs.expect_put().returning(move |key, bytes| {
        sink.lock().unwrap().push((key.to_owned(), String::from_utf8(bytes).unwrap()));
        Ok(())
    });
    let finished = h.capture_finish();
    let (pipeline, extractor) = h.pipeline();
    let mut run = refresh_run(&source, false);
    run.kind = RunKind::Initial;
    let processed = pipeline.process(run, "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Changed) });
    assert_eq!(*extractor.0.lock().unwrap(), 0, "members' outputs are reused, not re-extracted");
    let finish = finished.lock().unwrap().clone().unwrap();
    let context = finish.context.unwrap().draft;
    assert_eq!(context.outline, ["b", "a"]);
    assert!(context.content.contains("not yet available: later"), "{}", context.content);
    assert_eq!(
        context.context_tokens,
        context.content.split_whitespace().count() as u64,
        "counted by the extractor's tokenizer"
    );
    let stored = stored.lock().unwrap();
    assert_eq!(stored[1].1, "text of b\n\n---\n\ntext of a\n", "normalized markdown in member order");
}

#[tokio::test]
async fn a_composition_rebuilt_from_unchanged_members_is_unchanged() {
    // First build, to learn the content hash the composition gets.
    let (mut h, source) = composition_harness(&[("a", Some(1))], None);
    h.blobs.expect_put().returning(|_, _| Ok(()));
    let finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    let first = finished.lock().unwrap().clone().unwrap().revision.unwrap();

    let (mut h, source) = composition_harness(&[("a", Some(1))], Some(first));
    h.blobs.expect_put().never();
    h.previous_run(RunStatus::Completed);
    let _finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    let processed = pipeline.process(scheduled_run(&source), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Unchanged) });
}

#[tokio::test]
async fn a_composition_with_no_member_content_fails_until_a_member_has_some() {
    let (mut h, source) = composition_harness(&[("a", None)], None);
    let finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    let processed = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Failed, outcome: None });
    let error = finished.lock().unwrap().clone().unwrap().error.unwrap();
    assert!(error.starts_with("none of the composition's live sources"), "{error}");
}

#[tokio::test]
async fn a_commit_the_database_refuses_fails_the_run_with_a_message_instead_of_looping() {
    let source = uri_source(None);
    let mut h = Harness::new(&source, None);
    h.fetcher.expect_fetch().returning(|_, _| {
        Ok(FetchOutcome::Fetched { bytes: b"new content".to_vec(), content_hash: None, http: HttpMeta::default() })
    });
    h.blobs.expect_put().returning(|_, _| Ok(()));
    let finishes = Arc::new(Mutex::new(Vec::new()));
    let sink = finishes.clone();
    h.runs.expect_finish().returning(move |_, finish: RunFinish| {
        let refused = finish.revision.is_some();
        sink.lock().unwrap().push(finish);
        if refused { Err(Error::internal("the database refused the row")) } else { Ok(true) }
    });
    let (pipeline, _) = h.pipeline();
    let processed = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Failed, outcome: None });
    let finishes = finishes.lock().unwrap();
    assert_eq!(finishes.len(), 2, "the outcome, then the failure");
    let failed = &finishes[1];
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(failed.revision.is_none() && failed.context.is_none() && failed.artifacts.is_none());
    assert!(failed.error.as_deref().unwrap().contains("could not be stored"), "{:?}", failed.error);
}

#[tokio::test]
async fn a_database_outage_at_commit_leaves_the_run_to_its_lease() {
    let source = uri_source(None);
    let mut h = Harness::new(&source, None);
    h.fetcher.expect_fetch().returning(|_, _| {
        Ok(FetchOutcome::Fetched { bytes: b"new content".to_vec(), content_hash: None, http: HttpMeta::default() })
    });
    h.blobs.expect_put().returning(|_, _| Ok(()));
    h.runs.expect_finish().times(1).returning(|_, _| Err(Error::Unavailable("connection refused".into())));
    let (pipeline, _) = h.pipeline();
    let error = pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap_err();
    assert_eq!(error.kind(), crate::ErrorKind::Unavailable);
}

#[tokio::test]
async fn a_run_claimed_more_often_than_allowed_fails_without_running_again() {
    let source = uri_source(None);
    let mut h = Harness::new(&source, None);
    h.fetcher.expect_fetch().never();
    let finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    let mut run = refresh_run(&source, false);
    run.attempt = RetryPolicy::default().max_attempts + 1;
    run.error = Some("worker died".into());
    let processed = pipeline.process(run, "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Failed, outcome: None });
    let finish = finished.lock().unwrap().clone().unwrap();
    let error = finish.error.unwrap();
    assert!(error.contains("gave up after 3 attempts") && error.contains("worker died"), "{error}");
    assert_eq!(finish.attempt, Some(3), "the claim that ran nothing is not counted");
}

#[tokio::test]
async fn a_cancel_requested_before_a_reclaim_ends_the_run_canceled() {
    let source = uri_source(None);
    let mut h = Harness::new(&source, None);
    h.fetcher.expect_fetch().never();
    let finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    let mut run = refresh_run(&source, false);
    run.attempt = 2;
    run.cancel_requested = true;
    let processed = pipeline.process(run, "w", &StopSignal::default()).await.unwrap();
    assert_eq!(processed, Processed::Finished { status: RunStatus::Canceled, outcome: None });
    assert_eq!(finished.lock().unwrap().clone().unwrap().status, RunStatus::Canceled);
}

#[tokio::test]
async fn nul_characters_never_reach_the_stored_outputs() {
    let source = uri_source(None);
    let mut h = Harness::new(&source, None);
    h.fetcher.expect_fetch().returning(|_, _| {
        Ok(FetchOutcome::Fetched {
            bytes: b"binary\0debris\0here".to_vec(),
            content_hash: None,
            http: HttpMeta::default(),
        })
    });
    let stored = Arc::new(Mutex::new(Vec::new()));
    let sink = stored.clone();
    h.blobs.expect_put().returning(move |key, bytes| {
        sink.lock().unwrap().push((key.to_owned(), bytes));
        Ok(())
    });
    let finished = h.capture_finish();
    let (pipeline, _) = h.pipeline();
    pipeline.process(refresh_run(&source, false), "w", &StopSignal::default()).await.unwrap();
    let finish = finished.lock().unwrap().clone().unwrap();
    assert_eq!(finish.context.unwrap().draft.content, "binarydebrishere");
    let stored = stored.lock().unwrap();
    let raw = stored.iter().find(|(key, _)| key.ends_with("raw")).map(|(_, bytes)| bytes.clone());
    assert_eq!(raw.as_deref(), Some(&b"binary\0debris\0here"[..]), "raw bytes stay raw: {stored:?}");
}
