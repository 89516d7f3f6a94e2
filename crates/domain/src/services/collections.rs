//! Collection use cases: a tree inside a space, with moves that never make a cycle.

use std::collections::HashMap;

use super::Ports;
use crate::{
    Error, Result,
    error::Violations,
    ids::{CollectionId, SpaceId},
    model::{
        Collection, CollectionNode, SpaceName, User, build_tree,
        collection::{depth_of, height_of},
    },
};

/// Body of `POST /v1/spaces/{spaceId}/collections`.
#[derive(Debug, Clone)]
pub struct NewCollection {
    pub name: String,
    pub description: Option<String>,
    pub parent_id: Option<CollectionId>,
}

/// Body of `PATCH /v1/collections/{id}`: `None` leaves a field as it is; for
/// `parent_id`, `Some(None)` moves the collection to the top level.
#[derive(Debug, Clone, Default)]
pub struct CollectionPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub parent_id: Option<Option<CollectionId>>,
}

#[derive(Debug, Clone)]
pub struct CollectionService {
    ports: Ports,
    /// The deepest a collection may sit (a top-level one is at depth 1).
    max_depth: usize,
}

impl CollectionService {
    pub fn new(ports: Ports, max_depth: usize) -> Self {
        Self { ports, max_depth: max_depth.max(1) }
    }

    fn too_deep(&self) -> Error {
        Error::Conflict(format!("collections nest at most {} levels deep", self.max_depth))
    }

    /// # Errors
    /// [`Error::NotFound`] for an unknown space; [`Error::Validation`] for a bad name
    /// or a `parentId` that is not a collection of the same space;
    /// [`Error::Conflict`] when the new collection would nest deeper than allowed.
    pub async fn create(&self, user: &User, space_id: SpaceId, input: NewCollection) -> Result<Collection> {
        self.ports.spaces.get(user.id, space_id).await?.ok_or(Error::NotFound("space"))?;
        let mut violations = Violations::default();
        let name = violations.check(SpaceName::parse("name", &input.name));
        violations.check(crate::model::space::check_description("description", &input.description));
        if let Some(parent_id) = input.parent_id {
            let parent = self.ports.collections.get(user.id, parent_id).await?;
            if parent.is_none_or(|p| p.space_id != space_id) {
                violations.add("parentId", "must be a collection of the same space");
            }
        }
        violations.finish()?;
        if let Some(parent_id) = input.parent_id {
            let all = self.ports.collections.list_in_space(space_id).await?;
            let parent_of: HashMap<_, _> = all.iter().map(|c| (c.id, c.parent_id)).collect();
            if depth_of(parent_id, &parent_of) + 1 > self.max_depth {
                return Err(self.too_deep());
            }
        }
        let now = self.ports.clock.now();
        let collection = Collection {
            id: CollectionId::new(),
            space_id,
            user_id: user.id,
            parent_id: input.parent_id,
            name: name.expect("validated").into_inner(),
            description: input.description,
            created_at: now,
            updated_at: now,
        };
        self.ports.collections.insert(&collection).await?;
        Ok(collection)
    }

    /// The space's collections as a tree.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown space.
    pub async fn tree(&self, user: &User, space_id: SpaceId) -> Result<Vec<CollectionNode>> {
        self.ports.spaces.get(user.id, space_id).await?.ok_or(Error::NotFound("space"))?;
        Ok(build_tree(self.ports.collections.list_in_space(space_id).await?, self.max_depth))
    }

    /// # Errors
    /// [`Error::NotFound`].
    pub async fn get(&self, user: &User, id: CollectionId) -> Result<Collection> {
        self.ports.collections.get(user.id, id).await?.ok_or(Error::NotFound("collection"))
    }

