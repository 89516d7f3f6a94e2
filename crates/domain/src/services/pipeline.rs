//! ProcessRun: what a worker does with a claimed run. Fetch (conditionally), decide
//! whether anything changed, store a new revision, normalize, extract context, and
//! commit the outcome with the source's new status in one transaction.
//!
//! Between stages the run checks its [`StopSignal`], so a cancel request (or a lost
//! lease) stops it without touching the source's current outputs: nothing is
//! committed until the last step.

use std::{
    future::Future,
    pin::{Pin, pin},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context as TaskContext, Poll},
    time::{Duration, Instant},
};

use futures_util::{
    future::{Either, select},
    task::AtomicWaker,
};

use sha2::{Digest, Sha256};

use super::handoff::HandedRun;
use crate::{
    Error, Result,
    ids::ArtifactId,
    ids::SourceId,
    model::{
        Artifact, ArtifactDraft, ArtifactWrite, Context, ContextDraft, HttpMeta, NormalizeInput, Postback, Revision,
        Run, RunKind, RunOutcome, RunStatus, Source, SourceInput, StageTimings,
        composition::{self, Member},
    },
    ports::{
        ArtifactExtractor, ArtifactRepository, BlobRead, BlobStore, ClaimedRun, Clock, Conditional, ContextExtractor,
        FetchError, FetchOutcome, Normalizer, RevisionRepository, RunFinish, RunQueue, RunSubject, SourceRepository,
        UploadRepository, UriFetcher,
    },
    state::{Event, SourceStatus},
};

/// Set by the worker when the run must stop at its next checkpoint; a fetch in
/// progress is abandoned at once.
#[derive(Debug, Default)]
pub struct StopSignal {
    stopped: AtomicBool,
    waker: AtomicWaker,
}

impl StopSignal {
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.waker.wake();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once [`StopSignal::stop`] was called.
    pub fn stopped(&self) -> Stopped<'_> {
        Stopped(self)
    }
}

/// The future returned by [`StopSignal::stopped`].
#[derive(Debug)]
pub struct Stopped<'a>(&'a StopSignal);

impl Future for Stopped<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        // Register before checking, so a stop between the two cannot be missed.
        self.0.waker.register(cx.waker());
        if self.0.is_stopped() { Poll::Ready(()) } else { Poll::Pending }
    }
}

/// How transient failures are retried: `max_attempts` claims in all, waiting
/// `base_delay * 2^(attempt-1)` before each retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, base_delay: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt, or `None` when attempts are exhausted.
    pub fn delay_after(&self, attempt: u32) -> Option<Duration> {
        (attempt < self.max_attempts).then(|| self.base_delay.saturating_mul(1 << attempt.saturating_sub(1).min(16)))
    }
}

/// The version stored on a revision: one part per output-producing port.
pub fn extractor_version(
    normalizer: &dyn Normalizer,
    context: &dyn ContextExtractor,
    artifacts: &dyn ArtifactExtractor,
) -> String {
    format!("{}+{}+{}", normalizer.version(), context.version(), artifacts.version())
}

/// The pipeline's ports.
#[derive(Clone)]
pub struct PipelinePorts {
    pub sources: Arc<dyn SourceRepository>,
    pub runs: Arc<dyn RunQueue>,
    pub revisions: Arc<dyn RevisionRepository>,
    pub blobs: Arc<dyn BlobStore>,
    pub uploads: Arc<dyn UploadRepository>,
    /// Compositions read their members' artifacts.
    pub artifacts: Arc<dyn ArtifactRepository>,
    pub uri_fetcher: Arc<dyn UriFetcher>,
    pub normalizer: Arc<dyn Normalizer>,
    pub context_extractor: Arc<dyn ContextExtractor>,
    pub artifact_extractor: Arc<dyn ArtifactExtractor>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for PipelinePorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelinePorts").finish_non_exhaustive()
    }
}

