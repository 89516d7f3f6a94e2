//! Per-user rate limits by plan, shared by every transport (REST and gRPC draw on one
//! budget) and, on Postgres, by every replica: the budget lives where the
//! [`RateBudgets`] port keeps it (the database, or this process's memory on SQLite).
//!
//! The budget is a GCRA ("generic cell rate algorithm", a leaky bucket kept as one
//! number per user): the user's *theoretical arrival time* `tat`. Each request moves
//! it one emission interval (`60 s / limit`) past `max(tat, now)`, and is refused when
//! that would put it more than a minute ahead of now. A user can spend the whole
//! minute's budget at once, then gets one more request per interval; the state is a
//! single integer, so the shared form is one row.
//!
//! A process takes a user's budget from the store in *slices* of 1% of the plan's
//! limit (at least one request) and spends a slice locally for as long as the time it
//! stands for, so the store sees one statement per slice rather than per request.
//! Plans of up to 100 requests a minute have slices of one: they are counted exactly.
//! Above that, a slice taken earlier than it is spent can let a user exceed the limit
//! within a minute by at most one slice per process (1% of the limit each).

use std::{collections::HashMap, sync::Arc, sync::Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{Result, ids::UserId, model::Plan, ports::RateBudgets};

/// The budget's horizon: a plan's limit is per minute. Times are in microseconds, so
/// that limits of up to a million requests a minute keep their precision.
pub const WINDOW_US: i64 = 60_000_000;

/// Requests per minute for each plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub free_per_minute: u32,
    pub pro_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { free_per_minute: 10, pro_per_minute: 100 }
    }
}

impl RateLimits {
    fn for_plan(&self, plan: Plan) -> u32 {
        match plan {
            Plan::Free => self.free_per_minute,
            Plan::Pro => self.pro_per_minute,
        }
    }
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the whole minute's budget is back (at least 1).
    pub reset_seconds: u64,
    /// Seconds until the next request fits (at least 1; for a refusal's `Retry-After`).
    pub retry_after_seconds: u64,
}

impl Decision {
    /// What a refused caller is told, over any transport.
    pub fn refusal(&self) -> String {
        format!("Rate limit of {} requests per minute exceeded; retry in {} s", self.limit, self.retry_after_seconds)
    }
}

/// Up to `wanted` GCRA steps at once: with the user's `tat` (µs since the epoch, 0 for
/// a new user), how many requests at `now` fit, and `tat` afterwards (unchanged when
/// none does). A request fits when it leaves `tat` at most a minute ahead of now.
pub fn admit_many(tat_us: i64, now_us: i64, interval_us: i64, wanted: u32) -> (u32, i64) {
    let base = tat_us.max(now_us);
    let room = (WINDOW_US - (base - now_us)).max(0) / interval_us;
    let granted = u32::try_from(room).unwrap_or(u32::MAX).min(wanted);
    if granted == 0 { (0, tat_us) } else { (granted, base + i64::from(granted) * interval_us) }
}

/// How many requests a process takes from the store at once for a per-minute `limit`.
pub fn slice_size(limit: u32) -> u32 {
    (limit / 100).max(1)
}

/// The microseconds between requests for a per-minute `limit` (at least 1).
pub fn interval_us(limit: u32) -> i64 {
    (WINDOW_US / i64::from(limit.max(1))).max(1)
}

/// Budgets in this process's memory: the embedded (SQLite) setup, one process.
#[derive(Debug, Default)]
pub struct InProcessBudgets {
    tats: Mutex<HashMap<UserId, i64>>,
}

#[async_trait]
impl RateBudgets for InProcessBudgets {
    async fn take(&self, user: UserId, now_us: i64, interval_us: i64, wanted: u32) -> Result<(u32, i64)> {
        let mut tats = self.tats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if tats.len() > 10_000 {
            // Forget users whose budget is whole again, so the map is the active set.
            tats.retain(|_, tat| *tat > now_us);
        }
        let tat = tats.entry(user).or_insert(0);
        let (granted, next) = admit_many(*tat, now_us, interval_us, wanted);
        *tat = next;
        Ok((granted, next))
    }
}

