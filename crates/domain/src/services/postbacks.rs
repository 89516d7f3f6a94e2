//! Postback use cases: the per-user signing secret, and delivery of the outbox with
//! Standard Webhooks signatures and retries.

use std::{sync::Arc, time::Duration};

use crate::{
    Result,
    ids::UserId,
    model::{DeliveryFailure, Postback, User, WebhookSecret},
    ports::{Clock, PostbackStore, WebhookSender},
};

/// What one delivery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryPass {
    pub n_delivered: usize,
    pub n_retrying: usize,
    pub n_gave_up: usize,
}

#[derive(Clone)]
pub struct PostbackService {
    store: Arc<dyn PostbackStore>,
    clock: Arc<dyn Clock>,
    /// Waits before the 2nd, 3rd, ... attempt; after the last, give up.
    retry_delays: Vec<Duration>,
}

impl std::fmt::Debug for PostbackService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostbackService").field("retry_delays", &self.retry_delays).finish_non_exhaustive()
    }
}

/// How long a sender holds a claimed delivery: the 10 s request timeout plus margin.
const HOLD: Duration = Duration::from_secs(60);

impl PostbackService {
    pub fn new(store: Arc<dyn PostbackStore>, clock: Arc<dyn Clock>, retry_delays: Vec<Duration>) -> Self {
        Self { store, clock, retry_delays }
    }

    /// The user's secret, made on first use.
    pub async fn secret(&self, user: &User) -> Result<WebhookSecret> {
        self.secret_of(user.id).await
    }

    async fn secret_of(&self, user_id: UserId) -> Result<WebhookSecret> {
        if let Some(secret) = self.store.secret(user_id).await? {
            return Ok(WebhookSecret::from_stored(secret));
        }
        let candidate = WebhookSecret::generate();
        let stored = self.store.ensure_secret(user_id, candidate.expose(), self.clock.now()).await?;
        Ok(WebhookSecret::from_stored(stored))
    }

    /// Replaces the user's secret; later deliveries (retries included) use the new one.
    pub async fn rotate(&self, user: &User) -> Result<WebhookSecret> {
        let secret = WebhookSecret::generate();
        self.store.replace_secret(user.id, secret.expose(), self.clock.now()).await?;
        Ok(secret)
    }

    /// Delivers up to `limit` due postbacks.
    ///
    /// # Errors
    /// Storage failures; deliveries already claimed are retried after their hold.
    pub async fn deliver_due(&self, sender: &dyn WebhookSender, limit: u64) -> Result<DeliveryPass> {
        let mut pass = DeliveryPass::default();
        for postback in self.store.claim_due(self.clock.now(), HOLD, limit).await? {
            let attempts = postback.attempts + 1;
            match self.attempt(sender, &postback).await? {
                Ok(status_code) => {
                    self.store.delivered(postback.id, attempts, status_code, self.clock.now()).await?;
                    pass.n_delivered += 1;
                }
                Err(failure) => {
                    let delay = usize::try_from(attempts - 1).ok().and_then(|i| self.retry_delays.get(i));
                    let next = delay.map(|d| self.clock.now() + chrono::Duration::from_std(*d).unwrap_or_default());
                    if next.is_some() {
                        pass.n_retrying += 1
                    } else {
                        pass.n_gave_up += 1
                    }
                    self.store.failed(postback.id, attempts, &failure, next).await?;
                }
            }
        }
        Ok(pass)
    }

