//! Postback deliveries as a source's owner reads them.

use ctxd_domain::model::{Postback, PostbackStatus};

use super::*;

/// The delivery states (from [`PostbackStatus::ALL`]).
pub(crate) fn postback_status_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(PostbackStatus::ALL.iter().map(|v| v.as_str())))
        .build()
}

/// One notification sent (or being sent) to the source's `postback_url`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostbackDeliveryOut {
    /// The `webhook-id` header: the same on every attempt, so receivers can deduplicate.
    pub webhook_id: String,
    /// The payload's `event` (`SourceStatusNotification`).
    pub event: String,
    pub url: String,
    /// PENDING (waiting for its next attempt), DELIVERED (a 2xx came back) or
    /// GAVE_UP (every attempt failed).
    #[schema(schema_with = postback_status_schema)]
    pub status: &'static str,
    /// Attempts made so far.
    pub attempts: u32,
    /// The receiver's status code on the last attempt; null when none came (a
    /// time-out, a refused connection) or nothing was attempted yet.
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed; null when it did not.
    pub last_error: Option<String>,
    /// When the next attempt is due; null once delivered or given up.
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "serialize_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "serialize_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// The body sent, as signed.
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<Postback> for PostbackDeliveryOut {
    fn from(postback: Postback) -> Self {
        let pending = postback.status == PostbackStatus::Pending;
        Self {
            webhook_id: postback.id.to_string(),
            event: postback.payload.get("event").and_then(Value::as_str).unwrap_or_default().to_owned(),
            url: postback.url.to_string(),
            status: postback.status.as_str(),
            attempts: postback.attempts,
            last_status_code: postback.last_status_code,
            last_error: postback.last_error,
            next_attempt_at: pending.then_some(postback.next_attempt_at),
            delivered_at: postback.delivered_at,
            created_at: postback.created_at,
            payload: postback.payload,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostbacksPage {
    pub postbacks: Vec<PostbackDeliveryOut>,
    pub pagination: Pagination,
}