/// What this process holds of one user's budget: requests taken from the store and
/// not spent yet (a slice), and until when the store is known to refuse.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    left: u32,
    /// The user's `tat` as the store last answered.
    tat_us: i64,
    /// The slice stands for the budget's time up to here; spent later, it would let
    /// more through than the limit.
    valid_until_us: i64,
    /// Before this instant no request can fit (a refusal's answer): later requests are
    /// refused here without asking the store, so a flood costs the database nothing.
    refused_until_us: i64,
}

/// Counts requests against each user's plan.
#[derive(Clone)]
pub struct RateLimiter {
    limits: RateLimits,
    budgets: Arc<dyn RateBudgets>,
    /// Per user, behind a lock of its own: one refill from the store at a time, so
    /// concurrent requests do not each take (and waste) a slice.
    held: Arc<Mutex<HashMap<UserId, Arc<futures_util::lock::Mutex<Held>>>>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(limits: RateLimits, budgets: Arc<dyn RateBudgets>) -> Self {
        Self { limits, budgets, held: Arc::default() }
    }

    /// A limiter that counts in this process only.
    pub fn in_process(limits: RateLimits) -> Self {
        Self::new(limits, Arc::new(InProcessBudgets::default()))
    }

    /// Counts a request of `user` at `now`.
    ///
    /// # Errors
    /// The store's, when the shared budget cannot be read (the database is down).
    pub async fn check(&self, user: UserId, plan: Plan, now: DateTime<Utc>) -> Result<Decision> {
        let limit = self.limits.for_plan(plan);
        let interval = interval_us(limit);
        let now_us = now.timestamp_micros();
        let entry = {
            let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if held.len() > 10_000 {
                // Forget users nobody is waiting on whose state says nothing any more.
                held.retain(|_, entry| {
                    Arc::strong_count(entry) > 1
                        || entry.try_lock().is_none_or(|h| h.valid_until_us.max(h.refused_until_us) > now_us)
                });
            }
            held.entry(user).or_default().clone()
        };
        let mut held = entry.lock().await;
        if now_us < held.refused_until_us {
            return Ok(decision(limit, interval, false, held.tat_us, now_us, 0));
        }
        if held.left > 0 && now_us < held.valid_until_us {
            held.left -= 1;
            return Ok(decision(limit, interval, true, held.tat_us, now_us, held.left));
        }
        let (granted, tat) = self.budgets.take(user, now_us, interval, slice_size(limit)).await?;
        *held = Held {
            left: granted.saturating_sub(1),
            tat_us: tat,
            valid_until_us: now_us + i64::from(granted) * interval,
            // Refused: the next request fits once `tat + interval` is a minute ahead.
            refused_until_us: if granted == 0 { tat + interval - WINDOW_US } else { 0 },
        };
        Ok(decision(limit, interval, granted > 0, tat, now_us, held.left))
    }
}

