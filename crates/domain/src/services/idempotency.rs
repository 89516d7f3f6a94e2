//! `Idempotency-Key`: a client that retries a create with the same key and the same
//! request gets the first response again instead of a second resource.

use std::sync::Arc;

use crate::{
    Error, Result,
    model::User,
    ports::{Clock, IdempotencyClaim, IdempotencyStore},
};

/// How long a key is remembered.
pub const KEY_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// How long a key may stay "in progress". A create takes milliseconds and runs to its
/// end even when the client hangs up; a key still in progress after this belongs to
/// a process that died in between, and a retry may take it.
pub const IN_PROGRESS_LIFETIME: chrono::Duration = chrono::Duration::seconds(60);

#[derive(Clone)]
pub struct IdempotencyService {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for IdempotencyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyService").finish_non_exhaustive()
    }
}

/// What a keyed request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed<T> {
    /// The work ran now and its outcome is stored under the key.
    Done(T),
    /// A retry: the first request's stored answer, as its transport recorded it.
    Replayed { status: u16, body: String },
}

/// What [`IdempotencyService::once`] must do with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Proceed {
    /// Handle it, then [`IdempotencyService::complete`] or [`IdempotencyService::release`].
    Handle,
    /// Answer with the stored response.
    Replay { status: u16, body: String },
}

impl IdempotencyService {
    pub fn new(store: Arc<dyn IdempotencyStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Validates the header value: 1 to 255 visible ASCII characters.
    ///
    /// # Errors
    /// [`Error::Validation`] naming the header.
    pub fn validate_key(raw: &str) -> Result<()> {
        let ok = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok { Ok(()) } else { Err(Error::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters")) }
    }

    /// Runs `work` once per `key`: the first request with a key runs it and stores
    /// `record(&outcome)` (the transport's answer, status and body) under the key; a
    /// retry with the same `fingerprint` within [`KEY_LIFETIME`] gets that answer back
    /// instead of running again. A failed request releases the key, so a corrected
    /// retry may use it. Without a key, `work` just runs.
    ///
    /// The transport must let this future finish even when its client hangs up (REST
    /// runs it as a task of its own): cancelled between claim and record, the key
    /// stays "in progress" until [`IN_PROGRESS_LIFETIME`] passes.
    ///
    /// # Errors
    /// `work`'s error; [`Error::Conflict`] for a key used with another request or still
    /// in progress; [`Error::Validation`] for a malformed key.
    pub async fn once<T, Work, Record>(
        &self,
        user: &User,
        key: Option<&str>,
        fingerprint: &str,
        work: Work,
        record: Record,
    ) -> Result<Keyed<T>>
    where
        Work: Future<Output = Result<T>>,
        Record: FnOnce(&T) -> (u16, String),
    {
        let Some(key) = key else { return work.await.map(Keyed::Done) };
        if let Proceed::Replay { status, body } = self.begin(user, key, fingerprint).await? {
            return Ok(Keyed::Replayed { status, body });
        }
        match work.await {
            Ok(outcome) => {
                let (status, body) = record(&outcome);
                self.complete(user, key, status, &body).await?;
                Ok(Keyed::Done(outcome))
            }
            Err(error) => {
                self.release(user, key).await?;
                Err(error)
            }
        }
    }

    /// Claims `key` for a request with `request_hash`.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the key was used with another request, or its first
    /// request is still being handled.
    async fn begin(&self, user: &User, key: &str, request_hash: &str) -> Result<Proceed> {
        Self::validate_key(key)?;
        let now = self.clock.now();
        let (expired_before, stale_before) = (now - KEY_LIFETIME, now - IN_PROGRESS_LIFETIME);
        match self.store.claim(user.id, key, request_hash, now, expired_before, stale_before).await? {
            IdempotencyClaim::New => Ok(Proceed::Handle),
            IdempotencyClaim::Replay { status, body } => Ok(Proceed::Replay { status, body }),
            IdempotencyClaim::Mismatch => {
                Err(Error::Conflict("this Idempotency-Key was already used with a different request".into()))
            }
            IdempotencyClaim::InProgress => {
                Err(Error::Conflict("a request with this Idempotency-Key is still being handled; retry".into()))
            }
        }
    }

    async fn complete(&self, user: &User, key: &str, status: u16, body: &str) -> Result<()> {
        self.store.complete(user.id, key, status, body).await
    }

    async fn release(&self, user: &User, key: &str) -> Result<()> {
        self.store.release(user.id, key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ids::UserId,
        model::Plan,
        ports::{MockClock, MockIdempotencyStore},
    };

    fn service(store: MockIdempotencyStore) -> IdempotencyService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(chrono::Utc::now);
        IdempotencyService::new(Arc::new(store), Arc::new(clock))
    }

    fn user() -> User {
        User { id: UserId::new(), name: "ada".into(), plan: Plan::Pro, created_at: chrono::Utc::now() }
    }

    #[tokio::test]
    async fn the_first_request_runs_and_is_recorded_a_retry_is_replayed_a_failure_releases() {
        let mut store = MockIdempotencyStore::new();
        store.expect_claim().times(1).returning(|_, _, _, _, _, _| Ok(IdempotencyClaim::New));
        store
            .expect_complete()
            .withf(|_, key, status, body| key == "k" && *status == 202 && body == "{\"id\":1}")
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let done = service(store)
            .once(&user(), Some("k"), "hash", async { Ok(1) }, |n| (202, format!("{{\"id\":{n}}}")))
            .await
            .unwrap();
        assert_eq!(done, Keyed::Done(1));

        let mut store = MockIdempotencyStore::new();
        store
            .expect_claim()
            .returning(|_, _, _, _, _, _| Ok(IdempotencyClaim::Replay { status: 202, body: "first".into() }));
        let work_ran = std::sync::atomic::AtomicBool::new(false);
        let replayed = service(store)
            .once(
                &user(),
                Some("k"),
                "hash",
                async {
                    work_ran.store(true, std::sync::atomic::Ordering::SeqCst);
                    Ok(2)
                },
                |_| unreachable!(),
            )
            .await
            .unwrap();
        assert_eq!(replayed, Keyed::Replayed { status: 202, body: "first".into() });
        assert!(!work_ran.load(std::sync::atomic::Ordering::SeqCst), "a retry does not run the work");

        let mut store = MockIdempotencyStore::new();
        store.expect_claim().returning(|_, _, _, _, _, _| Ok(IdempotencyClaim::New));
        store.expect_release().times(1).returning(|_, _| Ok(()));
        let failed = service(store)
            .once(&user(), Some("k"), "hash", async { Err::<u8, _>(Error::invalid("name", "bad")) }, |_| {
                (0, String::new())
            })
            .await;
        assert!(failed.is_err());
    }

    #[test]
    fn keys_are_bounded_visible_ascii() {
        assert!(IdempotencyService::validate_key("order-42_retry").is_ok());
        for bad in ["", "has space", &"k".repeat(256), "naïve"] {
            let error = IdempotencyService::validate_key(bad).unwrap_err();
            assert_eq!(error.details()[0].field, "Idempotency-Key", "{bad:?}");
        }
    }
}
