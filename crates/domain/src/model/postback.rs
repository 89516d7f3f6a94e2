//! Postbacks: signed status notifications to a user's URL, Standard Webhooks style.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::Sha256;
use url::Url;

use super::{Run, Source, wire_enum};
use crate::ids::{PostbackId, SourceId, UserId};

wire_enum!(
    PostbackStatus { Pending => "PENDING", Delivered => "DELIVERED", GaveUp => "GAVE_UP" }
);

/// One notification in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Postback {
    /// Sent as `webhook-id`; the same on every retry so receivers can deduplicate.
    pub id: PostbackId,
    pub user_id: UserId,
    pub source_id: SourceId,
    pub url: Url,
    pub payload: Value,
    pub status: PostbackStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The status code of the receiver's last answer, if the last attempt got one.
    pub last_status_code: Option<u16>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    /// The receiver's answer when it gave one (not 2xx); `None` when no answer came.
    pub status_code: Option<u16>,
    pub error: String,
}

impl Postback {
    /// The notification for `source` having just entered a final status, if it has a
    /// postback URL. `run` is the run that ended; `revision` the current revision.
    pub fn for_source(source: &Source, run: Option<&Run>, now: DateTime<Utc>) -> Option<Self> {
        let url = source.postback_url.clone()?;
        if !source.status.is_final() {
            return None;
        }
        let mut payload = json!({
            "event": "SourceStatusNotification",
            "sourceId": source.id.to_string(),
            "userId": source.user_id.to_string(),
            "spaceId": source.space_id.to_string(),
            "status": source.status.as_str(),
            "runId": run.map(|r| r.id.to_string()),
            "outcome": run.and_then(|r| r.outcome).map(|o| o.as_str()),
            "revision": source.revision,
        });
        if let Some(message) = &source.message {
            payload["message"] = Value::from(message.clone());
        }
        Some(Postback {
            id: PostbackId::new(),
            user_id: source.user_id,
            source_id: source.id,
            url,
            payload,
            status: PostbackStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            last_status_code: None,
            created_at: now,
            delivered_at: None,
        })
    }
}

/// A user's signing secret in Standard Webhooks form: `whsec_` + base64 of 32 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

impl WebhookSecret {
    pub const PREFIX: &'static str = "whsec_";

    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(format!("{}{}", Self::PREFIX, STANDARD.encode(key)))
    }

    /// Wraps a stored secret.
    pub fn from_stored(secret: String) -> Self {
        Self(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The `webhook-signature` header value: `v1,` + base64 HMAC-SHA256 of
    /// `{id}.{timestamp}.{body}` keyed with the decoded secret.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let encoded = self.0.strip_prefix(Self::PREFIX).unwrap_or(&self.0);
        // A secret that is not valid base64 (never generated here) signs with its raw bytes.
        let key = STANDARD.decode(encoded).unwrap_or_else(|_| encoded.as_bytes().to_vec());
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// Waits before each retry: about 5 s, 5 min, 30 min, 2 h, 8 h; then give up.
pub const DEFAULT_RETRY_DELAYS_SECONDS: [u64; 5] = [5, 300, 1800, 7200, 28800];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_test_vector() {
        // The example from the Standard Webhooks specification.
        let secret = WebhookSecret::from_stored("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn generated_secrets_have_the_whsec_form() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&secret.expose()[6..]).unwrap().len(), 32);
        assert_ne!(secret, WebhookSecret::generate());
    }
}
