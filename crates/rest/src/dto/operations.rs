//! Operations: the health answer.

use super::*;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Each dependency's state.
    #[schema(value_type = Object)]
    pub checks: serde_json::Map<String, Value>,
}
