//! Collections: a tree of folders inside a space, bounded in depth.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::ids::{CollectionId, SpaceId, UserId};

/// How deep collections may nest by default: a top-level collection is at depth 1.
/// Trees are walked by user requests (listing, moves), so their depth is a resource
/// a tenant controls and must be bounded like any other.
pub const DEFAULT_MAX_DEPTH: usize = 32;

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
/// so no row is ever hidden; so is one that would sit deeper than `max_depth` (rows
/// written before the depth limit existed) and each member of a corrupt cycle, so the
/// answer's depth, and every walk over it, stays bounded.
///
/// Built with an explicit stack, never by recursion: the depth of stored data is not
/// something the process's stack may depend on.
pub fn build_tree(mut collections: Vec<Collection>, max_depth: usize) -> Vec<CollectionNode> {
    let max_depth = max_depth.max(1);
    collections.sort_by_key(|c| c.id);
    let ids: std::collections::HashSet<_> = collections.iter().map(|c| c.id).collect();
    let mut children_of: HashMap<Option<CollectionId>, Vec<Collection>> = HashMap::new();
    for collection in collections {
        let parent = collection.parent_id.filter(|p| ids.contains(p));
        children_of.entry(parent).or_default().push(collection);
    }
    let mut roots: std::collections::VecDeque<Collection> = children_of.remove(&None).unwrap_or_default().into();
    let mut forest = Vec::new();
    while let Some(root) = roots.pop_front().or_else(|| take_earliest(&mut children_of)) {
        // One frame per open node: the node, its children still to visit, the
        // children already built.
        type Frame = (Collection, std::vec::IntoIter<Collection>, Vec<CollectionNode>);
        let kids = children_of.remove(&Some(root.id)).unwrap_or_default();
        let mut stack: Vec<Frame> = vec![(root, kids.into_iter(), Vec::new())];
        while let Some((_, pending, _)) = stack.last_mut() {
            if let Some(child) = pending.next() {
                if stack.len() >= max_depth {
                    roots.push_back(child);
                    continue;
                }
                let kids = children_of.remove(&Some(child.id)).unwrap_or_default();
                stack.push((child, kids.into_iter(), Vec::new()));
                continue;
            }
            let Some((collection, _, children)) = stack.pop() else { break };
            let node = CollectionNode { collection, children };
            match stack.last_mut() {
                Some((_, _, siblings)) => siblings.push(node),
                None => forest.push(node),
            }
        }
        children_of.retain(|_, v| !v.is_empty());
    }
    forest
}

/// Takes the earliest-created collection out of `children_of`: what is left there
/// after every root was built is reachable only through a cycle, and its earliest
/// member starts a tree of its own.
fn take_earliest(children_of: &mut HashMap<Option<CollectionId>, Vec<Collection>>) -> Option<Collection> {
    let key = children_of.values().flatten().map(|c| c.id).min()?;
    let holder = children_of.values_mut().find(|v| v.iter().any(|c| c.id == key))?;
    let at = holder.iter().position(|c| c.id == key)?;
    Some(holder.remove(at))
}

/// The depth of `id` (a top-level collection is 1), walking parents; bounded by the
/// number of collections so a corrupt (cyclic) table cannot loop.
pub(crate) fn depth_of(id: CollectionId, parent_of: &HashMap<CollectionId, Option<CollectionId>>) -> usize {
    let mut depth = 1;
    let mut cursor = parent_of.get(&id).copied().flatten();
    while let Some(parent) = cursor {
        if depth > parent_of.len() {
            break;
        }
        depth += 1;
        cursor = parent_of.get(&parent).copied().flatten();
    }
    depth
}

/// How many levels the subtree under `root` spans, `root` included (a leaf is 1);
/// iterative, and each collection is visited once even in a corrupt cyclic table.
pub(crate) fn height_of(root: CollectionId, parent_of: &HashMap<CollectionId, Option<CollectionId>>) -> usize {
    let mut children: HashMap<CollectionId, Vec<CollectionId>> = HashMap::new();
    for (id, parent) in parent_of {
        if let Some(parent) = parent {
            children.entry(*parent).or_default().push(*id);
        }
    }
    let mut seen = std::collections::HashSet::from([root]);
    let mut stack = vec![(root, 1)];
    let mut height = 1;
    while let Some((id, level)) = stack.pop() {
        height = height.max(level);
        for child in children.get(&id).into_iter().flatten() {
            if seen.insert(*child) {
                stack.push((*child, level + 1));
            }
        }
    }
    height
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
        let tree = build_tree(vec![grandchild.clone(), other_root.clone(), child.clone(), root.clone()], 32);
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

    /// The nodes of a forest, counted with an explicit stack, and its deepest level.
    fn count_and_depth(forest: &[CollectionNode]) -> (usize, usize) {
        let mut stack: Vec<(&CollectionNode, usize)> = forest.iter().map(|n| (n, 1)).collect();
        let (mut count, mut deepest) = (0, 0);
        while let Some((node, depth)) = stack.pop() {
            count += 1;
            deepest = deepest.max(depth);
            stack.extend(node.children.iter().map(|c| (c, depth + 1)));
        }
        (count, deepest)
    }

    #[test]
    fn a_chain_far_deeper_than_the_limit_builds_without_recursion_and_stays_bounded() {
        let mut chain = vec![collection(None)];
        for _ in 0..50_000 {
            let parent = chain.last().map(|c| c.id);
            chain.push(collection(parent));
        }
        let tree = build_tree(chain, 32);
        let (count, deepest) = count_and_depth(&tree);
        assert_eq!(count, 50_001, "every collection is listed");
        assert_eq!(deepest, 32);
        assert_eq!(tree.len(), 50_001usize.div_ceil(32), "each 32 levels start a new root");
    }

    #[test]
    fn members_of_a_corrupt_cycle_are_still_listed() {
        let mut a = collection(None);
        let b = collection(Some(a.id));
        a.parent_id = Some(b.id);
        let c = collection(Some(b.id));
        let tree = build_tree(vec![a.clone(), b, c], 32);
        let (count, _) = count_and_depth(&tree);
        assert_eq!(count, 3);
        assert_eq!(tree[0].collection.id, a.id, "the earliest member starts the tree");
    }

    #[test]
    fn depth_and_height_are_counted_in_levels() {
        let a = collection(None);
        let b = collection(Some(a.id));
        let c = collection(Some(b.id));
        let d = collection(Some(a.id));
        let parent_of: HashMap<_, _> = [&a, &b, &c, &d].iter().map(|x| (x.id, x.parent_id)).collect();
        assert_eq!(depth_of(a.id, &parent_of), 1);
        assert_eq!(depth_of(c.id, &parent_of), 3);
        assert_eq!(height_of(a.id, &parent_of), 3);
        assert_eq!(height_of(d.id, &parent_of), 1);
        assert_eq!(height_of(b.id, &parent_of), 2);
    }
}
