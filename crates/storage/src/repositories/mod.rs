//! Repository implementations of the domain's storage ports over one sea-orm pool.

mod accounts;
mod artifacts;
mod collections;
mod idempotency;
mod postbacks;
mod revisions;
mod runs;
mod sources;
mod spaces;

use async_trait::async_trait;
use ctxd_domain::{
    Result,
    model::{Page, PageRequest},
    ports::HealthCheck,
};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, Select};

use crate::map_db_err;

/// Every storage port, implemented over one connection pool. The composition root
/// hands the same `Arc<SeaStore>` out as each `Arc<dyn Port>`.
#[derive(Debug, Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
}

impl SeaStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
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
    async fn check(&self) -> Result<()> {
        self.db.ping().await.map_err(|e| ctxd_domain::Error::Unavailable(Box::new(e)))
    }
}
