//! Artifacts: written with a run's outcome, listed per source or revision, and
//! searched per space with the database's own text index (Postgres full text over a
//! generated `tsvector`, SQLite FTS5).

use std::collections::HashSet;

use async_trait::async_trait;
use ctxd_domain::{
    Result,
    ids::{ArtifactId, SourceId, SpaceId, UserId},
    model::{Artifact, ArtifactQuery, ArtifactWrite, Page, PageRequest},
    ports::ArtifactRepository,
};
use ctxd_migrations::search_words;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value, sea_query::Expr,
};

use super::SeaStore;
use crate::{
    convert::{artifact_from, artifact_to},
    entities::{artifacts, sources},
    map_db_err,
};

/// Writes a run's artifacts in its transaction; returns how many are current now.
pub(super) async fn write(
    txn: &DatabaseTransaction,
    source_id: SourceId,
    user_id: UserId,
    write: &ArtifactWrite,
) -> Result<u64> {
    let current: HashSet<String> = if write.replace {
        artifacts::Entity::update_many()
            .col_expr(artifacts::Column::Active, Expr::value(false))
            .filter(artifacts::Column::SourceId.eq(source_id.0))
            .filter(artifacts::Column::Active.eq(true))
            .exec(txn)
            .await
            .map_err(map_db_err)?;
        HashSet::new()
    } else {
        artifacts::Entity::find()
            .select_only()
            .column(artifacts::Column::ContentHash)
            .filter(artifacts::Column::SourceId.eq(source_id.0))
            .filter(artifacts::Column::Active.eq(true))
            .into_tuple::<String>()
            .all(txn)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .collect()
    };
    // Every artifact of the revision is recorded (diffs compare whole revisions); one
    // that is already current stays the current copy.
    let rows: Vec<_> = write
        .artifacts
        .iter()
        .map(|artifact| {
            let active = !current.contains(&artifact.draft.content_hash());
            artifact_to(artifact, user_id, active).into_active_model().reset_all()
        })
        .collect();
    // One statement per chunk rather than per artifact; chunks stay well under both
    // databases' bound-parameter limits.
    for chunk in rows.chunks(500) {
        artifacts::Entity::insert_many(chunk.to_vec()).exec(txn).await.map_err(map_db_err)?;
    }
    if txn.get_database_backend() == DatabaseBackend::Sqlite {
        // SQLite's search rows carry the space in every word, which a trigger cannot
        // write (migration 18).
        search_words::index_missing(txn, Some(source_id.0.as_bytes().to_vec())).await.map_err(map_db_err)?;
    }
    artifacts::Entity::find()
        .filter(artifacts::Column::SourceId.eq(source_id.0))
        .filter(artifacts::Column::Active.eq(true))
        .count(txn)
        .await
        .map_err(map_db_err)
}

/// The words of a search, each quoted: user text never reaches the query syntax.
fn search_terms(text: &str) -> Vec<String> {
    search_words::query_words(text).map(|word| format!("\"{word}\"")).collect()
}

#[async_trait]
impl ArtifactRepository for SeaStore {
    async fn list_for_source(
        &self,
        source_id: SourceId,
        revision: Option<u32>,
        page: PageRequest,
    ) -> Result<Page<Artifact>> {
        let select = artifacts::Entity::find().filter(artifacts::Column::SourceId.eq(source_id.0));
        let select = match revision {
            Some(number) => select.filter(artifacts::Column::Revision.eq(i32::try_from(number).unwrap_or(i32::MAX))),
            None => select.filter(artifacts::Column::Active.eq(true)),
        };
        let select = select
            .order_by_asc(artifacts::Column::Revision)
            .order_by_asc(artifacts::Column::StartLine)
            .order_by_asc(artifacts::Column::Id);
        super::fetch_page(&self.db, select, page, artifact_from).await
    }

    async fn for_revision(&self, source_id: SourceId, revision: u32) -> Result<Vec<Artifact>> {
        artifacts::Entity::find()
            .filter(artifacts::Column::SourceId.eq(source_id.0))
            .filter(artifacts::Column::Revision.eq(i32::try_from(revision).unwrap_or(i32::MAX)))
            .order_by_asc(artifacts::Column::StartLine)
            .all(&self.db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(artifact_from)
            .collect()
    }

    async fn get(&self, user_id: UserId, id: ArtifactId) -> Result<Option<Artifact>> {
        let found = artifacts::Entity::find_by_id(id.0)
            .filter(artifacts::Column::UserId.eq(user_id.0))
            .filter(
                artifacts::Column::SourceId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(sources::Column::Id)
                        .from(sources::Entity)
                        .and_where(sources::Column::DeletedAt.is_null())
                        .to_owned(),
                ),
            )
            .one(&self.db)
            .await
            .map_err(map_db_err)?;
        found.map(artifact_from).transpose()
    }

