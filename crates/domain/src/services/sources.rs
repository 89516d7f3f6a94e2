//! Source use cases: create (four types), read, list, patch, soft delete and restore,
//! pin, cancel, and the three processing actions (refresh, reprocess, fast-forward).
//!
//! Every write reads the source, decides with the status machine, and saves with a
//! compare-and-set on the status it read, retrying a few times if a concurrent
//! request or a worker got there first.

use chrono::{DateTime, Utc};
use url::Url;

use super::{
    Limits, Ports,
    handoff::{HandedRun, Reservation},
};
use crate::{
    Error, FieldError, Result,
    error::Violations,
    ids::{CollectionId, SourceId, SpaceId},
    model::{
        Page, PageRequest, Postback, RefreshMode, RefreshPolicy, Run, RunFlags, RunKind, RunStatus, Source,
        SourceFields, SourceInput, SourceMaterial, SourceType, User, check_name, check_text,
    },
    ports::{Expected, Lease, RunWrite, SourceFilter},
    state::{Effect, Event, SourceStatus},
};

/// A requested refresh policy, before validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicyInput {
    pub mode: RefreshMode,
    pub interval_seconds: Option<u64>,
}

/// A source to register: its material as the caller stated it, with where each part
/// sits in the caller's wire form (for error paths), and the optional attributes.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub input: SourceMaterial,
    pub fields: SourceFields,
    pub name: Option<String>,
    pub description: Option<String>,
    pub collection_id: Option<CollectionId>,
    pub postback_url: Option<String>,
    pub run_context_extraction: Option<bool>,
    pub run_artifact_extraction: Option<bool>,
    pub refresh_policy: Option<RefreshPolicyInput>,
}

impl NewSource {
    /// A request with only the material (and plain field names); the rest take
    /// their defaults.
    pub fn new(input: SourceMaterial) -> Self {
        Self {
            input,
            fields: SourceFields::PLAIN,
            name: None,
            description: None,
            collection_id: None,
            postback_url: None,
            run_context_extraction: None,
            run_artifact_extraction: None,
            refresh_policy: None,
        }
    }
}

/// Body of `PATCH /v1/sources/{id}`. `None` keeps a field; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct SourcePatch {
    /// Where the postback URL and refresh policy sit in the caller's wire form.
    pub fields: SourceFields,
    pub name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub collection_id: Option<Option<CollectionId>>,
    pub refresh_policy: Option<RefreshPolicyInput>,
    pub postback_url: Option<Option<String>>,
}

/// Body of `POST .../refresh`; absent fields take the contract's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefreshRequest {
    pub run_context_extraction: Option<bool>,
    pub run_artifact_extraction: Option<bool>,
    pub force: Option<bool>,
}

/// Body of `POST .../reprocess`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReprocessRequest {
    pub run_context_extraction: Option<bool>,
    pub run_artifact_extraction: Option<bool>,
    pub update_existing: Option<bool>,
}

/// Body of `POST .../fast-forward`: the new material, as [`NewSource`] carries it.
#[derive(Debug, Clone)]
pub struct FastForwardRequest {
    pub input: SourceMaterial,
    pub fields: SourceFields,
    pub postback_url: Option<String>,
    pub run_context_extraction: Option<bool>,
    pub run_artifact_extraction: Option<bool>,
}

/// Which sources a mutation may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visibility {
    /// Soft-deleted sources are not found.
    Live,
    /// Soft-deleted sources too (restore).
    Any,
}

/// How often a write is retried after losing a compare-and-set race.
const MAX_SAVE_ATTEMPTS: usize = 3;

#[derive(Debug, Clone)]
pub struct SourceService {
    ports: Ports,
    limits: Limits,
}

impl SourceService {
    pub fn new(ports: Ports, limits: Limits) -> Self {
        Self { ports, limits }
    }

