//! Repository implementations of the domain's storage ports over one sea-orm pool.

mod accounts;
mod artifacts;
mod collections;
mod columns;
mod history;
mod idempotency;
mod postbacks;
mod rate_limits;
mod reads;
mod revisions;
mod runs;
mod saves;
mod sources;
mod spaces;

pub use runs::claim_buffers;

use async_trait::async_trait;
use ctxd_domain::{
    Result,
    model::{Page, PageRequest},
    ports::HealthCheck,
};
use sea_orm::{DatabaseConnection, EntityTrait, IdenStatic, Iterable, PaginatorTrait, Select};

use std::sync::Arc;

use crate::{events::Events, map_db_err};

/// Every storage port, implemented over one connection pool. The composition root
/// hands the same `Arc<SeaStore>` out as each `Arc<dyn Port>`.
#[derive(Debug, Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    /// The change feed, shared by every store of one database handle.
    pub(crate) events: Arc<Events>,
    /// The grouped hot statements (Postgres only), shared like `events`.
    batches: Option<Arc<Batches>>,
}

/// A Postgres pool's grouped statements (see [`crate::batch`]): the queue's claims and
/// finishes, the API's key lookups and source reads, and its saves.
#[derive(Debug)]
pub(crate) struct Batches {
    queue: runs::QueueBatches,
    reads: reads::ReadBatches,
    saves: saves::SaveBatches,
    rates: rate_limits::RateBatches,
}

impl Batches {
    pub(crate) fn spawn(db: &DatabaseConnection) -> Self {
        Self {
            queue: runs::QueueBatches::spawn(db),
            reads: reads::ReadBatches::spawn(db),
            saves: saves::SaveBatches::spawn(db),
            rates: rate_limits::RateBatches::spawn(db),
        }
    }
}

impl SeaStore {
    pub(crate) fn new(db: DatabaseConnection, events: Arc<Events>, batches: Option<Arc<Batches>>) -> Self {
        Self { db, events, batches }
    }

    /// Announces a committed change of source `id` on the feed.
    pub(crate) fn source_changed(&self, id: uuid::Uuid) {
        self.events.changed(id);
    }
}

/// Runs a page query: the total, then the requested slice.
async fn fetch_page<E, T>(
    db: &DatabaseConnection,
    select: Select<E>,
    page: PageRequest,
    convert: impl FnMut(E::Model) -> Result<T>,
) -> Result<Page<T>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let paginator = select.paginate(db, page.per_page);
    let total = paginator.num_items().await.map_err(map_db_err)?;
    let models = paginator.fetch_page(page.page - 1).await.map_err(map_db_err)?;
    let items = models.into_iter().map(convert).collect::<Result<Vec<_>>>()?;
    Ok(Page { items, request: page, total })
}

#[async_trait]
impl HealthCheck for SeaStore {
    /// A ping, answered within [`HEALTH_TIMEOUT`]: a health check must say "down"
    /// quickly, not wait out the pool's acquire timeout.
    async fn check(&self) -> Result<()> {
        match tokio::time::timeout(HEALTH_TIMEOUT, self.db.ping()).await {
            Ok(answer) => answer.map_err(map_db_err),
            Err(_) => Err(ctxd_domain::Error::Unavailable(format!("no answer within {HEALTH_TIMEOUT:?}").into())),
        }
    }
}

/// How long the database's health check waits for its ping.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1500);

/// `table.column AS "{prefix}column"` for every column of `E`, so one row can carry
/// two models (read back with `FromQueryResult::from_query_result(row, prefix)`).
pub(crate) fn prefixed_columns<E: EntityTrait>(table: &str, prefix: &str) -> String {
    E::Column::iter().map(|c| format!("{table}.{0} AS \"{prefix}{0}\"", c.as_str())).collect::<Vec<_>>().join(", ")
}
