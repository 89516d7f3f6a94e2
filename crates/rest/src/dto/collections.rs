//! Collections: bodies and the tree answer.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionIn {
    #[schema(schema_with = name_schema)]
    pub name: String,
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
    /// A collection of the same space, or null for a top-level collection.
    #[serde(rename = "parentId")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_id: Option<CollectionId>,
}

/// Body of `PATCH /v1/collections/{collectionId}`: absent fields stay as they are;
/// `parentId: null` moves the collection to the top level.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionPatchIn {
    #[schema(schema_with = optional_name_schema)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = description_schema)]
    pub description: Option<Option<String>>,
    #[serde(default, rename = "parentId", deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_id: Option<Option<CollectionId>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionOut {
    pub id: String,
    #[serde(rename = "spaceId")]
    pub space_id: String,
    #[serde(rename = "parentId")]
    pub parent_id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<Collection> for CollectionOut {
    fn from(c: Collection) -> Self {
        CollectionOut {
            id: c.id.to_string(),
            space_id: c.space_id.to_string(),
            parent_id: c.parent_id.map(|p| p.to_string()),
            name: c.name,
            description: c.description,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A collection with its children nested.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionNodeOut {
    #[serde(flatten)]
    pub collection: CollectionOut,
    #[schema(no_recursion)]
    pub children: Vec<CollectionNodeOut>,
}

impl From<CollectionNode> for CollectionNodeOut {
    fn from(node: CollectionNode) -> Self {
        CollectionNodeOut {
            collection: node.collection.into(),
            children: node.children.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionTree {
    pub collections: Vec<CollectionNodeOut>,
}
