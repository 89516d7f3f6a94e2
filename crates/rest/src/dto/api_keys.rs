//! API keys: the create body, the key answers.

use super::*;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    #[schema(schema_with = label_schema)]
    pub name: Option<String>,
    /// RFC 3339; the key stops working at this instant.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expiration_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: String,
    pub key_prefix: String,
    pub name: Option<String>,
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expiration_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        ApiKeyOut {
            id: k.id.to_string(),
            key_prefix: k.key_prefix,
            name: k.name,
            expiration_date: k.expiration_date,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// The key as returned once, at creation, with its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreatedOut {
    #[serde(flatten)]
    pub key: ApiKeyOut,
    /// The secret; shown only in this response.
    pub api_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeysPage {
    pub api_keys: Vec<ApiKeyOut>,
    pub pagination: Pagination,
}
