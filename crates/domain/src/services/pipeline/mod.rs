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
        Artifact, ArtifactDraft, ArtifactWrite, Context, ContextDraft, HttpMeta, NormalizeInput, PageType, Postback,
        Revision, Run, RunKind, RunOutcome, RunStatus, Source, SourceInput, StageTimings,
        composition::{self, Member},
    },
    ports::{
        ArtifactExtractor, ArtifactRepository, BlobRead, BlobStore, ClaimedRun, Clock, Conditional, ContextExtractor,
        FetchError, FetchOutcome, Normalizer, RevisionRepository, RunFinish, RunQueue, RunSubject, SourceRepository,
        UploadRepository, UriFetcher,
    },
    state::{Event, SourceStatus},
};

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
    /// CHANGED for new content or re-extracted outputs that differ from those served;
    /// UNCHANGED when re-extracting the current content made the same outputs.
    outcome: RunOutcome,
}

/// What the stages made of a source's material, before it is placed in a revision.
struct Made {
    content_hash: String,
    http: HttpMeta,
    /// The material was read from its origin now (not the stored copy).
    fetched: bool,
    raw: Vec<u8>,
    markdown: String,
    page_type: Option<PageType>,
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
        let previous_number = source.as_ref().and_then(|source| source.revision);
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
            Ok(produced) => {
                let outcome = Some(produced.outcome);
                (
                    finish(RunStatus::Completed, outcome, None, Some(produced)),
                    Processed::Finished { status: RunStatus::Completed, outcome },
                )
            }
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
        // A re-extraction into the current revision moved no window: its expired
        // revision was pruned when the current one was first stored.
        let new_number = revision.as_ref().map(|r| r.number).filter(|n| Some(*n) != previous_number);
        if let Some(expired) = new_number.and_then(|n| n.checked_sub(self.retain_revisions))
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
        let fetched = material.is_some();
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

        // The context points at the artifacts, so they are found whenever either output
        // is wanted.
        let started = Instant::now();
        let artifacts = if run.flags.run_context_extraction || run.flags.run_artifact_extraction {
            self.ports.artifact_extractor.extract(&document)
        } else {
            Vec::new()
        };
        timings.artifacts = Some(elapsed_ms(started));
        let context = if run.flags.run_context_extraction {
            let started = Instant::now();
            let mut draft = self.ports.context_extractor.extract(&document, &artifacts).await;
            draft.strip_nul();
            timings.context = Some(elapsed_ms(started));
            Some(draft)
        } else {
            None
        };
        checkpoint(stop)?;
        let made = Made {
            content_hash,
            http,
            fetched,
            raw: bytes,
            markdown: document.markdown,
            page_type: document.page_type,
            context,
            artifacts,
        };
        self.place(run, subject, made, extractor_version).await
    }

    /// Puts what a run made in place. Each distinct content is one revision: content
    /// that hashes like the current revision's (a reprocess, a forced refresh, a
    /// refresh after a cancel) is re-extracted into that revision, which keeps its
    /// number and takes the new extractor version; other content is the next revision.
    /// Phases that did not run leave the outputs they would have replaced as they are.
    async fn place(
        &self,
        run: &Run,
        subject: &RunSubject,
        made: Made,
        extractor_version: String,
    ) -> Result<Produced, Stop> {
        let source = &subject.source;
        let in_place = subject.current.as_ref().filter(|current| current.content_hash == made.content_hash);
        let now = self.ports.clock.now();
        let (revision, outcome) = match in_place {
            Some(current) => {
                let same = self.same_outputs(run, current, &made).await?;
                let mut revision = current.clone();
                revision.extractor_version.clone_from(&extractor_version);
                revision.page_type = made.page_type;
                if made.fetched {
                    revision.fetched_at = now;
                    revision.http = made.http;
                }
                (revision, if same { RunOutcome::Unchanged } else { RunOutcome::Changed })
            }
            None => {
                let number = source.revision.unwrap_or(0) + 1;
                let revision = Revision {
                    source_id: source.id,
                    number,
                    content_hash: made.content_hash,
                    fetched_at: now,
                    http: made.http,
                    bytes: made.raw.len() as u64,
                    extractor_version: extractor_version.clone(),
                    page_type: made.page_type,
                };
                (revision, RunOutcome::Changed)
            }
        };
        let number = revision.number;
        // Re-made identical artifacts are not written again: their ids stay valid.
        let artifacts = match outcome {
            RunOutcome::Unchanged => None,
            _ => self.artifact_write(run, source, number, &made.artifacts),
        };
        let context = made.context.map(|draft| self.context(source.id, number, extractor_version, draft));
        // Blobs first: if the commit then fails, orphaned blobs are harmless, while a
        // committed revision without its blobs would not be. Re-extracted markdown that
        // differs replaces the current revision's (same content, newer normalizer).
        if in_place.is_none() {
            self.ports.blobs.put(&Revision::raw_key(source.id, number), made.raw).await?;
        }
        if in_place.is_none() || outcome == RunOutcome::Changed {
            self.ports.blobs.put(&Revision::markdown_key(source.id, number), made.markdown.into_bytes()).await?;
        }
        Ok(Produced { revision, context, artifacts, outcome })
    }

    /// Whether re-extracting `current`'s content made exactly the outputs served now
    /// (the phases that ran; the markdown always).
    async fn same_outputs(&self, run: &Run, current: &Revision, made: &Made) -> Result<bool, Stop> {
        let markdown = self.ports.blobs.get(&Revision::markdown_key(current.source_id, current.number)).await?;
        if markdown.as_deref() != Some(made.markdown.as_bytes()) {
            return Ok(false);
        }
        if let Some(draft) = &made.context {
            let served = self.ports.revisions.context(current.source_id, current.number).await?;
            if served.is_none_or(|served| served.draft != *draft) {
                return Ok(false);
            }
        }
        if run.flags.run_artifact_extraction {
            let served = self.ports.artifacts.for_revision(current.source_id, current.number).await?;
            if !served.iter().map(|a| &a.draft).eq(made.artifacts.iter()) {
                return Ok(false);
            }
        }
        Ok(true)
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

    async fn delete_revision_blobs(&self, source_id: SourceId, number: u32) {
        for key in [Revision::raw_key(source_id, number), Revision::markdown_key(source_id, number)] {
            // Best effort: an orphaned blob wastes space but breaks nothing.
            let _ = self.ports.blobs.delete(&key).await;
        }
        // The outputs made from that content go with it, so the rows a source keeps
        // stay bounded by `revisions.retain` too. Best effort as well: what stays is
        // served (or answers 410) as before.
        let _ = self.ports.revisions.prune_outputs(source_id, number).await;
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

mod compose;
mod material;
mod retry;
mod stop;

pub use retry::RetryPolicy;
use stop::checkpoint;
pub use stop::{StopSignal, Stopped};

#[cfg(test)]
mod tests;
