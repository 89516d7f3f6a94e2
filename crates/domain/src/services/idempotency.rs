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

/// What the caller must do with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proceed {
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

    /// Claims `key` for a request with `request_hash`.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the key was used with another request, or its first
    /// request is still being handled.
    pub async fn begin(&self, user: &User, key: &str, request_hash: &str) -> Result<Proceed> {
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

    pub async fn complete(&self, user: &User, key: &str, status: u16, body: &str) -> Result<()> {
        self.store.complete(user.id, key, status, body).await
    }

    pub async fn release(&self, user: &User, key: &str) -> Result<()> {
        self.store.release(user.id, key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_visible_ascii() {
        assert!(IdempotencyService::validate_key("order-42_retry").is_ok());
        for bad in ["", "has space", &"k".repeat(256), "naïve"] {
            let error = IdempotencyService::validate_key(bad).unwrap_err();
            assert_eq!(error.details()[0].field, "Idempotency-Key", "{bad:?}");
        }
    }
}