    /// One signed POST. The outer result is storage; the inner one the delivery, with
    /// the receiver's 2xx status when it took it.
    async fn attempt(
        &self,
        sender: &dyn WebhookSender,
        postback: &Postback,
    ) -> Result<std::result::Result<u16, DeliveryFailure>> {
        let secret = self.secret_of(postback.user_id).await?;
        let body = serde_json::to_vec(&postback.payload).expect("JSON values serialize");
        let id = postback.id.to_string();
        let timestamp = self.clock.now().timestamp();
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("webhook-id".to_owned(), id.clone()),
            ("webhook-timestamp".to_owned(), timestamp.to_string()),
            ("webhook-signature".to_owned(), secret.sign(&id, timestamp, &body)),
        ];
        Ok(match sender.post(&postback.url, headers, body).await {
            Ok(status) if (200..300).contains(&status) => Ok(status),
            Ok(status) => {
                Err(DeliveryFailure { status_code: Some(status), error: format!("receiver answered {status}") })
            }
            Err(error) => Err(DeliveryFailure { status_code: None, error }),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{
        ids::{PostbackId, SourceId},
        model::PostbackStatus,
        ports::{MockClock, MockPostbackStore, MockWebhookSender},
        services::test_ports::fixed_now,
    };

    fn postback(attempts: u32) -> Postback {
        Postback {
            id: PostbackId::new(),
            user_id: UserId::new(),
            source_id: SourceId::new(),
            url: "https://hooks.example/ctxd".parse().unwrap(),
            payload: serde_json::json!({"event": "SourceStatusNotification", "status": "COMPLETED"}),
            status: PostbackStatus::Pending,
            attempts,
            next_attempt_at: fixed_now(),
            last_error: None,
            last_status_code: None,
            created_at: fixed_now(),
            delivered_at: None,
        }
    }

    type Failures = Arc<Mutex<Vec<(u32, DeliveryFailure, Option<chrono::DateTime<chrono::Utc>>)>>>;

    fn service(claimed: Postback, secret: &'static str) -> (PostbackService, Failures, Arc<Mutex<u32>>) {
        let failures: Failures = Arc::default();
        let delivered = Arc::new(Mutex::new(0));
        let mut store = MockPostbackStore::new();
        store.expect_claim_due().return_once(move |_, _, _| Ok(vec![claimed]));
        store.expect_secret().returning(move |_| Ok(Some(secret.to_owned())));
        let sink = failures.clone();
        store.expect_failed().returning(move |_, attempts, failure, next| {
            sink.lock().unwrap().push((attempts, failure.clone(), next));
            Ok(())
        });
        let count = delivered.clone();
        store.expect_delivered().returning(move |_, _, _, _| {
            *count.lock().unwrap() += 1;
            Ok(())
        });
        let mut clock = MockClock::new();
        clock.expect_now().returning(fixed_now);
        let delays = crate::model::DEFAULT_RETRY_DELAYS_SECONDS.iter().map(|s| Duration::from_secs(*s)).collect();
        (PostbackService::new(Arc::new(store), Arc::new(clock), delays), failures, delivered)
    }

    #[tokio::test]
    async fn requests_are_signed_per_standard_webhooks() {
        let claimed = postback(0);
        let id = claimed.id.to_string();
        let (service, _, delivered) = service(claimed, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let mut sender = MockWebhookSender::new();
        sender.expect_post().returning(move |_, headers, body| {
            let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap();
            assert_eq!(header("webhook-id"), id);
            let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
            assert_eq!(timestamp, fixed_now().timestamp());
            let expected =
                WebhookSecret::from_stored("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()).sign(&id, timestamp, &body);
            assert_eq!(header("webhook-signature"), expected);
            Ok(204)
        });
        let pass = service.deliver_due(&sender, 10).await.unwrap();
        assert_eq!(pass, DeliveryPass { n_delivered: 1, ..DeliveryPass::default() });
        assert_eq!(*delivered.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn failures_follow_the_back_off_schedule_then_give_up() {
        for (previous_attempts, expected_delay) in [(0, Some(5)), (1, Some(300)), (4, Some(28_800)), (5, None)] {
            let (service, failures, _) = service(postback(previous_attempts), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
            let mut sender = MockWebhookSender::new();
            sender.expect_post().returning(|_, _, _| Ok(500));
            service.deliver_due(&sender, 10).await.unwrap();
            let (attempts, failure, next) = failures.lock().unwrap().pop().unwrap();
            assert_eq!(attempts, previous_attempts + 1);
            assert_eq!(failure.error, "receiver answered 500");
            assert_eq!(failure.status_code, Some(500));
            assert_eq!(next, expected_delay.map(|s| fixed_now() + chrono::Duration::seconds(s)));
        }
    }
}
