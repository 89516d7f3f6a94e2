//! API keys: how a secret is minted, hashed and checked.

use std::fmt;

use chrono::{DateTime, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::ids::{ApiKeyId, UserId};

/// What is stored about a key. The secret itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub name: Option<String>,
    /// The first 12 characters of the secret, so a user can tell keys apart.
    pub key_prefix: String,
    /// Lowercase hex SHA-256 of the whole secret.
    pub key_hash: String,
    pub expiration_date: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key may authenticate a request at `now`.
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expiration_date.is_none_or(|expires| expires > now)
    }
}

/// A freshly generated key secret: `ctxd_` followed by base62 text carrying 32 random
/// bytes of entropy. `Debug` hides it so it cannot end up in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.prefix())
    }
}

impl ApiKeySecret {
    pub const PREFIX: &'static str = "ctxd_";
    /// 43 base62 digits hold log2(62)*43 ≈ 256 bits.
    const N_DIGITS: usize = 43;

    pub fn generate() -> Self {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut rng = rand::rng();
        let body: String = (0..Self::N_DIGITS).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
        Self(format!("{}{body}", Self::PREFIX))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn prefix(&self) -> String {
        self.0.chars().take(12).collect()
    }

    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }
}

/// The stored form of a presented secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A key as returned once at creation, with its secret.
#[derive(Debug, Clone)]
pub struct IssuedApiKey {
    pub key: ApiKey,
    pub secret: ApiKeySecret,
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn generated_secrets_have_the_contract_shape_and_differ() {
        let a = ApiKeySecret::generate();
        let b = ApiKeySecret::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("ctxd_"));
        assert_eq!(a.expose().len(), 5 + 43);
        assert!(a.expose()[5..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(a.prefix().len(), 12);
        assert_eq!(a.hash(), hash_secret(a.expose()));
        assert_eq!(a.hash().len(), 64);
        assert!(!format!("{a:?}").contains(&a.expose()[12..]), "Debug must not leak the secret");
    }

    #[test]
    fn revoked_and_expired_keys_are_not_usable() {
        let now = Utc::now();
        let key = ApiKey {
            id: ApiKeyId::new(),
            user_id: UserId::new(),
            name: None,
            key_prefix: "ctxd_abcdefg".into(),
            key_hash: "x".into(),
            expiration_date: None,
            created_at: now,
            revoked_at: None,
        };
        assert!(key.is_usable_at(now));
        let expired = ApiKey { expiration_date: Some(now - Duration::seconds(1)), ..key.clone() };
        assert!(!expired.is_usable_at(now));
        let future = ApiKey { expiration_date: Some(now + Duration::hours(1)), ..key.clone() };
        assert!(future.is_usable_at(now));
        let revoked = ApiKey { revoked_at: Some(now), ..key };
        assert!(!revoked.is_usable_at(now));
    }
}
