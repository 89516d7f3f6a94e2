//! The web console's sign-in: an API key exchanged for a browser session, and the
//! token that protects its forms.
//!
//! A session is a signed token, not a row: `{key hash}.{expiry}.{signature}`, HMAC'd
//! with a key derived from the installation's signing key, so every replica that
//! shares that key accepts it. Each request looks the key up again by its hash (the
//! lookup API requests use), so revoking the key ends every session made with it on
//! the very next request. The secret itself is never stored in the cookie or shown.
//! The CSRF token of a session is another HMAC of its token: forms carry it, and a
//! post without it is refused.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{ApiKeyService, Ports};
use crate::{Error, Result, model::User};

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub user: User,
    /// What the session's forms must send back.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct ConsoleSessions {
    api_keys: ApiKeyService,
    ports: Ports,
    key: Vec<u8>,
    ttl: Duration,
}

impl std::fmt::Debug for ConsoleSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSessions").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

/// Why a session is refused: every case reads the same to the browser.
const SIGNED_OUT: &str = "Your session has ended; sign in again";

impl ConsoleSessions {
    /// `signing_key` is the installation's (the one upload URLs are signed with); the
    /// session key is derived from it, so neither signature can stand for the other.
    pub fn new(ports: Ports, signing_key: &[u8], ttl: Duration) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(signing_key).expect("HMAC takes keys of any length");
        mac.update(b"ctxd console session v1");
        let key = mac.finalize().into_bytes().to_vec();
        Self { api_keys: ApiKeyService::new(ports.clone()), ports, key, ttl }
    }

    fn sign(&self, what: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(what.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Exchanges an API key for a session token (the cookie's value).
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] for a key that is not valid, revoked or expired.
    pub async fn sign_in(&self, secret: &str) -> Result<(String, ConsoleSession)> {
        let (key, user) = self.api_keys.authenticate_key(secret.trim()).await?;
        let now = self.ports.clock.now();
        // A session never outlives its key.
        let expires_at = key.expiration_date.map_or(now + self.ttl, |end| end.min(now + self.ttl));
        let payload = format!("{}.{}", key.key_hash, expires_at.timestamp());
        let token = format!("{payload}.{}", self.sign(&payload));
        let csrf = self.csrf_of(&token);
        Ok((token, ConsoleSession { user, csrf, expires_at }))
    }

    fn csrf_of(&self, token: &str) -> String {
        self.sign(&format!("csrf:{token}"))
    }

    /// The session a cookie stands for.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] for a token that is malformed, forged, expired, or
    /// whose key was revoked or expired since.
    pub async fn resume(&self, token: &str) -> Result<ConsoleSession> {
        let refused = || Error::Unauthenticated(SIGNED_OUT);
        let (payload, signature) = token.rsplit_once('.').ok_or_else(refused)?;
        if !constant_time_eq(self.sign(payload).as_bytes(), signature.as_bytes()) {
            return Err(refused());
        }
        let (key_hash, expiry) = payload.split_once('.').ok_or_else(refused)?;
        let expires_at = expiry.parse::<i64>().ok().and_then(|s| DateTime::from_timestamp(s, 0)).ok_or_else(refused)?;
        if expires_at <= self.ports.clock.now() {
            return Err(refused());
        }
        let (_, user) = self.api_keys.authenticate_hash(key_hash).await.map_err(|error| match error {
            Error::Unauthenticated(_) => refused(),
            other => other,
        })?;
        Ok(ConsoleSession { user, csrf: self.csrf_of(token), expires_at })
    }

    /// Whether a form's CSRF token belongs to the session.
    ///
    /// # Errors
    /// [`Error::Forbidden`] when it does not.
    pub fn check_csrf(&self, session: &ConsoleSession, presented: &str) -> Result<()> {
        if constant_time_eq(session.csrf.as_bytes(), presented.as_bytes()) {
            Ok(())
        } else {
            Err(Error::Forbidden("The form is stale or was not sent by this console; reload the page and try again"))
        }
    }
}

/// Compares two secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::{
        ids::{ApiKeyId, UserId},
        model::{ApiKey, Plan},
        services::test_ports::{Mocks, fixed_now},
    };

    const SECRET: &str = "ctxd_0123456789abcdef0123456789abcdef";

    /// Sessions over one stored key whose revocation the test controls.
    fn sessions(revoked: Arc<Mutex<bool>>) -> ConsoleSessions {
        let user = User { id: UserId::new(), name: "ada".into(), plan: Plan::Pro, created_at: fixed_now() };
        let hash = crate::model::hash_secret_for_lookup(SECRET);
        let mut mocks = Mocks::default();
        mocks.api_keys.expect_find_by_hash().returning(move |presented| {
            let key = ApiKey {
                id: ApiKeyId::new(),
                user_id: user.id,
                name: None,
                key_prefix: SECRET[..12].into(),
                key_hash: hash.clone(),
                expiration_date: None,
                created_at: fixed_now(),
                revoked_at: revoked.lock().unwrap().then(fixed_now),
            };
            Ok((presented == hash).then(|| (key, user.clone())))
        });
        ConsoleSessions::new(mocks.into_ports(), b"installation signing key", Duration::hours(12))
    }

    #[tokio::test]
    async fn a_session_stands_for_a_live_key_and_nothing_else() {
        let revoked = Arc::new(Mutex::new(false));
        let sessions = sessions(revoked.clone());
        let (token, session) = sessions.sign_in(SECRET).await.unwrap();
        assert!(!token.contains(SECRET), "the secret is not in the token");
        assert_eq!(session.expires_at, fixed_now() + Duration::hours(12));
        let resumed = sessions.resume(&token).await.unwrap();
        assert_eq!(resumed.user.name, "ada");
        assert_eq!(resumed.csrf, session.csrf, "the form token is stable for a session");
        sessions.check_csrf(&resumed, &session.csrf).unwrap();
        assert!(matches!(sessions.check_csrf(&resumed, "forged"), Err(Error::Forbidden(_))));

        // Tampered, re-signed with another key, malformed: no session.
        let (payload, _) = token.rsplit_once('.').unwrap();
        let other = ConsoleSessions::new(Mocks::default().into_ports(), b"another installation", Duration::hours(1));
        for forged in [format!("{token}x"), format!("{payload}.{}", other.sign(payload)), "nonsense".into()] {
            assert!(matches!(sessions.resume(&forged).await, Err(Error::Unauthenticated(_))), "{forged}");
        }
        assert!(matches!(sessions.sign_in("ctxd_wrong").await, Err(Error::Unauthenticated(_))));

        // An expired session, and a session whose key was revoked since.
        let (hash, _) = payload.split_once('.').unwrap();
        let stale = format!("{hash}.{}", (fixed_now() - Duration::seconds(1)).timestamp());
        assert!(sessions.resume(&format!("{stale}.{}", sessions.sign(&stale))).await.is_err());
        *revoked.lock().unwrap() = true;
        assert!(matches!(sessions.resume(&token).await, Err(Error::Unauthenticated(SIGNED_OUT))));
    }
}
