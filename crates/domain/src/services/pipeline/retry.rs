//! How transient failures are retried: attempts and back-off.

use super::*;

/// How transient failures are retried: `max_attempts` claims in all, waiting
/// `base_delay * 2^(attempt-1)` before each retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, base_delay: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt, or `None` when attempts are exhausted.
    pub fn delay_after(&self, attempt: u32) -> Option<Duration> {
        (attempt < self.max_attempts).then(|| self.base_delay.saturating_mul(1 << attempt.saturating_sub(1).min(16)))
    }
}
