//! Collections: a tree of folders inside a space.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::ids::{CollectionId, SpaceId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub id: CollectionId,
    pub space_id: SpaceId,
    pub user_id: UserId,
    pub parent_id: Option<CollectionId>,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A collection with its children, for the tree view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionNode {
    pub collection: Collection,
    pub children: Vec<CollectionNode>,
}

/// Arranges a space's collections as a forest: roots first, children nested, each
/// level in creation order. A collection whose parent is missing is treated as a root
/// so no row is ever hidden.
pub fn build_tree(mut collections: Vec<Collection>) -> Vec<CollectionNode> {
    collections.sort_by_key(|c| c.id);
    let ids: std::collections::HashSet<_> = collections.iter().map(|c| c.id).collect();
    let mut children_of: HashMap<Option<CollectionId>, Vec<Collection>> = HashMap::new();
    for collection in collections {
        let parent = collection.parent_id.filter(|p| ids.contains(p));
        children_of.entry(parent).or_default().push(collection);
    }
    fn attach(
        parent: Option<CollectionId>,
        children_of: &mut HashMap<Option<CollectionId>, Vec<Collection>>,
    ) -> Vec<CollectionNode> {
        let Some(children) = children_of.remove(&parent) else { return Vec::new() };
        children
            .into_iter()
            .map(|collection| {
                let children = attach(Some(collection.id), children_of);
                CollectionNode { collection, children }
            })
            .collect()
    }
    attach(None, &mut children_of)
}

/// Whether making `moved` a child of `new_parent` would create a cycle, given each
/// collection's current parent.
pub(crate) fn would_cycle(
    moved: CollectionId,
    new_parent: CollectionId,
    parent_of: &HashMap<CollectionId, Option<CollectionId>>,
) -> bool {
    let mut cursor = Some(new_parent);
    // The walk is bounded by the number of collections, so a corrupt (already cyclic)
    // table cannot make it loop forever.
    for _ in 0..=parent_of.len() {
        match cursor {
            Some(id) if id == moved => return true,
            Some(id) => cursor = parent_of.get(&id).copied().flatten(),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(parent: Option<CollectionId>) -> Collection {
        let now = Utc::now();
        Collection {
            id: CollectionId::new(),
            space_id: SpaceId(uuid::Uuid::nil()),
            user_id: UserId(uuid::Uuid::nil()),
            parent_id: parent,
            name: "c".into(),
            description: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn tree_nests_children_under_their_parents() {
        let root = collection(None);
        let child = collection(Some(root.id));
        let grandchild = collection(Some(child.id));
        let other_root = collection(None);
        let tree = build_tree(vec![grandchild.clone(), other_root.clone(), child.clone(), root.clone()]);
        assert_eq!(tree.len(), 2);
        assert_eq!(tree[0].collection.id, root.id);
        assert_eq!(tree[0].children[0].collection.id, child.id);
        assert_eq!(tree[0].children[0].children[0].collection.id, grandchild.id);
        assert_eq!(tree[1].collection.id, other_root.id);
    }

    #[test]
    fn moving_under_a_descendant_is_a_cycle() {
        let a = collection(None);
        let b = collection(Some(a.id));
        let c = collection(Some(b.id));
        let parent_of: HashMap<_, _> = [&a, &b, &c].iter().map(|x| (x.id, x.parent_id)).collect();
        assert!(would_cycle(a.id, c.id, &parent_of));
        assert!(would_cycle(a.id, a.id, &parent_of));
        assert!(!would_cycle(c.id, a.id, &parent_of));
    }
}
