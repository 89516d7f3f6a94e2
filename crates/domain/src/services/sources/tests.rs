//! Unit tests of the source use cases against mocked ports.

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::*;
use crate::{
    ids::UserId,
    model::{Plan, Postback, Space, Upload},
    services::test_ports::{Mocks, fixed_now},
};

fn user() -> User {
    User { id: UserId::new(), name: "ada".into(), plan: Plan::Pro, created_at: fixed_now() }
}

fn space_of(user: &User) -> Space {
    Space {
        id: SpaceId::new(),
        user_id: user.id,
        name: "s".into(),
        description: None,
        created_at: fixed_now(),
        updated_at: fixed_now(),
    }
}

fn source(user: &User, space_id: SpaceId, input: SourceInput, status: SourceStatus) -> Source {
    let (mut source, _) = Source::submitted(user.id, space_id, input, RunFlags::default(), fixed_now());
    source.status = status;
    source.revision = Some(1);
    let run = source.last_run.as_mut().unwrap();
    run.status = match status {
        SourceStatus::Pending => RunStatus::Pending,
        SourceStatus::Processing => RunStatus::Processing,
        SourceStatus::Failed => RunStatus::Failed,
        SourceStatus::Canceled => RunStatus::Canceled,
        _ => RunStatus::Completed,
    };
    source
}

fn uri() -> SourceInput {
    SourceInput::Uri { url: Url::parse("https://example.com/doc").unwrap() }
}

/// The REST-like field names these tests assert on.
const FIELDS: SourceFields = SourceFields {
    source_type: "type",
    url: "initial_data.url",
    file_key: "initial_data.data",
    data: "initial_data.data",
    source_ids: "initial_data.source_ids",
    postback_url: "instructions.postback_url",
    refresh_policy: "instructions.refresh_policy",
};

/// The material REST would read from `initial_data`.
fn material(source_type: SourceType, initial_data: &serde_json::Value) -> SourceMaterial {
    let text = |key: &str| initial_data[key].as_str().unwrap_or_default().to_owned();
    match source_type {
        SourceType::Uri => SourceMaterial::Uri { url: text("url") },
        SourceType::File => SourceMaterial::File { file_key: text("data") },
        SourceType::Content => SourceMaterial::Content { data: text("data") },
        SourceType::Composition => SourceMaterial::Composition {
            source_ids: initial_data["source_ids"]
                .as_array()
                .map(|ids| ids.iter().map(|id| id.as_str().unwrap_or_default().to_owned()).collect())
                .unwrap_or_default(),
        },
    }
}

fn new_source(source_type: SourceType, initial_data: serde_json::Value) -> NewSource {
    NewSource { fields: FIELDS, ..NewSource::new(material(source_type, &initial_data)) }
}

fn service(mocks: Mocks) -> SourceService {
    SourceService::new(mocks.into_ports(), Limits::default())
}

/// Mocks where `get` returns `stored` and `save` records what it was given.
/// Every `save` call: the source written, what it expected stored, the run write.
type SaveLog = Arc<Mutex<Vec<(Source, Expected, RunWrite, Option<Postback>)>>>;

fn mocks_with(stored: Source, save_result: bool) -> (Mocks, SaveLog) {
    let saved = Arc::new(Mutex::new(Vec::new()));
    let mut mocks = Mocks::default();
    mocks.sources.expect_get().returning(move |_, _| Ok(Some(stored.clone())));
    let sink = saved.clone();
    mocks.sources.expect_save().returning(move |source, expected, run, postback| {
        sink.lock().unwrap().push((source.clone(), expected, run, postback));
        Ok(save_result)
    });
    (mocks, saved)
}

fn with_space(mocks: &mut Mocks, space: Space) {
    mocks.spaces.expect_get().returning(move |_, _| Ok(Some(space.clone())));
}