/// The headers' view of a `tat`, with `unspent` requests of a slice still in hand.
fn decision(limit: u32, interval: i64, allowed: bool, tat_us: i64, now_us: i64, unspent: u32) -> Decision {
    let ahead = (tat_us - now_us).max(0);
    let seconds = |us: i64| (u64::try_from(us).unwrap_or(0).div_ceil(1_000_000)).max(1);
    let in_store = u32::try_from((WINDOW_US - ahead).max(0) / interval).unwrap_or(u32::MAX);
    let remaining = in_store.saturating_add(unspent).min(limit);
    Decision {
        allowed,
        limit,
        remaining,
        reset_seconds: seconds(ahead),
        // The next request fits once `tat + interval` is within a minute of now.
        retry_after_seconds: seconds(ahead + interval - WINDOW_US),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    const S: i64 = 1_000_000;

    #[tokio::test]
    async fn a_minute_of_budget_at_once_then_one_request_per_interval() {
        let limiter = RateLimiter::in_process(RateLimits { free_per_minute: 2, pro_per_minute: 3 });
        let (free, pro) = (UserId::new(), UserId::new());
        let mut allowed = Vec::new();
        for _ in 0..3 {
            allowed.push(limiter.check(free, Plan::Free, at(0)).await.unwrap().allowed);
        }
        assert_eq!(allowed, [true, true, false]);
        assert!(limiter.check(pro, Plan::Pro, at(0)).await.unwrap().allowed, "users are counted separately");
        let refused = limiter.check(free, Plan::Free, at(10_000)).await.unwrap();
        assert_eq!(
            (refused.allowed, refused.remaining, refused.retry_after_seconds, refused.reset_seconds),
            (false, 0, 20, 50),
            "one request per 30 s: the next fits at 30 s"
        );
        assert!(limiter.check(free, Plan::Free, at(30_000)).await.unwrap().allowed, "one interval later");
        assert!(!limiter.check(free, Plan::Free, at(30_001)).await.unwrap().allowed);
        let whole = limiter.check(free, Plan::Free, at(200_000)).await.unwrap();
        assert_eq!((whole.allowed, whole.remaining), (true, 1), "the budget refills, to the limit and no more");
    }

    #[tokio::test]
    async fn large_limits_are_taken_from_the_store_in_slices_of_one_percent() {
        let mut budgets = crate::ports::MockRateBudgets::new();
        budgets
            .expect_take()
            .withf(|_, _, _, wanted| *wanted == 100)
            .times(1)
            .returning(|_, now, interval, wanted| Ok((wanted, now + i64::from(wanted) * interval)));
        let limiter =
            RateLimiter::new(RateLimits { free_per_minute: 10_000, pro_per_minute: 10_000 }, Arc::new(budgets));
        let user = UserId::new();
        for n in 0..100 {
            let decision = limiter.check(user, Plan::Pro, at(n)).await.unwrap();
            assert!(decision.allowed, "request {n} comes from the slice");
        }
    }

    #[tokio::test]
    async fn a_slice_is_not_spent_after_the_time_it_stands_for() {
        let mut budgets = crate::ports::MockRateBudgets::new();
        budgets
            .expect_take()
            .times(2)
            .returning(|_, now, interval, wanted| Ok((wanted, now + i64::from(wanted) * interval)));
        let limiter =
            RateLimiter::new(RateLimits { free_per_minute: 10_000, pro_per_minute: 10_000 }, Arc::new(budgets));
        let user = UserId::new();
        limiter.check(user, Plan::Pro, at(0)).await.unwrap();
        // 100 requests at 6 ms each stand for 600 ms: later, a new slice is taken.
        limiter.check(user, Plan::Pro, at(700)).await.unwrap();
    }

    #[tokio::test]
    async fn after_a_refusal_a_flood_is_refused_without_asking_the_store_and_refills_are_single() {
        let mut budgets = crate::ports::MockRateBudgets::new();
        // Full: the store's tat is a whole minute ahead.
        budgets.expect_take().times(1).returning(|_, now, _, _| Ok((0, now + WINDOW_US)));
        let limiter = RateLimiter::new(RateLimits { free_per_minute: 10, pro_per_minute: 10 }, Arc::new(budgets));
        let user = UserId::new();
        for n in 0..100 {
            let refused = limiter.check(user, Plan::Free, at(n)).await.unwrap();
            assert!(!refused.allowed);
            assert_eq!(refused.retry_after_seconds, 6, "one request per 6 s");
        }

        let mut budgets = crate::ports::MockRateBudgets::new();
        budgets
            .expect_take()
            .times(1)
            .returning(|_, now, interval, wanted| Ok((wanted, now + i64::from(wanted) * interval)));
        let limiter =
            RateLimiter::new(RateLimits { free_per_minute: 10_000, pro_per_minute: 10_000 }, Arc::new(budgets));
        let concurrent = (0..50).map(|_| limiter.check(user, Plan::Pro, at(0)));
        let decisions = futures_util::future::join_all(concurrent).await;
        assert!(decisions.iter().all(|d| d.as_ref().unwrap().allowed), "one slice serves them all");
    }

    #[test]
    fn gcra_steps() {
        assert_eq!(admit_many(0, S, S / 2, 1), (1, S + S / 2));
        assert_eq!(admit_many(60 * S, S, S / 2, 1), (1, 60 * S + S / 2), "59.5 s ahead: within the minute");
        assert_eq!(admit_many(60 * S + S / 10, S, S, 1), (0, 60 * S + S / 10), "60.1 s ahead: refused, nothing taken");
        assert_eq!(interval_us(0), 60 * S);
        assert_eq!(interval_us(1_000_000), 60, "a million a minute keeps its precision");
        assert_eq!(interval_us(u32::MAX), 1);
        assert_eq!(admit_many(0, S, S, 100), (60, 61 * S), "a minute's budget and no more");
        assert_eq!(admit_many(61 * S, S, S, 5), (0, 61 * S));
        assert_eq!((slice_size(10), slice_size(100), slice_size(250), slice_size(1_000_000)), (1, 1, 2, 10_000));
    }
}
