//! Readiness: every dependency a process needs (the database, the object store),
//! checked together and reported by name, for `GET /health` and gRPC health.

use std::sync::Arc;

use crate::{Result, ports::HealthCheck};

/// The named checks of one process.
#[derive(Clone)]
pub struct Health {
    checks: Vec<(&'static str, Arc<dyn HealthCheck>)>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.checks.iter().map(|(name, _)| name)).finish()
    }
}

impl Health {
    pub fn new(checks: Vec<(&'static str, Arc<dyn HealthCheck>)>) -> Self {
        Self { checks }
    }

    /// Each dependency's name and answer, in the order given; the checks run at once,
    /// each bounded by its adapter's own timeouts (the pool's acquire timeout, the
    /// object store client's request timeout).
    pub async fn check(&self) -> Vec<(&'static str, Result<()>)> {
        let answers = self.checks.iter().map(|(name, check)| async move { (*name, check.check().await) });
        futures_util::future::join_all(answers).await
    }

    /// Whether every dependency answered.
    pub async fn is_ready(&self) -> bool {
        self.check().await.iter().all(|(_, answer)| answer.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    struct Fixed(bool);

    #[async_trait::async_trait]
    impl HealthCheck for Fixed {
        async fn check(&self) -> Result<()> {
            if self.0 { Ok(()) } else { Err(Error::Unavailable("down".into())) }
        }
    }

    #[tokio::test]
    async fn every_check_is_reported_by_name_and_one_failure_makes_the_process_unready() {
        let health = Health::new(vec![("database", Arc::new(Fixed(true))), ("object_store", Arc::new(Fixed(false)))]);
        let answers = health.check().await;
        assert_eq!(
            answers.iter().map(|(n, a)| (*n, a.is_ok())).collect::<Vec<_>>(),
            [("database", true), ("object_store", false)]
        );
        assert!(!health.is_ready().await);
        assert!(Health::new(vec![("database", Arc::new(Fixed(true)))]).is_ready().await);
    }
}