#[tokio::test]
async fn create_queues_an_initial_run_and_returns_a_pending_source() {
    let user = user();
    let space = space_of(&user);
    let mut mocks = Mocks::default();
    with_space(&mut mocks, space.clone());
    mocks
        .sources
        .expect_create()
        .withf(|source, run, lease| {
            source.status == SourceStatus::Pending
                && run.kind == RunKind::Initial
                && run.status == RunStatus::Pending
                && run.source_id == source.id
                && source.last_run.as_ref().map(|r| r.id) == Some(run.id)
                && lease.is_none()
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let created = service(mocks)
        .create(&user, space.id, new_source(SourceType::Uri, json!({"url": "https://example.com/a"})))
        .await
        .unwrap();
    assert_eq!(created.status, SourceStatus::Pending);
    assert_eq!(created.space_id, space.id);
    assert_eq!(created.revision, None);
}

#[tokio::test]
async fn create_in_an_unknown_space_is_not_found() {
    let mut mocks = Mocks::default();
    mocks.spaces.expect_get().returning(|_, _| Ok(None));
    mocks.sources.expect_create().never();
    let result =
        service(mocks).create(&user(), SpaceId::new(), new_source(SourceType::Content, json!({"data": "x"}))).await;
    assert!(matches!(result, Err(Error::NotFound("space"))));
}

#[tokio::test]
async fn create_reports_every_bad_field_at_once() {
    let user = user();
    let space = space_of(&user);
    let mut mocks = Mocks::default();
    with_space(&mut mocks, space.clone());
    mocks.sources.expect_create().never();
    let mut request = new_source(SourceType::Content, json!({"data": "hello"}));
    request.postback_url = Some("http://hooks.example/x".into());
    request.refresh_policy = Some(RefreshPolicyInput { mode: RefreshMode::Interval, interval_seconds: Some(3600) });
    request.name = Some("n".repeat(201));
    let error = service(mocks).create(&user, space.id, request).await.unwrap_err();
    let fields: Vec<_> = error.details().iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["name", "instructions.postback_url", "instructions.refresh_policy"]);
}

fn uploaded(size: u64) -> impl Fn(UserId, &str) -> Result<Option<Upload>> {
    move |user_id, key| {
        Ok(Some(Upload {
            file_key: key.into(),
            user_id,
            filename: "a.pdf".into(),
            content_type: "application/pdf".into(),
            size,
            created_at: fixed_now(),
        }))
    }
}

fn stored_object(size: Option<u64>) -> impl Fn(&str) -> Result<Option<crate::ports::BlobMeta>> {
    move |_| Ok(size.map(|size| crate::ports::BlobMeta { size, etag: Some("e1".into()), last_modified: fixed_now() }))
}

#[tokio::test]
async fn a_file_key_that_is_not_the_callers_is_not_found() {
    let user = user();
    let space = space_of(&user);
    let mut mocks = Mocks::default();
    with_space(&mut mocks, space.clone());
    mocks.uploads.expect_get().returning(|_, _| Ok(None));
    mocks.sources.expect_create().never();
    let error =
        service(mocks).create(&user, space.id, new_source(SourceType::File, json!({"data": "k1"}))).await.unwrap_err();
    assert_eq!(error.kind(), crate::ErrorKind::NotFound);
}

#[tokio::test]
async fn a_file_source_needs_the_upload_to_have_arrived_with_its_declared_size() {
    let user = user();
    let space = space_of(&user);
    for (object, problem) in [(None, "not been uploaded"), (Some(4), "4 bytes, not the declared 3")] {
        let mut mocks = Mocks::default();
        with_space(&mut mocks, space.clone());
        mocks.uploads.expect_get().returning(uploaded(3));
        mocks.blobs.expect_head().returning(stored_object(object));
        mocks.sources.expect_create().never();
        let error = service(mocks)
            .create(&user, space.id, new_source(SourceType::File, json!({"data": "k1"})))
            .await
            .unwrap_err();
        assert_eq!(error.details()[0].field, "initial_data.data");
        assert!(error.details()[0].message.contains(problem), "{:?}", error.details());
    }

    let mut mocks = Mocks::default();
    with_space(&mut mocks, space.clone());
    let owner = user.id;
    mocks.uploads.expect_get().returning(uploaded(3));
    mocks.blobs.expect_head().returning(stored_object(Some(3)));
    mocks.sources.expect_create().withf(move |s, _, _| s.user_id == owner).returning(|_, _, _| Ok(()));
    assert!(service(mocks).create(&user, space.id, new_source(SourceType::File, json!({"data": "k1"}))).await.is_ok());
}

#[tokio::test]
async fn composition_members_must_be_live_sources_of_the_same_space() {
    let user = user();
    let space = space_of(&user);
    let same_space = source(&user, space.id, uri(), SourceStatus::Completed);
    let other_space = source(&user, SpaceId::new(), uri(), SourceStatus::Completed);
    let mut deleted = source(&user, space.id, uri(), SourceStatus::Completed);
    deleted.deleted_at = Some(fixed_now());
    let missing = SourceId::new();
    let ids = json!({"source_ids": [same_space.id.to_string(), other_space.id.to_string(), deleted.id.to_string(), missing.to_string()]});
    let mut mocks = Mocks::default();
    with_space(&mut mocks, space.clone());
    let members = vec![same_space, other_space, deleted];
    mocks.sources.expect_get_many().return_once(move |_, _| Ok(members));
    mocks.sources.expect_create().never();
    let error = service(mocks).create(&user, space.id, new_source(SourceType::Composition, ids)).await.unwrap_err();
    let fields: Vec<_> = error.details().iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["initial_data.source_ids[1]", "initial_data.source_ids[2]", "initial_data.source_ids[3]"]);
}

