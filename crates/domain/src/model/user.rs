//! Users and their plans.

use chrono::{DateTime, Utc};

use super::wire_enum;
use crate::ids::UserId;

wire_enum!(
    /// The plan decides a user's rate limit.
    Plan { Free => "FREE", Pro => "PRO" }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    /// Unique, chosen by the operator (`ctxd keys create --user NAME`).
    pub name: String,
    pub plan: Plan,
    pub created_at: DateTime<Utc>,
}