/// How a run ended, for the worker's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    Finished {
        status: RunStatus,
        outcome: Option<RunOutcome>,
    },
    /// Back in the queue after a transient failure.
    Retrying {
        after: Duration,
    },
    /// The run was no longer ours (reclaimed, deleted) when we tried to commit.
    Abandoned,
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    ports: PipelinePorts,
    retry: RetryPolicy,
    /// How many revisions keep their content; older ones keep only their metadata.
    retain_revisions: u32,
}

/// Why a stage stopped the run early.
enum Stop {
    Canceled,
    Failed { message: String, outcome: Option<RunOutcome> },
    Transient(String),
    Unchanged,
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        match error {
            Error::Unavailable(_) => Stop::Transient(format!("storage unavailable: {error}")),
            other => Stop::Failed { message: other.to_string(), outcome: None },
        }
    }
}

/// What a run that got through every stage commits.
struct Produced {
    revision: Revision,
    context: Option<Context>,
    artifacts: Option<ArtifactWrite>,
}

/// One composition member's outputs.
struct Gathered {
    label: String,
    markdown: Option<String>,
    context: Option<ContextDraft>,
    artifacts: Vec<ArtifactDraft>,
}

/// `sha256:` of the parts, in order.
fn sha256(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// Fetched material, before it becomes a revision.
struct Material {
    bytes: Vec<u8>,
    http: HttpMeta,
    /// Set when the fetcher hashed the bytes as they streamed in.
    content_hash: Option<String>,
}

impl Pipeline {
    pub fn new(ports: PipelinePorts, retry: RetryPolicy, retain_revisions: u32) -> Self {
        Self { ports, retry, retain_revisions: retain_revisions.max(1) }
    }

    /// The version of everything that produces outputs; a change re-extracts on refresh.
    pub fn extractor_version(&self) -> String {
        let ports = &self.ports;
        extractor_version(&*ports.normalizer, &*ports.context_extractor, &*ports.artifact_extractor)
    }

    /// Processes a run handed over by the request that accepted it (see
    /// [`super::handoff`]). The claim would have read the source's current revision
    /// with the run; the request did not, so it is read here.
    ///
    /// # Errors
    /// As [`Pipeline::process`]. When the revision cannot be read the run goes back to
    /// the queue for a retry.
    pub async fn process_handed(&self, handed: HandedRun, worker: &str, stop: &StopSignal) -> Result<Processed> {
        let HandedRun { run, source, previous } = handed;
        let current = match source.revision {
            Some(number) => match self.ports.revisions.get(source.id, number).await {
                Ok(current) => current,
                Err(error) => {
                    // Not the run's failure: it has not started. It goes back to the queue.
                    let after = self.retry.delay_after(run.attempt).unwrap_or(self.retry.base_delay);
                    let message = format!("reading the current revision failed: {error}");
                    return self.release_for_retry(&run, worker, &message, after).await;
                }
            },
            None => None,
        };
        let subject = RunSubject { source, current, previous };
        self.process(ClaimedRun { run, subject: Some(subject) }, worker, stop).await
    }

    /// Processes a run the caller has claimed.
    ///
    /// # Errors
    /// Only storage failures while committing the outcome; everything else ends the
    /// run (FAILED, CANCELED, or back in the queue) and is reported in [`Processed`].
    pub async fn process(&self, claimed: ClaimedRun, worker: &str, stop: &StopSignal) -> Result<Processed> {
        let mut timings = StageTimings::default();
        let ClaimedRun { run, subject } = claimed;
        let subject = subject.filter(|subject| !subject.source.is_deleted());
        let result = match &subject {
            None => Err(Stop::Canceled),
            // Asked to stop before this claim: a run that keeps failing to commit (or
            // whose workers keep dying) is reclaimed again and again, and must still
            // obey a cancel.
            Some(_) if run.cancel_requested => Err(Stop::Canceled),
            // Claimed more often than allowed: every earlier attempt ended without a
            // recorded outcome (a worker died, or its commit failed). Do not try again;
            // the run keeps `max_attempts` as its count, since this claim ran nothing.
            Some(_) if run.attempt > self.retry.max_attempts => Err(Stop::Failed {
                message: format!(
                    "gave up after {} attempts that ended without an outcome{}",
                    self.retry.max_attempts,
                    run.error.as_deref().map(|e| format!(" (last: {e})")).unwrap_or_default()
                ),
                outcome: None,
            }),
            Some(subject) => self.run_stages(&run, subject, stop, &mut timings).await,
        };
        let source = subject.map(|subject| subject.source);
        let finish = |status, outcome, mut error: Option<String>, produced: Option<Produced>| {
            // Messages quote what the world sent (a type, an address): keep them storable.
            error.iter_mut().for_each(crate::model::strip_nul);
            let (revision, context, artifacts) = match produced {
                Some(p) => (Some(p.revision), p.context, p.artifacts),
                None => (None, None, None),
            };
            RunFinish { status, outcome, error, revision, context, artifacts, postback: None, timings, attempt: None }
        };
        let (mut finish, processed) = match result {
            Ok(produced) => (
                finish(RunStatus::Completed, Some(RunOutcome::Changed), None, Some(produced)),
                Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Changed) },
            ),
            Err(Stop::Unchanged) => (
                finish(RunStatus::Completed, Some(RunOutcome::Unchanged), None, None),
                Processed::Finished { status: RunStatus::Completed, outcome: Some(RunOutcome::Unchanged) },
            ),
            Err(Stop::Canceled) => (
                finish(RunStatus::Canceled, None, None, None),
                Processed::Finished { status: RunStatus::Canceled, outcome: None },
            ),
            Err(Stop::Transient(message)) => match self.retry.delay_after(run.attempt) {
                Some(after) => return self.release_for_retry(&run, worker, &message, after).await,
                None => (
                    finish(RunStatus::Failed, None, Some(message), None),
                    Processed::Finished { status: RunStatus::Failed, outcome: None },
                ),
            },
            Err(Stop::Failed { message, outcome }) => (
                finish(RunStatus::Failed, outcome, Some(message), None),
                Processed::Finished { status: RunStatus::Failed, outcome },
            ),
        };
        if run.attempt > self.retry.max_attempts {
            finish.attempt = Some(self.retry.max_attempts);
        }
        finish.postback = source.as_ref().and_then(|source| self.postback_after(source, &run, &finish));
        let revision = finish.revision.clone();
        let status = finish.status;
        let held = match self.ports.runs.finish(run.id, finish).await {
            Ok(held) => held,
            // The database is down: nothing can be recorded now. The lease runs out and
            // the run is claimed again, at most `max_attempts` times in all.
            Err(error) if error.kind() == crate::ErrorKind::Unavailable => return Err(error),
            // The database refused what the run produced. Trying again would produce
            // the same and be refused the same, forever: the run fails instead, with
            // nothing but its message, and the previous outputs stay current.
            Err(error) if status != RunStatus::Failed || revision.is_some() => {
                let message = format!("the run's outcome could not be stored: {}", error.public_message());
                let mut failed = RunFinish::status_only(RunStatus::Failed);
                failed.error = Some(message);
                failed.timings = timings;
                failed.postback = source.as_ref().and_then(|source| self.postback_after(source, &run, &failed));
                return Ok(if self.ports.runs.finish(run.id, failed).await? {
                    Processed::Finished { status: RunStatus::Failed, outcome: None }
                } else {
                    Processed::Abandoned
                });
            }
            Err(error) => return Err(error),
        };
        if !held {
            // Someone else owns the run now: it was reclaimed after our lease ran out,
            // and the worker that holds it numbers its revision as we did, so it writes
            // the same blob keys. Deleting "our" blobs could delete the revision that
            // worker commits (seen under load as a committed revision without content).
            // What we wrote is either overwritten by it or unused until a later run
            // writes that revision number.
            return Ok(Processed::Abandoned);
        }
        // Retention: the revision that just fell out of the window loses its content.
        if let Some(expired) = revision.as_ref().and_then(|r| r.number.checked_sub(self.retain_revisions))
            && expired > 0
        {
            self.delete_revision_blobs(run.source_id, expired).await;
        }
        Ok(processed)
    }

    /// Puts the run back in the queue, claimable after `after`.
    async fn release_for_retry(&self, run: &Run, worker: &str, message: &str, after: Duration) -> Result<Processed> {
        let retry_at = self.ports.clock.now() + chrono::Duration::from_std(after).unwrap_or_default();
        let held = self.ports.runs.release(run.id, worker, message, retry_at).await?;
        Ok(if held { Processed::Retrying { after } } else { Processed::Abandoned })
    }

    /// The notification for the state the source will be in once `finish` commits.
    fn postback_after(&self, source: &Source, run: &Run, finish: &RunFinish) -> Option<Postback> {
        source.postback_url.as_ref()?;
        let mut source = source.clone();
        let event = match finish.status {
            RunStatus::Completed => Event::Succeed,
            RunStatus::Failed => Event::Fail,
            _ => Event::Stop,
        };
        source.status = SourceStatus::Processing.apply(event).ok()?.to;
        source.message.clone_from(&finish.error);
        if let Some(revision) = &finish.revision {
            source.revision = Some(revision.number);
        }
        let mut run = run.clone();
        run.status = finish.status;
        run.outcome = finish.outcome;
        Postback::for_source(&source, Some(&run), self.ports.clock.now())
    }

    async fn run_stages(
        &self,
        run: &Run,
        subject: &RunSubject,
        stop: &StopSignal,
        timings: &mut StageTimings,
    ) -> Result<Produced, Stop> {
        let (source, current) = (&subject.source, subject.current.as_ref());
        if let SourceInput::Composition { source_ids } = &source.input {
            return self.compose(run, subject, source_ids, stop, timings).await;
        }
        let extractor_version = self.extractor_version();

        let started = Instant::now();
        let material = self.material(run, source, current, stop).await?;
        timings.fetch = Some(elapsed_ms(started));
        checkpoint(stop)?;

        // 304: the origin says the content is the current revision's. The UNCHANGED
        // decision is made once, before anything is read back.
        let no_content =
            || Stop::Failed { message: "origin answered 304 but no content was stored".into(), outcome: None };
        let content_hash = match &material {
            Some(material) => material.content_hash.clone().unwrap_or_else(|| sha256(&[&material.bytes])),
            None => current.ok_or_else(no_content)?.content_hash.clone(),
        };
        Self::stop_if_unchanged(run, subject, &content_hash, &extractor_version)?;
        let (bytes, http) = match material {
            Some(material) => (material.bytes, material.http),
            None => {
                let current = current.ok_or_else(no_content)?;
                (self.stored_raw(current).await?, current.http.clone())
            }
        };

        let started = Instant::now();
        let content_type = http.content_type.clone();
        let url = match &source.input {
            SourceInput::Uri { url } => Some(url.as_str()),
            _ => None,
        };
        let mut document = self
            .ports
            .normalizer
            .normalize(NormalizeInput { bytes: &bytes, content_type: content_type.as_deref(), url })
            .map_err(|message| Stop::Failed { message, outcome: None })?;
        // The raw bytes keep whatever they hold; the text every output is made of
        // holds nothing the database cannot store.
        document.strip_nul();
        timings.normalize = Some(elapsed_ms(started));
        checkpoint(stop)?;

        let number = source.revision.unwrap_or(0) + 1;
        let revision = self.revision(source.id, number, content_hash, http, bytes.len(), extractor_version.clone());
        // The context points at the artifacts, so they are found whenever either output
        // is wanted.
        let started = Instant::now();
        let artifacts = if run.flags.run_context_extraction || run.flags.run_artifact_extraction {
            self.ports.artifact_extractor.extract(&document)
        } else {
            Vec::new()
        };
        timings.artifacts = Some(elapsed_ms(started));
        let stored_artifacts = self.artifact_write(run, source, number, &artifacts);
        let context = if run.flags.run_context_extraction {
            let started = Instant::now();
            let mut draft = self.ports.context_extractor.extract(&document, &artifacts).await;
            draft.strip_nul();
            timings.context = Some(elapsed_ms(started));
            Some(self.context(source.id, number, extractor_version, draft))
        } else {
            None
        };
        checkpoint(stop)?;
        self.store_blobs(source.id, number, bytes, document.markdown.into_bytes()).await?;
        Ok(Produced { revision, context, artifacts: stored_artifacts })
    }

    /// A COMPOSITION's run: its members' current markdown, artifacts and contexts
    /// joined in order (see [`composition`]). Nothing is re-extracted; the "fetch"
    /// stage is reading the members.
    async fn compose(
        &self,
        run: &Run,
        subject: &RunSubject,
        source_ids: &[SourceId],
        stop: &StopSignal,
        timings: &mut StageTimings,
    ) -> Result<Produced, Stop> {
        let source = &subject.source;
        let extractor_version = self.extractor_version();
        let started = Instant::now();
        let found = self.ports.sources.get_many(source.user_id, source_ids).await?;
        let mut gathered = Vec::with_capacity(source_ids.len());
        for id in source_ids {
            // A deleted member is left out until it is restored (both rebuild).
            let Some(member) = found.iter().find(|m| m.id == *id && !m.is_deleted()) else { continue };
            gathered.push(self.gather(member).await?);
            checkpoint(stop)?;
        }
        timings.fetch = Some(elapsed_ms(started));
        if gathered.iter().all(|g| g.markdown.is_none()) {
            return Err(Stop::Failed {
                message: "none of the composition's live sources has content yet; it is rebuilt when one has".into(),
                outcome: None,
            });
        }

        let started = Instant::now();
        let title = source.name.clone().unwrap_or_else(|| "Composition".to_owned());
        let members: Vec<Member<'_>> = gathered
            .iter()
            .map(|g| Member {
                label: &g.label,
                markdown: g.markdown.as_deref(),
                context: g.context.as_ref(),
                artifacts: &g.artifacts,
            })
            .collect();
        let composed = composition::compose(&title, &members);
        timings.normalize = Some(elapsed_ms(started));
        // The members' contexts are part of what the composition is: a member
        // re-extracted with the same markdown still changes the composition.
        let content_hash = sha256(&[composed.markdown.as_bytes(), b"\0", composed.context.content.as_bytes()]);
        Self::stop_if_unchanged(run, subject, &content_hash, &extractor_version)?;

        let number = source.revision.unwrap_or(0) + 1;
        let markdown = composed.markdown.into_bytes();
        let http = HttpMeta { content_type: Some("text/markdown; charset=utf-8".into()), ..HttpMeta::default() };
        let revision = self.revision(source.id, number, content_hash, http, markdown.len(), extractor_version.clone());
        let artifacts = self.artifact_write(run, source, number, &composed.artifacts);
        let context = run.flags.run_context_extraction.then(|| {
            let mut draft = composed.context;
            let count = |text: &str| self.ports.context_extractor.count_tokens(text);
            draft.original_tokens = count(std::str::from_utf8(&markdown).unwrap_or_default());
            draft.context_tokens = count(&draft.content);
            self.context(source.id, number, extractor_version, draft)
        });
        checkpoint(stop)?;
        self.store_blobs(source.id, number, markdown.clone(), markdown).await?;
        Ok(Produced { revision, context, artifacts })
    }

    /// What a composition needs of one member: its current markdown, context and
    /// artifacts, or nothing when it has no content yet.
    async fn gather(&self, member: &Source) -> Result<Gathered, Stop> {
        let mut gathered = Gathered {
            label: member.name.clone().unwrap_or_else(|| format!("source {}", member.id)),
            markdown: None,
            context: None,
            artifacts: Vec::new(),
        };
        let Some(number) = member.revision else { return Ok(gathered) };
        let Some(markdown) = self.ports.blobs.get(&Revision::markdown_key(member.id, number)).await? else {
            return Ok(gathered);
        };
        gathered.markdown = Some(String::from_utf8_lossy(&markdown).into_owned());
        if let Some(context) = self.ports.revisions.context(member.id, number).await? {
            if member.name.is_none()
                && let Some(title) = &context.draft.title
            {
                gathered.label.clone_from(title);
            }
            gathered.context = Some(context.draft);
        }
        gathered.artifacts =
            self.ports.artifacts.for_revision(member.id, number).await?.into_iter().map(|a| a.draft).collect();
        Ok(gathered)
    }

    /// Ends the run as UNCHANGED when nothing it would produce differs: same content,
    /// same extractor, the last run succeeded, and nobody forced it. A reprocess is
    /// always asked for its outputs.
    /// The UNCHANGED rule: same content, same extractor version, the run before this
    /// one succeeded, and nobody asked to force or reprocess.
    fn stop_if_unchanged(
        run: &Run,
        subject: &RunSubject,
        content_hash: &str,
        extractor_version: &str,
    ) -> Result<(), Stop> {
        let Some(current) = &subject.current else { return Ok(()) };
        let same = current.content_hash == content_hash && current.extractor_version == extractor_version;
        let last_succeeded = subject.previous == Some(RunStatus::Completed);
        if same && run.kind != RunKind::Reprocess && !run.flags.force && last_succeeded {
            return Err(Stop::Unchanged);
        }
        Ok(())
    }

    fn revision(
        &self,
        source_id: SourceId,
        number: u32,
        content_hash: String,
        http: HttpMeta,
        bytes: usize,
        extractor_version: String,
    ) -> Revision {
        Revision {
            source_id,
            number,
            content_hash,
            fetched_at: self.ports.clock.now(),
            http,
            bytes: bytes as u64,
            extractor_version,
        }
    }

    fn artifact_write(
        &self,
        run: &Run,
        source: &Source,
        number: u32,
        drafts: &[ArtifactDraft],
    ) -> Option<ArtifactWrite> {
        let now = self.ports.clock.now();
        run.flags.run_artifact_extraction.then(|| ArtifactWrite {
            artifacts: drafts
                .iter()
                .map(|draft| Artifact {
                    id: ArtifactId::new(),
                    source_id: source.id,
                    space_id: source.space_id,
                    revision: number,
                    draft: draft.clone(),
                    created_at: now,
                })
                .collect(),
            // Only a reprocess may keep the current set (`update_existing=false`).
            replace: run.kind != RunKind::Reprocess || run.flags.update_existing,
        })
    }

    fn context(&self, source_id: SourceId, revision: u32, extractor_version: String, draft: ContextDraft) -> Context {
        Context { source_id, revision, extractor_version, draft, created_at: self.ports.clock.now() }
    }

    /// Blobs first: if the commit then fails, orphaned blobs are harmless, while a
    /// committed revision without its blobs would not be.
    async fn store_blobs(&self, source_id: SourceId, number: u32, raw: Vec<u8>, markdown: Vec<u8>) -> Result<(), Stop> {
        self.ports.blobs.put(&Revision::raw_key(source_id, number), raw).await?;
        self.ports.blobs.put(&Revision::markdown_key(source_id, number), markdown).await?;
        Ok(())
    }

    /// The bytes this run works on; `None` means "unchanged at the origin" (304).
    async fn material(
        &self,
        run: &Run,
        source: &Source,
        current: Option<&Revision>,
        stop: &StopSignal,
    ) -> Result<Option<Material>, Stop> {
        let input = match run.kind {
            RunKind::Reprocess => {
                let current = current.ok_or_else(|| Stop::Failed {
                    message: "no content has been stored for this source yet".into(),
                    outcome: None,
                })?;
                let bytes = self.stored_raw(current).await?;
                return Ok(Some(Material {
                    bytes,
                    http: current.http.clone(),
                    content_hash: Some(current.content_hash.clone()),
                }));
            }
            RunKind::FastForward => run.input.as_ref().unwrap_or(&source.input),
            RunKind::Initial | RunKind::Refresh | RunKind::ScheduledRefresh => &source.input,
        };
        match input {
            SourceInput::Content { data } => Ok(Some(Material {
                bytes: data.clone().into_bytes(),
                http: HttpMeta { content_type: Some("text/plain; charset=utf-8".into()), ..HttpMeta::default() },
                content_hash: None,
            })),
            SourceInput::Uri { url } => {
                // A fast-forward brings new material: never let a validator skip it.
                let mut conditional = match (run.kind, current) {
                    (RunKind::FastForward, _) | (_, None) => Conditional::default(),
                    (_, Some(current)) => Conditional {
                        etag: current.http.etag.clone(),
                        last_modified: current.http.last_modified.clone(),
                        honour_robots: false,
                    },
                };
                conditional.honour_robots = run.kind == RunKind::ScheduledRefresh;
                // A cancel must not wait for a slow origin: whichever finishes first wins.
                let fetch = pin!(self.ports.uri_fetcher.fetch(url, &conditional));
                let fetched = match select(fetch, pin!(stop.stopped())).await {
                    Either::Left((fetched, _)) => fetched,
                    Either::Right(((), _)) => return Err(Stop::Canceled),
                };
                match fetched {
                    Ok(FetchOutcome::Fetched { bytes, http, content_hash }) => {
                        Ok(Some(Material { bytes, http, content_hash }))
                    }
                    Ok(FetchOutcome::NotModified) => Ok(None),
                    Ok(FetchOutcome::Gone { status }) => Err(Stop::Failed {
                        message: format!("origin answered {status}"),
                        outcome: Some(RunOutcome::Gone),
                    }),
                    Err(FetchError { transient: true, message }) => Err(Stop::Transient(message)),
                    Err(FetchError { transient: false, message }) => Err(Stop::Failed { message, outcome: None }),
                }
            }
            SourceInput::File { file_key } => {
                let upload = self.ports.uploads.find(file_key).await?.ok_or_else(|| Stop::Failed {
                    message: "the upload this source was made from no longer exists".into(),
                    outcome: Some(RunOutcome::Gone),
                })?;
                // The store's ETag plays the origin's: an object that was not
                // overwritten is not read again.
                let if_none_match = match (run.kind, current) {
                    (RunKind::FastForward, _) | (_, None) => None,
                    (_, Some(current)) => current.http.etag.clone(),
                };
                match self.ports.blobs.read(&upload.object_key(), if_none_match).await? {
                    BlobRead::NotModified => Ok(None),
                    BlobRead::Missing => Err(Stop::Failed {
                        message: format!("the uploaded file {} is no longer in storage", upload.filename),
                        outcome: Some(RunOutcome::Gone),
                    }),
                    BlobRead::Found { bytes, meta } => Ok(Some(Material {
                        bytes,
                        content_hash: None,
                        http: HttpMeta {
                            status: None,
                            etag: meta.etag,
                            last_modified: Some(meta.last_modified.to_rfc2822()),
                            content_type: Some(upload.content_type),
                        },
                    })),
                }
            }
            SourceInput::Composition { .. } => Err(Stop::Failed {
                message: "a composition's content comes from its members, not from new material".into(),
                outcome: None,
            }),
        }
    }

    async fn stored_raw(&self, revision: &Revision) -> Result<Vec<u8>, Stop> {
        self.ports.blobs.get(&Revision::raw_key(revision.source_id, revision.number)).await?.ok_or_else(|| {
            Stop::Failed {
                message: format!("the content of revision {} is no longer stored", revision.number),
                outcome: None,
            }
        })
    }

    async fn delete_revision_blobs(&self, source_id: SourceId, number: u32) {
        for key in [Revision::raw_key(source_id, number), Revision::markdown_key(source_id, number)] {
            // Best effort: an orphaned blob wastes space but breaks nothing.
            let _ = self.ports.blobs.delete(&key).await;
        }
    }
}

fn checkpoint(stop: &StopSignal) -> Result<(), Stop> {
    if stop.is_stopped() { Err(Stop::Canceled) } else { Ok(()) }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