#[tokio::test]
async fn refresh_from_completed_queues_a_new_run_guarded_by_the_status_and_run_read() {
    let user = user();
    let stored = source(&user, SpaceId::new(), uri(), SourceStatus::Completed);
    let previous_run = stored.last_run.clone().unwrap().id;
    let (mocks, saved) = mocks_with(stored.clone(), true);
    let request =
        RefreshRequest { run_context_extraction: Some(false), run_artifact_extraction: None, force: Some(true) };
    let result = service(mocks).refresh(&user, stored.id, request).await.unwrap();
    assert_eq!(result.status, SourceStatus::Pending);
    let saved = saved.lock().unwrap();
    let (_, expected, write, _) = &saved[0];
    assert_eq!(*expected, Expected { status: SourceStatus::Completed, last_run: Some(previous_run) });
    let RunWrite::Insert(run) = write else { panic!("expected a new run, got {write:?}") };
    assert_ne!(run.id, previous_run);
    assert_eq!(run.kind, RunKind::Refresh);
    assert_eq!(
        run.flags,
        RunFlags { run_context_extraction: false, run_artifact_extraction: true, force: true, update_existing: true }
    );
}

/// A COMPLETED URI source, the service over [`mocks_with`] it, and that service's
/// handoff, for the tests of runs handed to idle workers.
struct HandoffCase {
    user: User,
    stored: Source,
    service: SourceService,
    handoff: crate::services::handoff::Handoff,
    saved: SaveLog,
}

fn handoff_case(save_result: bool) -> HandoffCase {
    let user = user();
    let stored = source(&user, SpaceId::new(), uri(), SourceStatus::Completed);
    let (mocks, saved) = mocks_with(stored.clone(), save_result);
    let ports = mocks.into_ports();
    let handoff = ports.handoff.clone();
    HandoffCase { user, stored, service: SourceService::new(ports, Limits::default()), handoff, saved }
}

#[tokio::test]
async fn an_idle_worker_is_handed_the_refresh_stored_leased_to_it() {
    let HandoffCase { user, stored, service, handoff, saved } = handoff_case(true);
    let waiting = handoff.wait("w1", std::time::Duration::from_secs(30));
    let answered = service.refresh(&user, stored.id, RefreshRequest::default()).await.unwrap();
    assert_eq!(answered.status, SourceStatus::Pending, "the caller sees the source as accepted");
    assert_eq!(answered.last_run.as_ref().map(|run| run.status), Some(RunStatus::Pending));

    let handed = waiting.await.expect("the run was handed over");
    let saved = saved.lock().unwrap();
    let (source, expected, write, _) = &saved[0];
    assert_eq!((expected.status, source.status), (SourceStatus::Completed, SourceStatus::Processing));
    let RunWrite::InsertLeased(run, lease) = write else { panic!("expected a leased run, got {write:?}") };
    assert_eq!((run.status, run.attempt, run.started_at), (RunStatus::Processing, 1, Some(fixed_now())));
    assert_eq!(run.id, answered.last_run.as_ref().unwrap().id, "the accepted run is the one leased");
    assert_eq!(lease, &Lease { worker: "w1".into(), until: fixed_now() + chrono::Duration::seconds(30) });
    assert_eq!(source.last_run.as_ref(), Some(run));
    assert_eq!((&handed.run, &handed.source), (run, source));
    assert_eq!(handed.previous, Some(RunStatus::Completed), "how the source's last run ended");
}

#[tokio::test]
async fn a_refresh_queued_while_no_worker_waits_sends_the_next_idle_worker_to_claim() {
    let HandoffCase { user, stored, service, handoff, saved } = handoff_case(true);
    service.refresh(&user, stored.id, RefreshRequest::default()).await.unwrap();
    assert!(matches!(saved.lock().unwrap()[0].2, RunWrite::Insert(_)), "queued for a claim");
    assert_eq!(handoff.wait("w1", std::time::Duration::from_secs(30)).await, None, "claim now");
    assert_eq!(handoff.idle_workers(), 0);
}

