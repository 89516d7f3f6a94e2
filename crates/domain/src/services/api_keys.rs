//! API key use cases: authenticate a request, mint, list and revoke keys, and the
//! operator's bootstrap of a user with a first key.

use chrono::{DateTime, Utc};

use super::Ports;
use crate::{
    Error, Result,
    error::Violations,
    ids::{ApiKeyId, UserId},
    model::{ApiKey, ApiKeySecret, IssuedApiKey, Page, PageRequest, Plan, User},
};

/// `POST /v1/api-keys` body.
#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    pub name: Option<String>,
    pub expiration_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ApiKeyService {
    ports: Ports,
}

impl ApiKeyService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// Resolves a presented secret to its user.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] for an unknown, revoked or expired key.
    pub async fn authenticate(&self, secret: &str) -> Result<User> {
        self.authenticate_key(secret).await.map(|(_, user)| user)
    }

    /// Like [`ApiKeyService::authenticate`], with the key itself.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] for an unknown, revoked or expired key.
    pub async fn authenticate_key(&self, secret: &str) -> Result<(ApiKey, User)> {
        if !secret.starts_with(ApiKeySecret::PREFIX) {
            return Err(Error::Unauthenticated("The API key is not valid"));
        }
        self.authenticate_hash(&crate::model::hash_secret_for_lookup(secret)).await
    }

    /// The live key with this lookup hash, and its user: how a console session, which
    /// holds the hash and never the secret, is checked on each request.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] for an unknown, revoked or expired key.
    pub async fn authenticate_hash(&self, hash: &str) -> Result<(ApiKey, User)> {
        let Some((key, user)) = self.ports.api_keys.find_by_hash(hash).await? else {
            return Err(Error::Unauthenticated("The API key is not valid"));
        };
        if key.revoked_at.is_some() {
            return Err(Error::Unauthenticated("The API key has been revoked"));
        }
        if !key.is_usable_at(self.ports.clock.now()) {
            return Err(Error::Unauthenticated("The API key has expired"));
        }
        Ok((key, user))
    }

    /// Mints a key for `user`. The secret is returned here and never again.
    ///
    /// # Errors
    /// [`Error::Validation`] for a name over 200 characters or an expiration date in
    /// the past.
    pub async fn create(&self, user: &User, request: NewApiKey) -> Result<IssuedApiKey> {
        let now = self.ports.clock.now();
        let mut violations = Violations::default();
        if let Some(name) = &request.name {
            violations.check(crate::model::check_name("name", name, 0, 200));
        }
        if request.expiration_date.is_some_and(|at| at <= now) {
            violations.add("expiration_date", "must be in the future");
        }
        violations.finish()?;
        self.issue(user.id, request, now).await
    }

    async fn issue(&self, user_id: UserId, request: NewApiKey, now: DateTime<Utc>) -> Result<IssuedApiKey> {
        let secret = ApiKeySecret::generate();
        let key = ApiKey {
            id: ApiKeyId::new(),
            user_id,
            name: request.name,
            key_prefix: secret.prefix(),
            key_hash: secret.hash(),
            expiration_date: request.expiration_date,
            created_at: now,
            revoked_at: None,
        };
        self.ports.api_keys.insert(&key).await?;
        Ok(IssuedApiKey { key, secret })
    }

    pub async fn list(&self, user: &User, page: PageRequest) -> Result<Page<ApiKey>> {
        self.ports.api_keys.list(user.id, page).await
    }

    /// Revokes a key at once; revoking twice keeps the first time.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the user has no such key.
    pub async fn revoke(&self, user: &User, id: ApiKeyId) -> Result<ApiKey> {
        let now = self.ports.clock.now();
        self.ports.api_keys.revoke(user.id, id, now).await?.ok_or(Error::NotFound("API key"))
    }

    /// The operator's `ctxd keys create --user NAME`: creates the user when needed
    /// (with `plan`, or PRO by default) and mints a key for them.
    ///
    /// # Errors
    /// [`Error::Validation`] for an empty or over-long user name.
    pub async fn create_for_user_name(&self, name: &str, plan: Option<Plan>) -> Result<(User, IssuedApiKey)> {
        crate::model::check_name("user", name, 1, 200).map_err(|e| Error::invalid_fields(vec![e]))?;
        let now = self.ports.clock.now();
        let user = match self.ports.users.find_by_name(name).await? {
            Some(user) => user,
            None => {
                let user =
                    User { id: UserId::new(), name: name.to_owned(), plan: plan.unwrap_or(Plan::Pro), created_at: now };
                match self.ports.users.insert(&user).await {
                    Ok(()) => user,
                    // Someone else created the same user in between: use theirs.
                    Err(Error::Conflict(_)) => {
                        self.ports.users.find_by_name(name).await?.ok_or_else(|| Error::internal("user vanished"))?
                    }
                    Err(error) => return Err(error),
                }
            }
        };
        let issued = self.issue(user.id, NewApiKey::default(), now).await?;
        Ok((user, issued))
    }

    /// The user called `name`, for local clients that act as a user without a key
    /// (`ctxd mcp --user NAME`: whoever can start the process can read the database).
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such user.
    pub async fn user_named(&self, name: &str) -> Result<User> {
        self.ports.users.find_by_name(name).await?.ok_or(Error::NotFound("user"))
    }

    /// First start of an empty installation: when there are no users yet, creates the
    /// local user and returns its first key; otherwise returns `None`.
    pub async fn bootstrap_local_user(&self) -> Result<Option<IssuedApiKey>> {
        if self.ports.users.count().await? > 0 {
            return Ok(None);
        }
        let (_, issued) = self.create_for_user_name("local", Some(Plan::Pro)).await?;
        Ok(Some(issued))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use mockall::predicate::eq;

    use super::*;
    use crate::services::test_ports::{Mocks, fixed_now};

    fn user() -> User {
        User { id: UserId::new(), name: "ada".into(), plan: Plan::Pro, created_at: fixed_now() }
    }

    fn stored_key(user: &User, revoked: bool, expires: Option<DateTime<Utc>>) -> ApiKey {
        ApiKey {
            id: ApiKeyId::new(),
            user_id: user.id,
            name: None,
            key_prefix: "ctxd_0123456".into(),
            key_hash: "h".into(),
            expiration_date: expires,
            created_at: fixed_now(),
            revoked_at: revoked.then(fixed_now),
        }
    }

    async fn authenticate_with(stored: Option<(ApiKey, User)>) -> Result<User> {
        let mut mocks = Mocks::default();
        let secret = "ctxd_secret";
        mocks
            .api_keys
            .expect_find_by_hash()
            .with(eq(crate::model::hash_secret_for_lookup(secret)))
            .return_once(move |_| Ok(stored));
        ApiKeyService::new(mocks.into_ports()).authenticate(secret).await
    }

    #[tokio::test]
    async fn a_valid_key_authenticates_its_user_by_hash_lookup() {
        let user = user();
        let result = authenticate_with(Some((stored_key(&user, false, None), user.clone()))).await;
        assert_eq!(result.unwrap(), user);
    }

    #[tokio::test]
    async fn unknown_revoked_and_expired_keys_are_unauthenticated() {
        let user = user();
        assert!(matches!(authenticate_with(None).await, Err(Error::Unauthenticated(_))));
        let revoked = authenticate_with(Some((stored_key(&user, true, None), user.clone()))).await;
        assert!(matches!(revoked, Err(Error::Unauthenticated("The API key has been revoked"))));
        let expired = stored_key(&user, false, Some(fixed_now() - Duration::seconds(1)));
        assert!(matches!(
            authenticate_with(Some((expired, user))).await,
            Err(Error::Unauthenticated("The API key has expired"))
        ));
    }

    #[tokio::test]
    async fn secrets_without_the_prefix_never_reach_the_store() {
        let service = ApiKeyService::new(Mocks::default().into_ports());
        assert!(matches!(service.authenticate("Bearer x").await, Err(Error::Unauthenticated(_))));
    }

    #[tokio::test]
    async fn created_keys_store_only_the_hash() {
        let user = user();
        let mut mocks = Mocks::default();
        mocks
            .api_keys
            .expect_insert()
            .withf(|key| key.key_hash.len() == 64 && key.key_prefix.starts_with("ctxd_"))
            .returning(|_| Ok(()));
        let service = ApiKeyService::new(mocks.into_ports());
        let issued = service.create(&user, NewApiKey { name: Some("ci".into()), expiration_date: None }).await.unwrap();
        assert_eq!(issued.key.key_hash, issued.secret.hash());
        assert_ne!(issued.key.key_hash, issued.secret.expose());
    }

    #[tokio::test]
    async fn expiration_in_the_past_is_invalid() {
        let service = ApiKeyService::new(Mocks::default().into_ports());
        let request = NewApiKey { name: None, expiration_date: Some(fixed_now() - Duration::days(1)) };
        let error = service.create(&user(), request).await.unwrap_err();
        assert_eq!(error.details()[0].field, "expiration_date");
    }

    #[tokio::test]
    async fn bootstrap_creates_the_local_user_only_on_an_empty_install() {
        let mut mocks = Mocks::default();
        mocks.users.expect_count().return_once(|| Ok(1));
        let service = ApiKeyService::new(mocks.into_ports());
        assert!(service.bootstrap_local_user().await.unwrap().is_none());

        let mut mocks = Mocks::default();
        mocks.users.expect_count().return_once(|| Ok(0));
        mocks.users.expect_find_by_name().with(eq("local")).return_once(|_| Ok(None));
        mocks.users.expect_insert().withf(|u| u.name == "local" && u.plan == Plan::Pro).return_once(|_| Ok(()));
        mocks.api_keys.expect_insert().return_once(|_| Ok(()));
        let service = ApiKeyService::new(mocks.into_ports());
        assert!(service.bootstrap_local_user().await.unwrap().is_some());
    }

    #[tokio::test]
    async fn revoking_an_unknown_key_is_not_found() {
        let mut mocks = Mocks::default();
        mocks.api_keys.expect_revoke().return_once(|_, _, _| Ok(None));
        let service = ApiKeyService::new(mocks.into_ports());
        assert!(matches!(service.revoke(&user(), ApiKeyId::new()).await, Err(Error::NotFound(_))));
    }
}
