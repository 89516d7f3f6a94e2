//! Refresh policies: when the scheduler re-fetches a URI or FILE source on its own.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::wire_enum;
use crate::FieldError;

wire_enum!(
    RefreshMode { Manual => "MANUAL", Interval => "INTERVAL" }
);

/// MANUAL (never refreshed by the scheduler) or INTERVAL (every `interval_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshPolicy {
    pub mode: RefreshMode,
    pub interval_seconds: Option<u64>,
    pub next_refresh_at: Option<DateTime<Utc>>,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self { mode: RefreshMode::Manual, interval_seconds: None, next_refresh_at: None }
    }
}

impl RefreshPolicy {
    /// Validates a requested policy; `field` is the path of the policy in the request.
    /// INTERVAL needs `interval_seconds` of at least `min_interval_seconds`; MANUAL
    /// takes none. The first refresh is due one interval after `now`.
    pub fn new(
        field: &str,
        mode: RefreshMode,
        interval_seconds: Option<u64>,
        min_interval_seconds: u64,
        now: DateTime<Utc>,
    ) -> Result<Self, FieldError> {
        match (mode, interval_seconds) {
            (RefreshMode::Manual, None) => Ok(Self::default()),
            (RefreshMode::Manual, Some(_)) => {
                Err(FieldError::new(format!("{field}.interval_seconds"), "must be absent when mode is MANUAL"))
            }
            (RefreshMode::Interval, None) => {
                Err(FieldError::new(format!("{field}.interval_seconds"), "is required when mode is INTERVAL"))
            }
            (RefreshMode::Interval, Some(seconds)) if seconds < min_interval_seconds => Err(FieldError::new(
                format!("{field}.interval_seconds"),
                format!("must be at least {min_interval_seconds}"),
            )),
            (RefreshMode::Interval, Some(seconds)) => {
                // Cap far-future intervals so the timestamp arithmetic cannot overflow.
                let seconds = seconds.min(10 * 365 * 24 * 3600);
                Ok(Self {
                    mode,
                    interval_seconds: Some(seconds),
                    next_refresh_at: Some(now + chrono::Duration::seconds(seconds as i64)),
                })
            }
        }
    }
}

/// Longest wait the failure back-off can reach, whatever the interval.
const MAX_BACKOFF_FACTOR: u32 = 32;

impl RefreshPolicy {
    /// When the next scheduled refresh is due, or `None` for MANUAL.
    ///
    /// After `consecutive_failures` failed runs the interval doubles per failure (up
    /// to 32×), so a broken origin is not hammered. `jitter` in `0.0..1.0` adds up to
    /// a tenth of the interval (at most five minutes), so sources created together do
    /// not all refresh in the same second.
    pub fn next_due(&self, now: DateTime<Utc>, consecutive_failures: u32, jitter: f64) -> Option<DateTime<Utc>> {
        let interval = match (self.mode, self.interval_seconds) {
            (RefreshMode::Interval, Some(seconds)) => seconds,
            _ => return None,
        };
        let factor = 2u64.saturating_pow(consecutive_failures.min(5)).min(u64::from(MAX_BACKOFF_FACTOR));
        let base = interval.saturating_mul(factor);
        let spread = (interval / 10).min(300) as f64 * jitter.clamp(0.0, 1.0);
        let seconds = base.saturating_add(spread as u64).min(10 * 365 * 24 * 3600);
        Some(now + chrono::Duration::seconds(seconds as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_needs_a_minimum_and_sets_next_refresh() {
        let now = Utc::now();
        let policy = RefreshPolicy::new("refresh_policy", RefreshMode::Interval, Some(3600), 60, now).unwrap();
        assert_eq!(policy.next_refresh_at, Some(now + chrono::Duration::hours(1)));
        let too_short = RefreshPolicy::new("refresh_policy", RefreshMode::Interval, Some(59), 60, now).unwrap_err();
        assert_eq!(too_short.field, "refresh_policy.interval_seconds");
        assert!(RefreshPolicy::new("p", RefreshMode::Interval, None, 60, now).is_err());
        assert!(RefreshPolicy::new("p", RefreshMode::Manual, Some(60), 60, now).is_err());
        assert_eq!(RefreshPolicy::new("p", RefreshMode::Manual, None, 60, now).unwrap(), RefreshPolicy::default());
    }

    #[test]
    fn next_due_backs_off_after_failures_and_adds_bounded_jitter() {
        let now = Utc::now();
        let policy = RefreshPolicy::new("p", RefreshMode::Interval, Some(600), 60, now).unwrap();
        let after = |failures, jitter| (policy.next_due(now, failures, jitter).unwrap() - now).num_seconds();
        assert_eq!(after(0, 0.0), 600);
        assert_eq!(after(0, 1.0), 660, "jitter is at most a tenth of the interval");
        assert_eq!(after(1, 0.0), 1200);
        assert_eq!(after(3, 0.0), 4800);
        assert_eq!(after(9, 0.0), 600 * 32, "back-off is capped");
        let daily = RefreshPolicy::new("p", RefreshMode::Interval, Some(86_400), 60, now).unwrap();
        assert_eq!((daily.next_due(now, 0, 1.0).unwrap() - now).num_seconds(), 86_400 + 300, "jitter at most 5 min");
        assert_eq!(RefreshPolicy::default().next_due(now, 0, 0.5), None);
    }
}
