//! Accepted refreshes, reprocesses and cancels, grouped on Postgres: every one saves
//! its source with the run it queues or rewrites. Concurrent saves share a statement
//! (see [`crate::batch`]), each still guarded by its own expected status, so under load
//! a request pays for a fraction of a round trip and of a commit.

use ctxd_domain::Result;
use sea_orm::{
    DatabaseConnection, DbBackend, EntityTrait, IdenStatic, Iterable, ModelTrait, Statement, Value,
    sea_query::value::sea_value_to_json_value,
};

use crate::{
    batch::{Batcher, Lane, answers},
    entities::{runs, sources},
};

/// The run a save writes with its source.
#[derive(Debug)]
pub(crate) enum RunModel {
    None,
    Insert(runs::Model),
    /// A use case's rewrite: every column but the queue's (see `rewritten_run_columns`).
    Update(runs::Model),
}

/// One save: write `source` if its stored status and last run are still `expected`
/// and `expected_run`, and then `run`.
#[derive(Debug)]
pub(crate) struct SaveRequest {
    pub(crate) source: sources::Model,
    pub(crate) expected: &'static str,
    pub(crate) expected_run: Option<uuid::Uuid>,
    pub(crate) run: RunModel,
}

/// At most this many saves share a statement.
const MAX_BATCH: usize = 64;

/// The grouped saves of one Postgres pool; each answers whether its guard matched.
#[derive(Debug)]
pub(crate) struct SaveBatches {
    saves: Batcher<SaveRequest, bool>,
}

impl SaveBatches {
    pub(crate) fn spawn(db: &DatabaseConnection) -> Self {
        Self { saves: Batcher::statements(db, MAX_BATCH, save_batch) }
    }

    pub(crate) async fn save(&self, request: SaveRequest) -> Result<bool> {
        self.saves.call(request).await
    }
}

/// The batch statement, built once. `$1` lists the saves as `[{n, id, expected, expected_run, write,
/// source, run}]` with the models as JSON objects keyed by column name, which
/// `jsonb_populate_record` turns back into typed rows. The rows to write are also
/// picked by `id = ANY(ARRAY(...))`, an index condition: the generic plan of a plain
/// join with the JSON list (estimated at 100 rows) was a hash join over whole tables.
/// A source saved twice in one batch is updated once (Postgres applies one of the
/// joined rows): the other save answers false, as it would after losing a race.
static SAVE_BATCH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let assign = |columns: Vec<&'static str>| {
        columns.iter().map(|c| format!("\"{c}\" = r.\"{c}\"")).collect::<Vec<_>>().join(", ")
    };
    let source_set = assign(super::columns::written_source_columns().map(|c| c.as_str()).collect());
    let run_set = assign(super::columns::rewritten_run_columns().map(|c| c.as_str()).collect());
    let run_columns: Vec<String> = runs::Column::iter().map(|c| format!("\"{}\"", c.as_str())).collect();
    let run_values = run_columns.iter().map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
    let run_columns = run_columns.join(", ");
    format!(
        "WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
        AS i(n bigint, id uuid, run_id uuid, expected text, expected_run uuid, write text, source jsonb, run jsonb)
), updated AS (
    UPDATE sources SET {source_set}
    FROM input CROSS JOIN LATERAL jsonb_populate_record(NULL::sources, input.source) AS r
    WHERE sources.id = ANY(ARRAY(SELECT id FROM input)) AND sources.id = input.id
        AND sources.status = input.expected
        AND sources.last_run_id IS NOT DISTINCT FROM input.expected_run
    RETURNING input.n
), run_inserted AS (
    INSERT INTO runs ({run_columns})
    SELECT {run_values}
    FROM input JOIN updated USING (n) CROSS JOIN LATERAL jsonb_populate_record(NULL::runs, input.run) AS r
    WHERE input.write = 'insert'
), run_updated AS (
    UPDATE runs SET {run_set}
    FROM input JOIN updated USING (n) CROSS JOIN LATERAL jsonb_populate_record(NULL::runs, input.run) AS r
    WHERE runs.id = ANY(ARRAY(SELECT run_id FROM input WHERE write = 'update')) AND runs.id = input.run_id
        AND input.write = 'update'
)
SELECT n AS batch_n FROM updated"
    )
});

async fn save_batch(lane: Lane, requests: Vec<SaveRequest>) -> Result<Vec<bool>> {
    let count = requests.len();
    let input: Vec<serde_json::Value> = requests
        .iter()
        .enumerate()
        .map(|(i, request)| {
            let (write, run_id, run) = match &request.run {
                RunModel::None => ("none", None, serde_json::Value::Null),
                RunModel::Insert(run) => ("insert", Some(run.id), model_json(run, runs::Column::iter())),
                RunModel::Update(run) => {
                    ("update", Some(run.id), model_json(run, super::columns::rewritten_run_columns()))
                }
            };
            serde_json::json!({
                "n": i + 1,
                "id": request.source.id,
                "run_id": run_id,
                "expected": request.expected,
                "expected_run": request.expected_run,
                "write": write,
                "source": model_json(&request.source, super::columns::written_source_columns()),
                "run": run,
            })
        })
        .collect();
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        SAVE_BATCH.as_str(),
        [serde_json::Value::Array(input).into()],
    );
    let saved = answers(&lane, statement, count, |_| Ok(())).await?;
    Ok(saved.into_iter().map(|answer| answer.is_some()).collect())
}

/// The `columns` of a model as a JSON object keyed by column name, each value in a
/// form Postgres's input functions read back: timestamps as RFC 3339 (sea-query's own
/// conversion renders them as quoted SQL literals), JSON columns nested. Only what the
/// statement writes is sent, and no NULLs (`jsonb_populate_record` reads a missing key
/// as NULL): parsing this parameter is a large part of the statement's cost. (sea-query's
/// conversion would panic on non-UTF-8 bytes; neither model has a bytes column.)
fn model_json<M: ModelTrait>(
    model: &M,
    columns: impl Iterator<Item = <M::Entity as EntityTrait>::Column>,
) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for column in columns {
        let value = match model.get(column) {
            Value::ChronoDateTimeUtc(Some(at)) => at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into(),
            other => sea_value_to_json_value(&other),
        };
        if !value.is_null() {
            object.insert(column.as_str().to_owned(), value);
        }
    }
    serde_json::Value::Object(object)
}