    /// Renames and/or moves a collection.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Validation`] for a bad name or a parent outside
    /// the space; [`Error::Conflict`] when the move would put the collection inside
    /// itself or one of its descendants, or its subtree deeper than allowed.
    pub async fn update(&self, user: &User, id: CollectionId, patch: CollectionPatch) -> Result<Collection> {
        let mut collection = self.get(user, id).await?;
        let mut violations = Violations::default();
        if let Some(name) = &patch.name
            && let Some(name) = violations.check(SpaceName::parse("name", name))
        {
            collection.name = name.into_inner();
        }
        if let Some(description) = patch.description {
            violations.check(crate::model::space::check_description("description", &description));
            collection.description = description;
        }
        let mut check_cycle = None;
        if let Some(parent_id) = patch.parent_id {
            if let Some(parent_id) = parent_id {
                let parent = self.ports.collections.get(user.id, parent_id).await?;
                if parent.is_none_or(|p| p.space_id != collection.space_id) {
                    violations.add("parentId", "must be a collection of the same space");
                }
                check_cycle = Some(parent_id);
            }
            collection.parent_id = parent_id;
        }
        violations.finish()?;
        if let Some(new_parent) = check_cycle {
            let all = self.ports.collections.list_in_space(collection.space_id).await?;
            let parent_of: HashMap<_, _> = all.iter().map(|c| (c.id, c.parent_id)).collect();
            if crate::model::collection::would_cycle(collection.id, new_parent, &parent_of) {
                return Err(Error::Conflict("cannot move a collection inside itself or one of its descendants".into()));
            }
            if depth_of(new_parent, &parent_of) + height_of(collection.id, &parent_of) > self.max_depth {
                return Err(self.too_deep());
            }
        }
        collection.updated_at = self.ports.clock.now();
        self.ports.collections.update(&collection).await?;
        Ok(collection)
    }

    /// Deletes a collection; its children and sources move up to its parent.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn delete(&self, user: &User, id: CollectionId) -> Result<()> {
        let collection = self.get(user, id).await?;
        self.ports.collections.delete(&collection).await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{
        ids::UserId,
        model::{Plan, Space},
        services::test_ports::{Mocks, fixed_now},
    };

    fn user() -> User {
        User { id: UserId::new(), name: "ada".into(), plan: Plan::Pro, created_at: fixed_now() }
    }

    fn collection(space_id: SpaceId, parent_id: Option<CollectionId>) -> Collection {
        Collection {
            id: CollectionId::new(),
            space_id,
            user_id: UserId::new(),
            parent_id,
            name: "c".into(),
            description: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn space(user: &User) -> Space {
        Space {
            id: SpaceId::new(),
            user_id: user.id,
            name: "s".into(),
            description: None,
            created_at: fixed_now(),
            updated_at: fixed_now(),
        }
    }

    #[tokio::test]
    async fn parent_must_belong_to_the_same_space() {
        let user = user();
        let space = space(&user);
        let foreign_parent = collection(SpaceId::new(), None);
        let foreign_id = foreign_parent.id;
        let mut mocks = Mocks::default();
        let returned_space = space.clone();
        mocks.spaces.expect_get().return_once(move |_, _| Ok(Some(returned_space)));
        mocks.collections.expect_get().return_once(move |_, _| Ok(Some(foreign_parent)));
        let service = CollectionService::new(mocks.into_ports(), 32);
        let input = NewCollection { name: "n".into(), description: None, parent_id: Some(foreign_id) };
        let error = service.create(&user, space.id, input).await.unwrap_err();
        assert_eq!(error.details()[0].field, "parentId");
    }

    #[tokio::test]
    async fn moving_a_collection_under_its_own_child_is_a_conflict() {
        let user = user();
        let space_id = SpaceId::new();
        let parent = collection(space_id, None);
        let child = collection(space_id, Some(parent.id));
        let (parent_id, child_id) = (parent.id, child.id);
        let all = vec![parent.clone(), child.clone()];
        let mut mocks = Mocks::default();
        mocks
            .collections
            .expect_get()
            .returning(move |_, id| Ok([&parent, &child].into_iter().find(|c| c.id == id).cloned()));
        mocks.collections.expect_list_in_space().return_once(move |_| Ok(all));
        mocks.collections.expect_update().never();
        let service = CollectionService::new(mocks.into_ports(), 32);
        let patch = CollectionPatch { parent_id: Some(Some(child_id)), ..Default::default() };
        let error = service.update(&user, parent_id, patch).await.unwrap_err();
        assert!(matches!(error, Error::Conflict(_)));
    }

    #[tokio::test]
    async fn moving_to_the_top_level_needs_no_cycle_check() {
        let user = user();
        let space_id = SpaceId::new();
        let parent = collection(space_id, None);
        let child = collection(space_id, Some(parent.id));
        let child_id = child.id;
        let mut mocks = Mocks::default();
        mocks.collections.expect_get().return_once(move |_, _| Ok(Some(child)));
        mocks.collections.expect_update().withf(|c| c.parent_id.is_none()).return_once(|_| Ok(()));
        let service = CollectionService::new(mocks.into_ports(), 32);
        let patch = CollectionPatch { parent_id: Some(None), ..Default::default() };
        assert!(service.update(&user, child_id, patch).await.unwrap().parent_id.is_none());
    }
}
