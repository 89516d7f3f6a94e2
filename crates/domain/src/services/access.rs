//! The access gate: the one door every transport sends a request through. It reads the
//! presented credential (`Authorization: Bearer <api key>`, as REST sends it in a
//! header and gRPC in metadata), authenticates the key, and counts the request against
//! the user's plan; it answers the principal with the limits to report, or an error
//! whose kind each transport maps once (401 / `UNAUTHENTICATED`, 429 /
//! `RESOURCE_EXHAUSTED`).

use chrono::{DateTime, Utc};

use super::{
    ApiKeyService,
    rate_limits::{Decision, RateLimiter},
};
use crate::{Error, Result, model::User};

/// A request let in: who made it, and where their rate limit stands.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub user: User,
    pub limits: Decision,
}

#[derive(Debug, Clone)]
pub struct AccessGate {
    api_keys: ApiKeyService,
    limiter: RateLimiter,
}

impl AccessGate {
    pub fn new(api_keys: ApiKeyService, limiter: RateLimiter) -> Self {
        Self { api_keys, limiter }
    }

    /// Lets a request in on its `authorization` value, at `now`.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] for a missing or malformed credential or an unknown,
    /// revoked or expired key; [`Error::RateLimited`] over the plan's limit;
    /// [`Error::Unavailable`] when the key or the budget cannot be read.
    pub async fn admit(&self, authorization: Option<&str>, now: DateTime<Utc>) -> Result<Admitted> {
        let secret = bearer(authorization).ok_or(Error::Unauthenticated(MISSING))?;
        let user = self.api_keys.authenticate(secret).await?;
        let limits = self.limiter.check(user.id, user.plan, now).await?;
        if !limits.allowed {
            return Err(Error::RateLimited(limits));
        }
        Ok(Admitted { user, limits })
    }
}

/// Why a request without a usable credential is refused (Ctxfy's wording).
pub const MISSING: &str = "Please provide a valid API token";

/// The token of a `Bearer` credential; the scheme is case-insensitive (RFC 9110).
fn bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        ids::{ApiKeyId, UserId},
        model::{ApiKey, Plan},
        services::{
            rate_limits::{InProcessBudgets, RateLimits},
            test_ports::{Mocks, fixed_now},
        },
    };

    #[test]
    fn the_bearer_token_is_read_in_any_case_of_the_scheme() {
        assert_eq!(bearer(Some("Bearer ctxd_abc")), Some("ctxd_abc"));
        assert_eq!(bearer(Some("bearer  ctxd_abc ")), Some("ctxd_abc"));
        assert_eq!(bearer(Some("BEARER ctxd_abc")), Some("ctxd_abc"));
        for bad in [None, Some(""), Some("Bearer"), Some("Bearer "), Some("Basic dXNlcg=="), Some("ctxd_abc")] {
            assert_eq!(bearer(bad), None, "{bad:?}");
        }
    }

    fn gate(per_minute: u32) -> (AccessGate, String) {
        let issued = crate::model::ApiKeySecret::generate();
        let secret = issued.expose().to_owned();
        let user = User { id: UserId::new(), name: "ada".into(), plan: Plan::Pro, created_at: fixed_now() };
        let key = ApiKey {
            id: ApiKeyId::new(),
            user_id: user.id,
            name: None,
            key_prefix: secret[..12].to_owned(),
            key_hash: crate::model::hash_secret_for_lookup(&secret),
            expiration_date: None,
            created_at: fixed_now(),
            revoked_at: None,
        };
        let mut mocks = Mocks::default();
        mocks.api_keys.expect_find_by_hash().returning(move |_| Ok(Some((key.clone(), user.clone()))));
        let limits = RateLimits { free_per_minute: per_minute, pro_per_minute: per_minute };
        let limiter = RateLimiter::new(limits, Arc::new(InProcessBudgets::default()));
        (AccessGate::new(ApiKeyService::new(mocks.into_ports()), limiter), secret)
    }

    #[tokio::test]
    async fn a_request_is_let_in_with_its_limits_or_refused_with_a_kind() {
        let (gate, secret) = gate(2);
        let header = format!("Bearer {secret}");
        let admitted = gate.admit(Some(&header), fixed_now()).await.unwrap();
        assert_eq!((admitted.limits.limit, admitted.limits.remaining), (2, 1));
        assert!(gate.admit(Some(&header), fixed_now()).await.is_ok());
        let refused = gate.admit(Some(&header), fixed_now()).await.unwrap_err();
        assert_eq!(refused.kind(), crate::ErrorKind::RateLimited);
        assert!(refused.public_message().starts_with("Rate limit of 2 requests per minute exceeded"));
        let missing = gate.admit(None, fixed_now()).await.unwrap_err();
        assert_eq!(missing.kind(), crate::ErrorKind::Unauthenticated);
        assert_eq!(missing.public_message(), "Authentication required. Please provide a valid API token");
    }
}