#[tokio::test]
async fn a_refresh_that_loses_its_save_hands_nothing_to_the_reserved_worker() {
    let HandoffCase { user, stored, service, handoff, .. } = handoff_case(false);
    let waiting = handoff.wait("w1", std::time::Duration::from_secs(30));
    let error = service.refresh(&user, stored.id, RefreshRequest::default()).await.unwrap_err();
    assert!(matches!(error, Error::Conflict(_)), "{error:?}");
    assert_eq!(waiting.await, None, "the worker goes back to polling");
}

#[tokio::test]
async fn refresh_while_pending_coalesces_into_the_queued_run() {
    let user = user();
    let mut stored = source(&user, SpaceId::new(), uri(), SourceStatus::Pending);
    let run = stored.last_run.as_mut().unwrap();
    run.kind = RunKind::Refresh;
    run.flags.run_context_extraction = false;
    let queued_id = run.id;
    let (mocks, saved) = mocks_with(stored.clone(), true);
    let result = service(mocks).refresh(&user, stored.id, RefreshRequest::default()).await.unwrap();
    assert_eq!(result.last_run.as_ref().unwrap().id, queued_id, "same run");
    let saved = saved.lock().unwrap();
    let RunWrite::Update(run) = &saved[0].2 else { panic!("expected the queued run to be updated") };
    assert_eq!(run.id, queued_id);
    assert!(run.flags.run_context_extraction, "flags are OR-ed");
}

#[tokio::test]
async fn refresh_of_content_is_invalid_and_from_processing_is_a_conflict() {
    let user = user();
    let content = source(&user, SpaceId::new(), SourceInput::Content { data: "x".into() }, SourceStatus::Completed);
    let (mocks, _) = mocks_with(content.clone(), true);
    let error = service(mocks).refresh(&user, content.id, RefreshRequest::default()).await.unwrap_err();
    assert_eq!(error.details()[0].field, "type");

    let processing = source(&user, SpaceId::new(), uri(), SourceStatus::Processing);
    let (mocks, saved) = mocks_with(processing.clone(), true);
    let error = service(mocks).refresh(&user, processing.id, RefreshRequest::default()).await.unwrap_err();
    assert!(matches!(error, Error::Conflict(ref m) if m.contains("PROCESSING")));
    assert!(saved.lock().unwrap().is_empty());
}

#[tokio::test]
async fn reprocess_needs_stored_content() {
    let user = user();
    let mut stored = source(&user, SpaceId::new(), uri(), SourceStatus::Failed);
    stored.revision = None;
    let (mocks, _) = mocks_with(stored.clone(), true);
    let error = service(mocks).reprocess(&user, stored.id, ReprocessRequest::default()).await.unwrap_err();
    assert!(matches!(error, Error::Conflict(ref m) if m.contains("no content")));
}

#[tokio::test]
async fn cancel_takes_queued_work_off_the_queue_and_flags_running_work() {
    let user = user();
    let pending = source(&user, SpaceId::new(), uri(), SourceStatus::Pending);
    let (mocks, saved) = mocks_with(pending.clone(), true);
    let result = service(mocks).cancel(&user, pending.id).await.unwrap();
    assert_eq!(result.status, SourceStatus::Canceled);
    let RunWrite::Update(run) = saved.lock().unwrap()[0].2.clone() else { panic!() };
    assert_eq!(run.status, RunStatus::Canceled);

    let processing = source(&user, SpaceId::new(), uri(), SourceStatus::Processing);
    let (mocks, saved) = mocks_with(processing.clone(), true);
    let result = service(mocks).cancel(&user, processing.id).await.unwrap();
    assert_eq!(result.status, SourceStatus::Processing, "the worker finishes the cancel");
    let RunWrite::Update(run) = &saved.lock().unwrap()[0].2 else { panic!() };
    assert!(run.cancel_requested);
    assert_eq!(run.status, RunStatus::Processing);
}

#[tokio::test]
async fn a_lost_status_race_is_retried_then_reported() {
    let user = user();
    let stored = source(&user, SpaceId::new(), uri(), SourceStatus::Completed);
    let (mocks, saved) = mocks_with(stored.clone(), false);
    let error = service(mocks).toggle_pin(&user, stored.id).await.unwrap_err();
    assert!(matches!(error, Error::Conflict(_)));
    assert_eq!(saved.lock().unwrap().len(), MAX_SAVE_ATTEMPTS);
}