    async fn search(&self, space_id: SpaceId, query: &ArtifactQuery, page: PageRequest) -> Result<Page<Artifact>> {
        let backend = self.db.get_database_backend();
        let terms = query.text.as_deref().map(search_terms).unwrap_or_default();
        if query.text.is_some() && terms.is_empty() {
            // Only punctuation: nothing can match a word index.
            return Ok(Page { items: Vec::new(), request: page, total: 0 });
        }
        // One WHERE clause for the count and the page, with `$n` placeholders that
        // SQLite accepts too.
        let mut values: Vec<Value> = vec![space_id.0.into(), true.into()];
        // The space's current artifacts are the candidates, whatever the words: the
        // cost follows the space's size, not the table's. Left to itself, Postgres
        // reads the word index for a common word, which lists the matches of every
        // space (85 ms at 100k sources under `bench scale`, growing with the table);
        // `OFFSET 0` keeps the subquery from being merged into that plan.
        let candidates = match backend {
            DatabaseBackend::Postgres => "(SELECT * FROM artifacts WHERE space_id = $1 AND active = $2 OFFSET 0) a",
            _ => "artifacts a",
        };
        // A lookup per candidate, never a pass over every live source.
        let mut filters = vec![
            "a.space_id = $1".to_owned(),
            "a.active = $2".to_owned(),
            "EXISTS (SELECT 1 FROM sources s WHERE s.id = a.source_id AND s.deleted_at IS NULL)".to_owned(),
        ];
        if let Some(kind) = query.kind {
            values.push(kind.as_str().into());
            filters.push(format!("a.kind = ${}", values.len()));
        }
        if let Some(language) = &query.language {
            values.push(language.clone().into());
            filters.push(format!("lower(a.language) = ${}", values.len()));
        }
        let (join, rank) = if terms.is_empty() {
            ("", "a.id DESC".to_owned())
        } else {
            match backend {
                DatabaseBackend::Postgres => {
                    values.push(terms.join(" ").into());
                    let n = values.len();
                    filters.push(format!("a.search @@ websearch_to_tsquery('simple', ${n})"));
                    ("", format!("ts_rank(a.search, websearch_to_tsquery('simple', ${n})) DESC, a.id DESC"))
                }
                _ => {
                    // Each word behind the space (migration 18): FTS5 reads the space's
                    // own list of each word, never the word's matches in every space.
                    let space = space_id.0.simple().to_string();
                    let text = query.text.as_deref().unwrap_or_default();
                    values.push(search_words::space_query(&space, text).unwrap_or_default().into());
                    filters.push(format!("artifacts_fts MATCH ${}", values.len()));
                    (
                        "JOIN artifacts_fts ON artifacts_fts.artifact_id = a.id",
                        "bm25(artifacts_fts), a.id DESC".to_owned(),
                    )
                }
            }
        };
        let where_clause = filters.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) AS total FROM {candidates} {join} WHERE {where_clause}");
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, count_sql, values.clone()))
            .await
            .map_err(map_db_err)?;
        let total: i64 = row.map(|r| r.try_get("", "total")).transpose().map_err(map_db_err)?.unwrap_or(0);
        let page_sql = format!(
            "SELECT a.* FROM {candidates} {join} WHERE {where_clause} ORDER BY {rank} LIMIT {} OFFSET {}",
            page.per_page,
            page.offset()
        );
        let models = artifacts::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(backend, page_sql, values))
            .all(&self.db)
            .await
            .map_err(map_db_err)?;
        let items = models.into_iter().map(artifact_from).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, request: page, total: u64::try_from(total).unwrap_or(0) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_quoted_words() {
        assert_eq!(search_terms("SKIP LOCKED\" OR *"), ["\"SKIP\"", "\"LOCKED\"", "\"OR\""]);
        assert!(search_terms("*** -- ").is_empty());
        assert_eq!(search_terms("map_cache"), ["\"map_cache\""]);
    }
}