    /// Registers a source and queues its first run.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown space; [`Error::Validation`] listing every
    /// bad field (shape of `initial_data` per type, unknown or foreign `fileKey`,
    /// composition members outside the space, collection outside the space, postback
    /// URL, refresh policy on a type without an origin).
    pub async fn create(&self, user: &User, space_id: SpaceId, request: NewSource) -> Result<Source> {
        self.ports.spaces.get(user.id, space_id).await?.ok_or(Error::NotFound("space"))?;
        let now = self.ports.clock.now();
        let mut violations = Violations::default();
        let fields = request.fields;
        let source_type = request.input.source_type();
        let input = self.parse_input(user, space_id, &request.input, &fields, &mut violations).await?;
        check_optional_name(&mut violations, "name", &request.name);
        check_optional_text(&mut violations, "description", &request.description, 10_000);
        if let Some(collection_id) = request.collection_id {
            self.check_collection(user, space_id, collection_id, &mut violations).await?;
        }
        let postback_url = match &request.postback_url {
            Some(raw) => violations.check(self.parse_postback_url(fields.postback_url, raw)),
            None => None,
        };
        let refresh_policy = match request.refresh_policy {
            Some(policy) => {
                violations.check(self.parse_refresh_policy(fields.refresh_policy, source_type, policy, now))
            }
            None => Some(RefreshPolicy::default()),
        };
        violations.finish()?;

        let flags = RunFlags {
            run_context_extraction: request.run_context_extraction.unwrap_or(true),
            run_artifact_extraction: request.run_artifact_extraction.unwrap_or(true),
            ..RunFlags::default()
        };
        let (mut source, run) = Source::submitted(user.id, space_id, input.expect("validated"), flags, now);
        source.collection_id = request.collection_id;
        source.name = request.name;
        source.description = request.description;
        source.postback_url = postback_url;
        source.refresh_policy = refresh_policy.expect("validated");
        // As in `mutate`: straight to an idle worker when there is one.
        let Some(reservation) = self.ports.handoff.reserve() else {
            self.ports.sources.create(&source, &run, None).await?;
            self.ports.handoff.queued();
            return Ok(source);
        };
        let accepted = source.clone();
        // The lease runs from now, not from when validation began.
        let now = self.ports.clock.now();
        let (leased, lease) = lease(&mut source, &run, &reservation, now)?;
        self.ports.sources.create(&source, &leased, Some(lease)).await?;
        self.hand_over(reservation, HandedRun { run: leased, source, previous: None }, now).await;
        Ok(accepted)
    }

    /// Gives a run stored leased to `reservation`'s worker to that worker.
    async fn hand_over(&self, reservation: Reservation, handed: HandedRun, now: DateTime<Utc>) {
        let (worker, run_id) = (reservation.worker().to_owned(), handed.run.id);
        if reservation.hand(handed).is_err() {
            // The worker stopped in between: the queue takes the run back. The request
            // itself was accepted, so a failure here is not its error: the lease's
            // expiry puts the run back then.
            let message = "the worker it was handed to stopped";
            let _ = self.ports.runs.release(run_id, &worker, message, now).await;
        }
    }

