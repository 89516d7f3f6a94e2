//! Per-user rate limits by plan: fixed one-minute windows counted in this process,
//! shared by every transport of the process (REST and gRPC draw on one budget). With
//! several replicas each enforces the limit on its own share of the traffic.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{ids::UserId, model::Plan};

pub const WINDOW: Duration = Duration::from_secs(60);

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
    /// Seconds until the window resets (at least 1).
    pub reset_seconds: u64,
}

impl Decision {
    /// What a refused caller is told, over any transport.
    pub fn refusal(&self) -> String {
        format!("Rate limit of {} requests per minute exceeded; retry in {} s", self.limit, self.reset_seconds)
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    windows: Mutex<HashMap<UserId, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts a request of `user` at `now`.
    pub fn check(&self, user: UserId, plan: Plan, now: Instant) -> Decision {
        let limit = self.limits.for_plan(plan);
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 10_000 {
            // Forget users whose window ended, so the map stays the size of the active set.
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(user).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        let allowed = *count < limit;
        if allowed {
            *count += 1;
        }
        let reset_seconds = (WINDOW.saturating_sub(now.duration_since(*start)).as_secs_f64().ceil() as u64).max(1);
        Decision { allowed, limit, remaining: limit.saturating_sub(*count), reset_seconds }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_per_user_and_plan_and_reset_after_a_minute() {
        let limiter = RateLimiter::new(RateLimits { free_per_minute: 2, pro_per_minute: 3 });
        let (free, pro) = (UserId::new(), UserId::new());
        let start = Instant::now();
        let decisions: Vec<_> = (0..3).map(|_| limiter.check(free, Plan::Free, start).allowed).collect();
        assert_eq!(decisions, [true, true, false]);
        assert!(limiter.check(pro, Plan::Pro, start).allowed, "users are counted separately");
        let later = limiter.check(free, Plan::Free, start + Duration::from_secs(30));
        assert_eq!((later.allowed, later.remaining, later.reset_seconds), (false, 0, 30));
        assert!(limiter.check(free, Plan::Free, start + WINDOW).allowed, "a new window");
    }
}