#[tokio::test]
async fn deleted_sources_are_hidden_except_from_restore() {
    let user = user();
    let space = space_of(&user);
    let mut stored = source(&user, space.id, uri(), SourceStatus::Completed);
    stored.deleted_at = Some(fixed_now());
    let (mut mocks, _) = mocks_with(stored.clone(), true);
    with_space(&mut mocks, space.clone());
    mocks.sources.expect_request_rebuilds_of().times(1).returning(|_| Ok(()));
    let service = service(mocks);
    assert!(matches!(service.get(&user, stored.id).await, Err(Error::NotFound(_))));
    assert!(matches!(service.delete(&user, stored.id).await, Err(Error::NotFound(_))));
    assert!(service.restore(&user, stored.id).await.unwrap().deleted_at.is_none());

    let live = source(&user, space.id, uri(), SourceStatus::Completed);
    let (mut mocks, _) = mocks_with(live.clone(), true);
    with_space(&mut mocks, space);
    assert!(matches!(
        SourceService::new(mocks.into_ports(), Limits::default()).restore(&user, live.id).await,
        Err(Error::Conflict(_))
    ));
}

#[tokio::test]
async fn a_source_past_its_grace_or_in_a_deleted_space_is_not_restored() {
    let user = user();
    let space = space_of(&user);
    let mut expired = source(&user, space.id, uri(), SourceStatus::Completed);
    expired.deleted_at = Some(fixed_now() - Limits::default().deleted_grace);
    let (mut mocks, saved) = mocks_with(expired.clone(), true);
    with_space(&mut mocks, space);
    assert!(matches!(service(mocks).restore(&user, expired.id).await, Err(Error::NotFound("source"))));
    assert!(saved.lock().unwrap().is_empty(), "nothing written");

    let mut in_deleted_space = expired;
    in_deleted_space.deleted_at = Some(fixed_now());
    let (mut mocks, saved) = mocks_with(in_deleted_space.clone(), true);
    mocks.spaces.expect_get().returning(|_, _| Ok(None));
    assert!(matches!(service(mocks).restore(&user, in_deleted_space.id).await, Err(Error::NotFound("source"))));
    assert!(saved.lock().unwrap().is_empty(), "nothing written");
}

#[tokio::test]
async fn soft_delete_cancels_queued_work() {
    let user = user();
    let pending = source(&user, SpaceId::new(), uri(), SourceStatus::Pending);
    let (mut mocks, saved) = mocks_with(pending.clone(), true);
    let id = pending.id;
    // Compositions holding it are asked to rebuild without it.
    mocks.sources.expect_request_rebuilds_of().withf(move |member| *member == id).times(1).returning(|_| Ok(()));
    service(mocks).delete(&user, pending.id).await.unwrap();
    let saved = saved.lock().unwrap();
    assert!(saved[0].0.deleted_at.is_some());
    assert_eq!(saved[0].0.status, SourceStatus::Canceled);
}

#[tokio::test]
async fn fast_forward_carries_the_new_material_on_the_run() {
    let user = user();
    let stored = source(&user, SpaceId::new(), SourceInput::Content { data: "a".into() }, SourceStatus::Completed);
    let (mocks, saved) = mocks_with(stored.clone(), true);
    let request = FastForwardRequest {
        input: SourceMaterial::Content { data: "a\nb".into() },
        fields: FIELDS,
        postback_url: None,
        run_context_extraction: None,
        run_artifact_extraction: None,
    };
    service(mocks).fast_forward(&user, stored.id, request).await.unwrap();
    let RunWrite::Insert(run) = &saved.lock().unwrap()[0].2 else { panic!() };
    assert_eq!(run.kind, RunKind::FastForward);
    assert_eq!(run.input, Some(SourceInput::Content { data: "a\nb".into() }));
}

#[tokio::test]
async fn canceling_queued_work_notifies_the_postback_url_in_the_same_save() {
    let user = user();
    let mut pending = source(&user, SpaceId::new(), uri(), SourceStatus::Pending);
    pending.postback_url = Some(Url::parse("https://hooks.example/x").unwrap());
    let (mocks, saved) = mocks_with(pending.clone(), true);
    service(mocks).cancel(&user, pending.id).await.unwrap();
    let postback = saved.lock().unwrap()[0].3.clone().expect("a postback");
    assert_eq!(postback.payload["status"], "CANCELED");
    assert_eq!(postback.payload["sourceId"], pending.id.to_string());

    // Pinning changes no status and notifies nothing.
    let (mocks, saved) = mocks_with(pending.clone(), true);
    service(mocks).toggle_pin(&user, pending.id).await.unwrap();
    assert!(saved.lock().unwrap()[0].3.is_none());
}
