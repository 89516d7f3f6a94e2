//! The hottest reads, grouped on Postgres: every authenticated request looks its key
//! up, every source action reads its source, and every run handed to a worker by the
//! request that accepted it reads its source's current revision (see
//! `ctxd_domain::services::handoff`). Concurrent lookups of one kind share a statement
//! (see [`crate::batch`]), so under load a request pays for a fraction of a round trip
//! instead of a whole one per read. None of them is cached: a revoked key or a changed
//! source is seen by the next statement.

use ctxd_domain::Result;
use sea_orm::{DatabaseConnection, DbBackend, FromQueryResult, QueryResult, Statement};
use uuid::Uuid;

use super::prefixed_columns;
use crate::{
    batch::{Batcher, Lane, answers},
    entities::{api_keys, revisions, runs, sources, users},
    map_db_err,
};

/// A key with its user, as [`crate::convert::api_key_from`] and `user_from` take them.
pub(crate) type KeyRow = (api_keys::Model, users::Model);
/// A source with its last run, as [`crate::convert::source_from`] takes them.
pub(crate) type SourceRow = (sources::Model, Option<runs::Model>);

/// At most this many lookups share a statement.
const MAX_BATCH: usize = 64;

/// The grouped reads of one Postgres pool.
#[derive(Debug)]
pub(crate) struct ReadBatches {
    keys: Batcher<String, Option<KeyRow>>,
    sources: Batcher<(Uuid, Uuid), Option<SourceRow>>,
    revisions: Batcher<(Uuid, i32), Option<revisions::Model>>,
}

impl ReadBatches {
    pub(crate) fn spawn(db: &DatabaseConnection) -> Self {
        Self {
            keys: Batcher::statements(db, MAX_BATCH, keys_batch),
            sources: Batcher::statements(db, MAX_BATCH, sources_batch),
            revisions: Batcher::statements(db, MAX_BATCH, revisions_batch),
        }
    }

    /// The key whose hash is `key_hash`, with its user.
    pub(crate) async fn key(&self, key_hash: String) -> Result<Option<KeyRow>> {
        self.keys.call(key_hash).await
    }

    /// Source `id` of `user_id` with its last run.
    pub(crate) async fn source(&self, user_id: Uuid, id: Uuid) -> Result<Option<SourceRow>> {
        self.sources.call((user_id, id)).await
    }

    /// Revision `number` of source `source_id`.
    pub(crate) async fn revision(&self, source_id: Uuid, number: i32) -> Result<Option<revisions::Model>> {
        self.revisions.call((source_id, number)).await
    }
}

/// What a key lookup selects: the key's columns by their own names, its user's as
/// `u_` columns, from `api_keys` joined to `users u`.
fn key_columns() -> String {
    format!("api_keys.*, {}", prefixed_columns::<users::Entity>("u", "u_"))
}

/// What a source read selects: the source's columns by their own names, its last
/// run's as `l_` columns, from `sources` left-joined to `runs l`.
fn source_columns() -> String {
    format!("sources.*, {}", prefixed_columns::<runs::Entity>("l", "l_"))
}

/// The key lookup for one hash, bound to `hash` (a placeholder).
pub(crate) fn key_select(hash: &str) -> String {
    format!(
        "SELECT {} FROM api_keys JOIN users u ON u.id = api_keys.user_id WHERE api_keys.key_hash = {hash}",
        key_columns()
    )
}

/// The source read for one source, bound to `id` and `user` (placeholders).
pub(crate) fn source_select(id: &str, user: &str) -> String {
    format!(
        "SELECT {} FROM sources LEFT JOIN runs l ON l.id = sources.last_run_id \
         WHERE sources.id = {id} AND sources.user_id = {user}",
        source_columns()
    )
}

/// A key row as [`key_select`] returns it.
pub(crate) fn key_from_row(row: &QueryResult) -> Result<KeyRow> {
    let key = api_keys::Model::from_query_result(row, "").map_err(map_db_err)?;
    let user = users::Model::from_query_result(row, "u_").map_err(map_db_err)?;
    Ok((key, user))
}

/// A source row as [`source_select`] returns it.
pub(crate) fn source_from_row(row: &QueryResult) -> Result<SourceRow> {
    let source = sources::Model::from_query_result(row, "").map_err(map_db_err)?;
    let run = runs::Model::from_query_result_optional(row, "l_").map_err(map_db_err)?;
    Ok((source, run))
}

async fn keys_batch(lane: Lane, hashes: Vec<String>) -> Result<Vec<Option<KeyRow>>> {
    // Built once. The wanted list is a JSON array: one parameter whatever the batch's
    // size, so the statement stays one prepared statement. Each request is looked up
    // by its own `LIMIT 1` subquery: the limit keeps the planner from flattening it
    // into a join, which its generic plan made a hash join over whole tables (1.3 ms
    // per batch of four under `bench fetch`) instead of index lookups.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT found.*, wanted.n AS batch_n \
             FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS wanted(hash, n) \
             CROSS JOIN LATERAL ({} LIMIT 1) AS found",
            key_select("wanted.hash")
        )
    });
    let count = hashes.len();
    let wanted = serde_json::Value::from(hashes);
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, SQL.as_str(), [wanted.into()]);
    answers(&lane, statement, count, key_from_row).await
}

async fn sources_batch(lane: Lane, wanted: Vec<(Uuid, Uuid)>) -> Result<Vec<Option<SourceRow>>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT found.*, wanted.n AS batch_n \
             FROM jsonb_to_recordset($1::jsonb) AS wanted(n bigint, id uuid, user_id uuid) \
             CROSS JOIN LATERAL ({} LIMIT 1) AS found",
            source_select("wanted.id", "wanted.user_id")
        )
    });
    let wanted = wanted.into_iter().map(|(user_id, id)| serde_json::json!({"id": id, "user_id": user_id}));
    numbered_lookup(&lane, SQL.as_str(), wanted, source_from_row).await
}

async fn revisions_batch(lane: Lane, wanted: Vec<(Uuid, i32)>) -> Result<Vec<Option<revisions::Model>>> {
    // As the source reads: a `LIMIT 1` lookup by primary key per wanted row.
    const SQL: &str = "SELECT found.*, wanted.n AS batch_n \
        FROM jsonb_to_recordset($1::jsonb) AS wanted(n bigint, source_id uuid, number integer) \
        CROSS JOIN LATERAL (SELECT * FROM revisions \
            WHERE revisions.source_id = wanted.source_id AND revisions.number = wanted.number LIMIT 1) AS found";
    let wanted =
        wanted.into_iter().map(|(source_id, number)| serde_json::json!({"source_id": source_id, "number": number}));
    numbered_lookup(&lane, SQL, wanted, |row| revisions::Model::from_query_result(row, "").map_err(map_db_err)).await
}

/// Runs a grouped lookup whose `$1` is the JSON list of `wanted` objects, each given
/// its position as `n`, which the statement returns as `batch_n` (see
/// [`crate::batch::answers`]).
async fn numbered_lookup<T>(
    lane: &Lane,
    sql: &str,
    wanted: impl Iterator<Item = serde_json::Value>,
    decode: impl Fn(&QueryResult) -> Result<T>,
) -> Result<Vec<Option<T>>> {
    let wanted: Vec<serde_json::Value> = wanted
        .zip(1_i64..)
        .map(|(mut object, n)| {
            if let Some(fields) = object.as_object_mut() {
                fields.insert("n".into(), n.into());
            }
            object
        })
        .collect();
    let count = wanted.len();
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, [serde_json::Value::Array(wanted).into()]);
    answers(lane, statement, count, decode).await
}
