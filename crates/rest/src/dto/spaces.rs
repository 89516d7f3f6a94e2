//! Spaces: `/v1/spaces` bodies and answers.

use super::*;

/// Body of `POST /v1/spaces` and `PUT /v1/spaces/{spaceId}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceIn {
    /// 1..=200 characters.
    #[schema(schema_with = name_schema)]
    pub name: String,
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceOut {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<Space> for SpaceOut {
    fn from(space: Space) -> Self {
        SpaceOut {
            id: space.id.to_string(),
            name: space.name,
            description: space.description,
            created_at: space.created_at,
            updated_at: space.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpacesPage {
    pub spaces: Vec<SpaceOut>,
    pub pagination: Pagination,
}
