//! The purge: what deletes left behind goes for good. A source soft-deleted longer
//! than the grace period (`retention.deleted_grace_days`), and every source of a
//! deleted space at once, loses its stored objects and then its rows; a deleted space
//! goes when its sources are gone.
//!
//! Objects go before rows, so a purge that stops halfway leaves rows that the next
//! pass finds again, never objects that nothing points to. Nothing still in use is
//! removed: a source due for purge can no longer be restored
//! ([`super::SourceService::restore`] refuses it), so nothing can point at its objects
//! again.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::{
    Result,
    model::Revision,
    ports::{BlobStore, SourceRepository, SpaceRepository},
};

/// What one purge pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgePass {
    pub n_sources: u64,
    pub n_objects: u64,
    pub n_spaces: u64,
}

#[derive(Clone)]
pub struct PurgeService {
    sources: Arc<dyn SourceRepository>,
    spaces: Arc<dyn SpaceRepository>,
    blobs: Arc<dyn BlobStore>,
    /// How long a deleted source stays restorable.
    grace: chrono::Duration,
}

impl std::fmt::Debug for PurgeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PurgeService").field("grace", &self.grace).finish_non_exhaustive()
    }
}

/// Sources purged per batch: each is a few statements and a listing of its objects.
const BATCH: u64 = 100;

impl PurgeService {
    pub fn new(
        sources: Arc<dyn SourceRepository>,
        spaces: Arc<dyn SpaceRepository>,
        blobs: Arc<dyn BlobStore>,
        grace: chrono::Duration,
    ) -> Self {
        Self { sources, spaces, blobs, grace }
    }

    /// Purges everything due at `now`, a batch at a time.
    ///
    /// # Errors
    /// Storage and object store failures; what was purged before stays purged, and
    /// the next pass takes up the rest.
    pub async fn purge_due(&self, now: DateTime<Utc>) -> Result<PurgePass> {
        let deleted_before = now - self.grace;
        let mut pass = PurgePass::default();
        loop {
            let due = self.sources.purgeable(deleted_before, BATCH).await?;
            for &id in &due {
                pass.n_objects += self.blobs.delete_prefix(&Revision::folder(id)).await?;
                if self.sources.purge(id, deleted_before).await? {
                    pass.n_sources += 1;
                }
            }
            if (due.len() as u64) < BATCH {
                break;
            }
        }
        loop {
            let n = self.spaces.purge_emptied(BATCH).await?;
            pass.n_spaces += n;
            if n < BATCH {
                return Ok(pass);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{
        ids::SourceId,
        ports::{MockBlobStore, MockSourceRepository, MockSpaceRepository},
        services::test_ports::fixed_now,
    };

    #[tokio::test]
    async fn objects_go_before_rows_and_the_cutoff_is_the_grace_period() {
        let id = SourceId::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut sources = MockSourceRepository::new();
        let cutoff = fixed_now() - chrono::Duration::days(30);
        sources.expect_purgeable().withf(move |before, _| *before == cutoff).returning(move |_, _| Ok(vec![id]));
        let log = order.clone();
        sources.expect_purge().returning(move |purged, _| {
            log.lock().unwrap().push(format!("rows {purged}"));
            Ok(true)
        });
        let mut blobs = MockBlobStore::new();
        let log = order.clone();
        blobs.expect_delete_prefix().returning(move |prefix| {
            log.lock().unwrap().push(format!("objects {prefix}"));
            Ok(3)
        });
        let mut spaces = MockSpaceRepository::new();
        spaces.expect_purge_emptied().returning(|_| Ok(1));
        let service =
            PurgeService::new(Arc::new(sources), Arc::new(spaces), Arc::new(blobs), chrono::Duration::days(30));
        let pass = service.purge_due(fixed_now()).await.unwrap();
        assert_eq!(pass, PurgePass { n_sources: 1, n_objects: 3, n_spaces: 1 });
        assert_eq!(*order.lock().unwrap(), [format!("objects sources/{id}/"), format!("rows {id}")]);
    }
}
