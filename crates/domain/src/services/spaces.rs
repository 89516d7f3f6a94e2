//! Space use cases.

use super::Ports;
use crate::{
    Error, Result,
    error::Violations,
    ids::SpaceId,
    model::{Page, PageRequest, Space, SpaceName, User},
};

/// Body of `POST /v1/spaces` and `PUT /v1/spaces/{id}` (a full replace).
#[derive(Debug, Clone)]
pub struct SpaceInput {
    pub name: String,
    pub description: Option<String>,
}

impl SpaceInput {
    fn validate(self) -> Result<(String, Option<String>)> {
        let mut violations = Violations::default();
        let name = violations.check(SpaceName::parse("name", &self.name));
        violations.check(crate::model::space::check_description("description", &self.description));
        violations.finish()?;
        Ok((name.expect("validated").into_inner(), self.description))
    }
}

#[derive(Debug, Clone)]
pub struct SpaceService {
    ports: Ports,
}

impl SpaceService {
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// # Errors
    /// [`Error::Validation`] for a bad name or description.
    pub async fn create(&self, user: &User, input: SpaceInput) -> Result<Space> {
        let (name, description) = input.validate()?;
        let now = self.ports.clock.now();
        let space = Space { id: SpaceId::new(), user_id: user.id, name, description, created_at: now, updated_at: now };
        self.ports.spaces.insert(&space).await?;
        Ok(space)
    }

    /// # Errors
    /// [`Error::NotFound`] when the user has no such space.
    pub async fn get(&self, user: &User, id: SpaceId) -> Result<Space> {
        self.ports.spaces.get(user.id, id).await?.ok_or(Error::NotFound("space"))
    }

    pub async fn list(&self, user: &User, page: PageRequest) -> Result<Page<Space>> {
        self.ports.spaces.list(user.id, page).await
    }

    /// # Errors
    /// [`Error::Validation`], [`Error::NotFound`].
    pub async fn replace(&self, user: &User, id: SpaceId, input: SpaceInput) -> Result<Space> {
        let (name, description) = input.validate()?;
        let mut space = self.get(user, id).await?;
        space.name = name;
        space.description = description;
        space.updated_at = self.ports.clock.now();
        self.ports.spaces.update(&space).await?;
        Ok(space)
    }

    /// Deletes the space and everything in it: at once it and its sources answer 404
    /// (the sources are soft-deleted, their work canceled), and the purge removes
    /// their data, stored objects included, in the background.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete(&self, user: &User, id: SpaceId) -> Result<()> {
        let now = self.ports.clock.now();
        if self.ports.spaces.delete(user.id, id, now).await? { Ok(()) } else { Err(Error::NotFound("space")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ids::UserId,
        model::Plan,
        services::test_ports::{Mocks, fixed_now},
    };

    fn user() -> User {
        User { id: UserId::new(), name: "ada".into(), plan: Plan::Pro, created_at: fixed_now() }
    }

    #[tokio::test]
    async fn create_validates_then_stores_a_space_owned_by_the_user() {
        let user = user();
        let owner = user.id;
        let mut mocks = Mocks::default();
        mocks
            .spaces
            .expect_insert()
            .withf(move |s| s.user_id == owner && s.name == "Research")
            .times(1)
            .returning(|_| Ok(()));
        let service = SpaceService::new(mocks.into_ports());
        let space = service.create(&user, SpaceInput { name: "Research".into(), description: None }).await.unwrap();
        assert_eq!(space.created_at, fixed_now());
        let error = service.create(&user, SpaceInput { name: " ".into(), description: None }).await.unwrap_err();
        assert_eq!(error.details()[0].field, "name");
    }

    #[tokio::test]
    async fn another_users_space_is_not_found() {
        let mut mocks = Mocks::default();
        mocks.spaces.expect_get().returning(|_, _| Ok(None));
        mocks.spaces.expect_delete().returning(|_, _, _| Ok(false));
        let service = SpaceService::new(mocks.into_ports());
        assert!(matches!(service.get(&user(), SpaceId::new()).await, Err(Error::NotFound("space"))));
        assert!(matches!(service.delete(&user(), SpaceId::new()).await, Err(Error::NotFound("space"))));
        let user = user();
        let replace = service.replace(&user, SpaceId::new(), SpaceInput { name: "x".into(), description: None });
        assert!(matches!(replace.await, Err(Error::NotFound("space"))));
    }
}