    /// # Errors
    /// [`Error::NotFound`] when missing, soft-deleted or someone else's.
    pub async fn get(&self, user: &User, id: SourceId) -> Result<Source> {
        match self.ports.sources.get(user.id, id).await? {
            Some(source) if !source.is_deleted() => Ok(source),
            _ => Err(Error::NotFound("source")),
        }
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown space.
    pub async fn list(
        &self,
        user: &User,
        space_id: SpaceId,
        filter: SourceFilter,
        page: PageRequest,
    ) -> Result<Page<Source>> {
        self.ports.spaces.get(user.id, space_id).await?.ok_or(Error::NotFound("space"))?;
        self.ports.sources.list(space_id, &filter, page).await
    }

    /// Changes name, description, collection, refresh policy or postback URL.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Validation`] per bad field.
    pub async fn update(&self, user: &User, id: SourceId, patch: SourcePatch) -> Result<Source> {
        let current = self.get(user, id).await?;
        let now = self.ports.clock.now();
        let mut violations = Violations::default();
        if let Some(name) = &patch.name {
            check_optional_name(&mut violations, "name", name);
        }
        if let Some(description) = &patch.description {
            check_optional_text(&mut violations, "description", description, 10_000);
        }
        if let Some(Some(collection_id)) = patch.collection_id {
            self.check_collection(user, current.space_id, collection_id, &mut violations).await?;
        }
        let fields = patch.fields;
        let postback_url = match &patch.postback_url {
            Some(Some(raw)) => violations.check(self.parse_postback_url(fields.postback_url, raw)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let refresh_policy = match patch.refresh_policy {
            Some(policy) => {
                violations.check(self.parse_refresh_policy(fields.refresh_policy, current.source_type(), policy, now))
            }
            None => None,
        };
        violations.finish()?;
        self.mutate(user, id, Visibility::Live, move |source, _| {
            if let Some(name) = &patch.name {
                source.name.clone_from(name);
            }
            if let Some(description) = &patch.description {
                source.description.clone_from(description);
            }
            if let Some(collection_id) = patch.collection_id {
                source.collection_id = collection_id;
            }
            if let Some(postback_url) = &postback_url {
                source.postback_url.clone_from(postback_url);
            }
            if let Some(policy) = refresh_policy {
                source.refresh_policy = policy;
            }
            Ok(RunWrite::None)
        })
        .await
    }

    /// Soft delete: hidden from reads, work in flight canceled.
    ///
    /// # Errors
    /// [`Error::NotFound`] (also when already deleted).
    pub async fn delete(&self, user: &User, id: SourceId) -> Result<()> {
        self.mutate(user, id, Visibility::Live, |source, now| {
            source.deleted_at = Some(now);
            if source.status.is_final() { Ok(RunWrite::None) } else { cancel(source, now) }
        })
        .await?;
        // Compositions holding it drop it on their rebuild.
        self.ports.sources.request_rebuilds_of(id).await
    }

    /// Undoes a soft delete, within `retention.deleted_grace_days` of it and while
    /// the source's space exists: past that the source is the purge's (its objects
    /// may be gone already), so it is not found.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] when the source is not deleted.
    pub async fn restore(&self, user: &User, id: SourceId) -> Result<Source> {
        let source = self.ports.sources.get(user.id, id).await?.ok_or(Error::NotFound("source"))?;
        if self.ports.spaces.get(user.id, source.space_id).await?.is_none() {
            return Err(Error::NotFound("source"));
        }
        let grace = self.limits.deleted_grace;
        let restored = self
            .mutate(user, id, Visibility::Any, |source, now| {
                match source.deleted_at {
                    None => return Err(Error::Conflict("source is not deleted".into())),
                    Some(deleted_at) if deleted_at <= now - grace => return Err(Error::NotFound("source")),
                    Some(_) => {}
                }
                source.deleted_at = None;
                Ok(RunWrite::None)
            })
            .await?;
        self.ports.sources.request_rebuilds_of(id).await?;
        Ok(restored)
    }

    /// # Errors
    /// [`Error::NotFound`].
    pub async fn toggle_pin(&self, user: &User, id: SourceId) -> Result<Source> {
        self.mutate(user, id, Visibility::Live, |source, _| {
            source.pinned = !source.pinned;
            Ok(RunWrite::None)
        })
        .await
    }

    /// Cancels queued work at once, or asks the worker to stop at its next checkpoint.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] unless CREATED, PENDING or PROCESSING.
    pub async fn cancel(&self, user: &User, id: SourceId) -> Result<Source> {
        self.mutate(user, id, Visibility::Live, cancel).await
    }

    /// Queues a re-fetch of a URI or FILE source, or folds the request into the run
    /// already queued.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Validation`] (field `type`) for CONTENT and
    /// COMPOSITION sources; [`Error::Conflict`] from CREATED and PROCESSING.
    pub async fn refresh(&self, user: &User, id: SourceId, request: RefreshRequest) -> Result<Source> {
        let flags = RunFlags {
            run_context_extraction: request.run_context_extraction.unwrap_or(true),
            run_artifact_extraction: request.run_artifact_extraction.unwrap_or(true),
            force: request.force.unwrap_or(false),
            update_existing: true,
        };
        self.mutate(user, id, Visibility::Live, move |source, now| {
            if !source.source_type().is_refreshable() {
                return Err(Error::invalid(
                    "type",
                    format!("only URI and FILE sources can be refreshed; this source is {}", source.source_type()),
                ));
            }
            let transition = source.status.apply(Event::Refresh)?;
            match transition.effect {
                Effect::CoalesceIntoQueuedRun => coalesce(source, flags),
                _ => Ok(start_run(source, RunKind::Refresh, flags, None, now)),
            }
        })
        .await
    }

    /// Queues extraction over the stored content of the current revision.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] unless COMPLETED or FAILED, or when no
    /// content was ever stored.
    pub async fn reprocess(&self, user: &User, id: SourceId, request: ReprocessRequest) -> Result<Source> {
        let flags = RunFlags {
            run_context_extraction: request.run_context_extraction.unwrap_or(true),
            run_artifact_extraction: request.run_artifact_extraction.unwrap_or(true),
            force: false,
            update_existing: request.update_existing.unwrap_or(true),
        };
        self.mutate(user, id, Visibility::Live, move |source, now| {
            source.status.apply(Event::Reprocess)?;
            if source.revision.is_none() {
                return Err(Error::Conflict("no content has been stored for this source yet".into()));
            }
            Ok(start_run(source, RunKind::Reprocess, flags, None, now))
        })
        .await
    }

    /// Queues ingestion of new material for the source.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Validation`] for bad material or a COMPOSITION
    /// source; [`Error::Conflict`] unless COMPLETED or FAILED.
    pub async fn fast_forward(&self, user: &User, id: SourceId, request: FastForwardRequest) -> Result<Source> {
        let current = self.get(user, id).await?;
        let mut violations = Violations::default();
        let fields = request.fields;
        if request.input.source_type() == SourceType::Composition {
            violations.add(fields.source_type, "must be URI, FILE or CONTENT");
        } else if current.source_type() == SourceType::Composition {
            violations
                .add(fields.source_type, "a COMPOSITION source is built from its members and cannot be fast-forwarded");
        }
        let input = if violations.is_empty() {
            self.parse_input(user, current.space_id, &request.input, &fields, &mut violations).await?
        } else {
            None
        };
        let postback_url = match &request.postback_url {
            Some(raw) => violations.check(self.parse_postback_url(fields.postback_url, raw)),
            None => None,
        };
        violations.finish()?;
        let input = input.expect("validated");
        let flags = RunFlags {
            run_context_extraction: request.run_context_extraction.unwrap_or(true),
            run_artifact_extraction: request.run_artifact_extraction.unwrap_or(true),
            ..RunFlags::default()
        };
        self.mutate(user, id, Visibility::Live, move |source, now| {
            source.status.apply(Event::FastForward)?;
            if let Some(url) = &postback_url {
                source.postback_url = Some(url.clone());
            }
            Ok(start_run(source, RunKind::FastForward, flags, Some(input.clone()), now))
        })
        .await
    }

    /// Reads, changes and saves a source with a compare-and-set on its status and last
    /// run (see [`Expected`]), reading again when another writer came first.
    async fn mutate<F>(&self, user: &User, id: SourceId, visibility: Visibility, mut change: F) -> Result<Source>
    where
        F: FnMut(&mut Source, DateTime<Utc>) -> Result<RunWrite> + Send,
    {
        for _ in 0..MAX_SAVE_ATTEMPTS {
            let mut source = match self.ports.sources.get(user.id, id).await? {
                Some(source) if visibility == Visibility::Any || !source.is_deleted() => source,
                _ => return Err(Error::NotFound("source")),
            };
            let expected = Expected::read(&source);
            let previous = source.last_run.as_ref().map(|run| run.status);
            let now = self.ports.clock.now();
            let mut run = change(&mut source, now)?;
            source.updated_at = now;
            if let RunWrite::Insert(run) | RunWrite::Update(run) = &run {
                source.last_run = Some(run.clone());
            }
            // Entering a final status here (a cancel of queued work) is notified like a
            // worker's outcome.
            let postback = (!expected.status.is_final() && source.status.is_final())
                .then(|| Postback::for_source(&source, source.last_run.as_ref(), now))
                .flatten();
            // A new run goes straight to an idle worker of this process when there is
            // one. The caller is answered with the source as accepted (PENDING, as the
            // contract shows it); what is stored is the same source one step on.
            let mut handover = None;
            if let (RunWrite::Insert(queued), None) = (&run, &postback)
                && let Some(reservation) = self.ports.handoff.reserve()
            {
                let accepted = source.clone();
                let (leased, lease) = lease(&mut source, queued, &reservation, now)?;
                run = RunWrite::InsertLeased(leased, lease);
                handover = Some((reservation, accepted));
            }
            let queues_for_a_claim = matches!(run, RunWrite::Insert(_));
            if !self.ports.sources.save(&source, expected, run, postback).await? {
                continue;
            }
            let Some((reservation, accepted)) = handover else {
                if queues_for_a_claim {
                    self.ports.handoff.queued();
                }
                return Ok(source);
            };
            let run = source.last_run.clone().expect("a leased run was saved with the source");
            self.hand_over(reservation, HandedRun { run, source, previous }, now).await;
            return Ok(accepted);
        }
        Err(Error::Conflict("the source changed while this request was handled; retry".into()))
    }

    /// Checks the stated material, then what only the database can tell: that a file
    /// key is the caller's and that composition members are live sources of the space.
    async fn parse_input(
        &self,
        user: &User,
        space_id: SpaceId,
        material: &SourceMaterial,
        fields: &SourceFields,
        violations: &mut Violations,
    ) -> Result<Option<SourceInput>> {
        if let SourceMaterial::Content { data } = material
            && data.len() > self.limits.max_content_bytes
        {
            return Err(Error::PayloadTooLarge(format!(
                "{} is {} bytes, over the limit of {} (limits.max_content_bytes)",
                fields.data,
                data.len(),
                self.limits.max_content_bytes
            )));
        }
        let input = match SourceInput::check(material, fields) {
            Ok(input) => input,
            Err(errors) => {
                for error in errors {
                    violations.add(error.field, error.message);
                }
                return Ok(None);
            }
        };
        match &input {
            SourceInput::File { file_key } => {
                // Someone else's key is as unknown as a made-up one.
                let upload = self.ports.uploads.get(user.id, file_key).await?.ok_or(Error::NotFound("file"))?;
                // With S3 the client PUT straight to the bucket: this is the first
                // point where ctxd sees what arrived.
                match self.ports.blobs.head(&upload.object_key()).await? {
                    None => {
                        violations.add(fields.file_key, "the file has not been uploaded yet");
                        return Ok(None);
                    }
                    Some(meta) if meta.size != upload.size => {
                        violations.add(
                            fields.file_key,
                            format!("the uploaded file is {} bytes, not the declared {}", meta.size, upload.size),
                        );
                        return Ok(None);
                    }
                    Some(_) => {}
                }
            }
            SourceInput::Composition { source_ids } => {
                let members = self.ports.sources.get_many(user.id, source_ids).await?;
                let mut valid = true;
                for (index, id) in source_ids.iter().enumerate() {
                    let ok = members.iter().any(|m| m.id == *id && m.space_id == space_id && !m.is_deleted());
                    if !ok {
                        valid = false;
                        violations.add(format!("{}[{index}]", fields.source_ids), "must be a source of the same space");
                    }
                }
                // Member ids must exist before the composition does and a composition's
                // members cannot be changed later, so a new composition can never close
                // a cycle: checking existence here is the whole cycle check.
                if !valid {
                    return Ok(None);
                }
            }
            SourceInput::Uri { .. } | SourceInput::Content { .. } => {}
        }
        Ok(Some(input))
    }

    async fn check_collection(
        &self,
        user: &User,
        space_id: SpaceId,
        collection_id: CollectionId,
        violations: &mut Violations,
    ) -> Result<()> {
        let collection = self.ports.collections.get(user.id, collection_id).await?;
        if collection.is_none_or(|c| c.space_id != space_id) {
            violations.add("collectionId", "must be a collection of the same space");
        }
        Ok(())
    }

    fn parse_postback_url(&self, field: &str, raw: &str) -> Result<Url, FieldError> {
        if raw.len() > crate::model::MAX_URL_BYTES {
            return Err(FieldError::new(field, format!("must be at most {} bytes", crate::model::MAX_URL_BYTES)));
        }
        let url = Url::parse(raw).map_err(|_| FieldError::new(field, "must be an absolute URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if self.limits.allow_http_postbacks => {}
            "http" => {
                return Err(FieldError::new(field, "must use https (set postback.allow_http for local development)"));
            }
            _ => return Err(FieldError::new(field, "must be an https URL")),
        }
        // An address the sender would refuse is refused now, where the user sees it,
        // not as failed deliveries later. Names are resolved only when delivering.
        let reason = match url.host() {
            _ if self.limits.allow_private_postbacks => None,
            Some(url::Host::Ipv4(ip)) => crate::model::address::blocked_reason(ip.into()),
            Some(url::Host::Ipv6(ip)) => crate::model::address::blocked_reason(ip.into()),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                (name == "localhost" || name.ends_with(".localhost")).then_some("loopback")
            }
            None => None,
        };
        match reason {
            Some(reason) => Err(FieldError::new(
                field,
                format!("points at a {reason} address, which ctxd never posts to (see fetch.allow_private_networks)"),
            )),
            None => Ok(url),
        }
    }

    fn parse_refresh_policy(
        &self,
        field: &str,
        source_type: SourceType,
        policy: RefreshPolicyInput,
        now: DateTime<Utc>,
    ) -> Result<RefreshPolicy, FieldError> {
        if !source_type.is_refreshable() && policy.mode != RefreshMode::Manual {
            return Err(FieldError::new(field, "only URI and FILE sources can be refreshed on a schedule"));
        }
        RefreshPolicy::new(field, policy.mode, policy.interval_seconds, self.limits.min_refresh_interval_seconds, now)
    }
}

fn check_optional_text(violations: &mut Violations, field: &str, value: &Option<String>, max: usize) {
    if let Some(text) = value {
        violations.check(check_text(field, text, 0, max));
    }
}

fn check_optional_name(violations: &mut Violations, field: &str, value: &Option<String>) {
    if let Some(text) = value {
        violations.check(check_name(field, text, 0, 200));
    }
}

/// Queues a new run and moves the source to PENDING.
fn start_run(
    source: &mut Source,
    kind: RunKind,
    flags: RunFlags,
    input: Option<SourceInput>,
    now: DateTime<Utc>,
) -> RunWrite {
    let run = Run::queued(source.id, source.user_id, kind, flags, input, now);
    source.status = SourceStatus::Pending;
    source.message = None;
    RunWrite::Insert(run)
}

/// The status machine's claim, done by the request that queued `queued` for the worker
/// it reserved: the run PROCESSING and leased as a claim leaves it, the source
/// PROCESSING with that run as its last.
fn lease(source: &mut Source, queued: &Run, reservation: &Reservation, now: DateTime<Utc>) -> Result<(Run, Lease)> {
    source.status = source.status.apply(Event::Claim)?.to;
    let mut run = queued.clone();
    run.status = RunStatus::Processing;
    run.attempt += 1;
    run.started_at = Some(now);
    source.last_run = Some(run.clone());
    let until = now + chrono::Duration::from_std(reservation.lease()).unwrap_or(chrono::Duration::MAX);
    Ok((run, Lease { worker: reservation.worker().to_owned(), until }))
}

/// Folds a refresh into the queued run. A queued reprocess becomes a forced refresh,
/// which does everything the reprocess would have and fetches too; a queued
/// fast-forward carries material that a refresh would overwrite, so that is refused.
fn coalesce(source: &mut Source, flags: RunFlags) -> Result<RunWrite> {
    let mut run = match &source.last_run {
        Some(run) if run.status == RunStatus::Pending => run.clone(),
        _ => return Err(Error::internal(format!("source {} is PENDING without a queued run", source.id))),
    };
    match run.kind {
        RunKind::FastForward => {
            return Err(Error::Conflict(
                "cannot refresh a source whose status is PENDING with a fast-forward queued".into(),
            ));
        }
        RunKind::Reprocess => {
            run.kind = RunKind::Refresh;
            run.flags = run.flags.coalesce(RunFlags { force: true, ..flags });
        }
        RunKind::Initial | RunKind::Refresh | RunKind::ScheduledRefresh => run.flags = run.flags.coalesce(flags),
    }
    Ok(RunWrite::Update(run))
}

/// The cancel transition: queued work is canceled now, running work is asked to stop.
fn cancel(source: &mut Source, now: DateTime<Utc>) -> Result<RunWrite> {
    let transition = source.status.apply(Event::Cancel)?;
    source.status = transition.to;
    let Some(mut run) = source.last_run.clone().filter(|run| run.is_active()) else {
        return Ok(RunWrite::None);
    };
    match transition.effect {
        Effect::CancelQueuedRun => {
            run.status = RunStatus::Canceled;
            run.finished_at = Some(now);
        }
        _ => run.cancel_requested = true,
    }
    Ok(RunWrite::Update(run))
}

#[cfg(test)]
mod tests;
mod watch;

pub use watch::{SourceWatch, event_id};
