//! Data for `bench scale`, generated inside the database (`INSERT … SELECT` over a
//! table of numbers, in chunks), not through the API: a million sources with their
//! runs, revisions, contexts and artifacts in minutes. Every row is a copy of a real
//! source that the app processed (the template), with its own ids, names, times and
//! an artifact text that carries a word of its own, so the rows are what ctxd writes.
//! The same statements serve Postgres and SQLite; [`Dialect`] supplies the few
//! expressions the two spell differently (ids, times, random hashes).
//!
//! Layout, for N sources: 1,000 users (alice, whose key the client uses, is user 0),
//! N / 100 spaces (space k belongs to user k mod 1000), 100 sources per space, per
//! source `RUNS` finished runs spread from its creation to now, 2 revisions with a
//! context each, 5 artifacts (2 of revision 1, no longer current; 3 current). A few of
//! alice's sources get a long history (`LONG_HISTORY` runs) for deep pages of runs.

use anyhow::Context;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use uuid::Uuid;

pub const USERS: u64 = 1000;
pub const SOURCES_PER_SPACE: u64 = 100;
pub const RUNS: u64 = 10;
pub const REVISIONS: u64 = 2;
pub const ARTIFACTS: u64 = 5;
/// Runs of each of alice's first `LONG_SOURCES` sources.
pub const LONG_HISTORY: u64 = 1000;
pub const LONG_SOURCES: u64 = 5;
/// Sources generated per statement.
const CHUNK: u64 = 50_000;
/// How far back the generated history reaches.
const HISTORY_DAYS: i64 = 365;

/// What the template source left: its id and its user's (alice's).
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub source: Uuid,
    pub alice: Uuid,
}

/// The expressions Postgres and SQLite spell differently.
#[derive(Debug, Clone, Copy)]
struct Dialect(DbBackend);

impl Dialect {
    /// A UUID v7 of the instant `ms` (an SQL expression), random in its other bits:
    /// ids sort by creation as ctxd's do. SQLite stores ids as 16-byte blobs.
    fn uuid7(self, ms: &str) -> String {
        match self.0 {
            DbBackend::Postgres => format!("bench_uuid7({ms})"),
            // `||` makes text of blobs: join the hex digits, then turn them into bytes.
            _ => format!("unhex(printf('%012x', {ms}) || hex(randomblob(10)))"),
        }
    }

    /// The instant `ms` as the database stores times (SQLite: RFC 3339 text).
    fn time(self, ms: &str) -> String {
        match self.0 {
            DbBackend::Postgres => format!("to_timestamp(({ms}) / 1000.0)"),
            _ => format!("strftime('%Y-%m-%dT%H:%M:%f+00:00', ({ms}) / 1000.0, 'unixepoch')"),
        }
    }

    fn now(self) -> &'static str {
        match self.0 {
            DbBackend::Postgres => "now()",
            _ => "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')",
        }
    }

    fn random_hash(self) -> &'static str {
        match self.0 {
            DbBackend::Postgres => "md5(random()::text)",
            _ => "lower(hex(randomblob(16)))",
        }
    }

    fn newline(self) -> &'static str {
        match self.0 {
            DbBackend::Postgres => "chr(10)",
            _ => "char(10)",
        }
    }
}

async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> anyhow::Result<u64> {
    let statement = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    let done = db.execute_raw(statement).await.with_context(|| format!("generating: {}", &sql[..sql.len().min(80)]))?;
    Ok(done.rows_affected())
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The bookkeeping tables, the numbers `0..largest` and users 1..1000.
pub async fn prepare(db: &DatabaseConnection, template: Template, largest: u64) -> anyhow::Result<()> {
    let dialect = Dialect(db.get_database_backend());
    if dialect.0 == DbBackend::Postgres {
        exec(
            db,
            "CREATE OR REPLACE FUNCTION bench_uuid7(ms bigint) RETURNS uuid LANGUAGE sql VOLATILE AS $$ \
             SELECT encode(set_byte(set_byte(overlay(uuid_send(gen_random_uuid()) PLACING \
             substring(int8send(ms) FROM 3) FROM 1), 6, 112 + (random() * 15)::int), 8, \
             128 + (random() * 63)::int), 'hex')::uuid $$",
            vec![],
        )
        .await?;
    }
    exec(db, "CREATE TABLE bench_numbers (n bigint PRIMARY KEY)", vec![]).await?;
    exec(
        db,
        "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < $1) \
         INSERT INTO bench_numbers SELECT n FROM s",
        vec![i64_of(largest.max(LONG_HISTORY).max(USERS)).into()],
    )
    .await?;
    exec(db, "CREATE TABLE bench_users (k bigint PRIMARY KEY, id uuid NOT NULL)", vec![]).await?;
    exec(db, "CREATE TABLE bench_spaces (k bigint PRIMARY KEY, id uuid NOT NULL, user_id uuid NOT NULL)", vec![])
        .await?;
    exec(
        db,
        "CREATE TABLE bench_sources (k bigint PRIMARY KEY, id uuid NOT NULL, space_k bigint NOT NULL, \
         created_ms bigint NOT NULL)",
        vec![],
    )
    .await?;
    // The template's artifacts, numbered: generated artifact j copies number j mod n.
    exec(
        db,
        "CREATE TABLE bench_template_artifacts AS SELECT row_number() OVER (ORDER BY start_line) - 1 AS n, \
         kind, language, title, content, metadata, start_line, end_line, turn FROM artifacts WHERE source_id = $1",
        vec![template.source.into()],
    )
    .await?;
    exec(db, "INSERT INTO bench_users VALUES (0, $1)", vec![template.alice.into()]).await?;
    let now_ms = chrono::Utc::now().timestamp_millis().to_string();
    exec(
        db,
        &format!(
            "INSERT INTO bench_users SELECT n, {} FROM bench_numbers WHERE n > 0 AND n < $1",
            dialect.uuid7(&now_ms)
        ),
        vec![i64_of(USERS).into()],
    )
    .await?;
    exec(
        db,
        &format!(
            "INSERT INTO users (id, name, plan, created_at) SELECT id, 'bench-user-' || k, 'PRO', {} \
             FROM bench_users WHERE k > 0",
            dialect.now()
        ),
        vec![],
    )
    .await?;
    Ok(())
}

/// Grows the data from `have` to `want` sources.
pub async fn grow(db: &DatabaseConnection, template: Template, have: u64, want: u64) -> anyhow::Result<()> {
    let dialect = Dialect(db.get_database_backend());
    let now_ms = chrono::Utc::now().timestamp_millis();
    let start_ms = now_ms - HISTORY_DAYS * 86_400_000;
    // Sources are created evenly over the history, in the order of k (up to 1M).
    let step_ms = HISTORY_DAYS * 86_400_000 / 1_000_000;
    let spaces = || vec![i64_of(have / SOURCES_PER_SPACE).into(), i64_of(want.div_ceil(SOURCES_PER_SPACE)).into()];
    exec(
        db,
        &format!(
            "INSERT INTO bench_spaces SELECT n, {}, (SELECT id FROM bench_users u WHERE u.k = n % $5) \
             FROM bench_numbers WHERE n >= $1 AND n < $2",
            dialect.uuid7("$3 + n * $4 * 100")
        ),
        [spaces(), vec![start_ms.into(), step_ms.into(), i64_of(USERS).into()]].concat(),
    )
    .await?;
    exec(
        db,
        &format!(
            "INSERT INTO spaces (id, user_id, name, description, created_at, updated_at) \
             SELECT id, user_id, 'space ' || k, NULL, {now}, {now} FROM bench_spaces WHERE k >= $1 AND k < $2",
            now = dialect.now()
        ),
        spaces(),
    )
    .await?;
    let mut from = have;
    while from < want {
        let to = (from + CHUNK).min(want);
        chunk(db, dialect, template, (from, to), (start_ms, step_ms), now_ms).await?;
        from = to;
    }
    if have == 0 {
        long_histories(db, dialect, template, now_ms).await?;
    }
    if dialect.0 == DbBackend::Postgres {
        // A database a year old has been vacuumed as it grew (autovacuum follows
        // inserts too): vacuum now, and write the new pages out, so that neither
        // lands in the middle of the measurements.
        exec(db, "VACUUM (ANALYZE)", vec![]).await?;
        exec(db, "CHECKPOINT", vec![]).await?;
    } else {
        // The store writes SQLite's search rows with each artifact (migration 18);
        // the copies made here get theirs in one transaction.
        let txn = db.begin().await?;
        ctxd_migrations::search_words::index_missing(&txn, None).await?;
        txn.commit().await?;
        exec(db, "ANALYZE", vec![]).await?;
        exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", vec![]).await?;
    }
    Ok(())
}

/// Sources `[from, to)` with everything they hold.
async fn chunk(
    db: &DatabaseConnection,
    dialect: Dialect,
    template: Template,
    (from, to): (u64, u64),
    (start_ms, step_ms): (i64, i64),
    now_ms: i64,
) -> anyhow::Result<()> {
    let range = || vec![i64_of(from).into(), i64_of(to).into()];
    exec(
        db,
        &format!(
            "INSERT INTO bench_sources SELECT n, {}, n / $5, $3 + n * $4 FROM bench_numbers \
             WHERE n >= $1 AND n < $2",
            dialect.uuid7("$3 + n * $4")
        ),
        [range(), vec![start_ms.into(), step_ms.into(), i64_of(SOURCES_PER_SPACE).into()]].concat(),
    )
    .await?;
    // Refreshed hourly, each due at its own second of the hour.
    exec(
        db,
        &format!(
            "INSERT INTO sources (id, user_id, space_id, collection_id, type, name, description, status, message, \
             initial_data, postback_url, run_context_extraction, run_artifact_extraction, refresh_mode, \
             refresh_interval_seconds, next_refresh_at_ms, pinned, deleted_at, created_at, updated_at, revision, \
             content_hash, last_fetched_at, last_run_id, original_tokens, context_tokens, artifact_count) \
             SELECT b.id, sp.user_id, sp.id, NULL, t.type, 'source ' || b.k, NULL, 'COMPLETED', NULL, \
             t.initial_data, NULL, true, true, 'INTERVAL', 3600, $3 + (b.k % 3600) * 1000, false, NULL, {created}, \
             {now}, $4, t.content_hash, {now}, NULL, t.original_tokens, t.context_tokens, $5 \
             FROM bench_sources b JOIN bench_spaces sp ON sp.k = b.space_k CROSS JOIN sources t \
             WHERE t.id = $6 AND b.k >= $1 AND b.k < $2",
            created = dialect.time("b.created_ms"),
            now = dialect.now()
        ),
        [range(), vec![now_ms.into(), i64_of(REVISIONS).into(), i64_of(ARTIFACTS - 2).into(), template.source.into()]]
            .concat(),
    )
    .await?;
    runs(db, dialect, template, "b.k >= $1 AND b.k < $2", range(), RUNS, now_ms).await?;
    exec(
        db,
        &format!(
            "INSERT INTO revisions (source_id, number, content_hash, fetched_at, http, bytes, extractor_version, \
             metadata) SELECT b.id, r.n, {hash}, {created}, t.http, t.bytes, t.extractor_version, t.metadata \
             FROM bench_sources b JOIN bench_numbers r ON r.n >= 1 AND r.n <= $3 CROSS JOIN revisions t \
             WHERE t.source_id = $4 AND t.number = 1 AND b.k >= $1 AND b.k < $2",
            hash = dialect.random_hash(),
            created = dialect.time("b.created_ms")
        ),
        [range(), vec![i64_of(REVISIONS).into(), template.source.into()]].concat(),
    )
    .await?;
    exec(
        db,
        &format!(
            "INSERT INTO contexts (source_id, revision, extractor_version, content, title, summary, outline, \
             key_points, decisions, open_questions, original_tokens, context_tokens, created_at) \
             SELECT b.id, r.n, t.extractor_version, t.content || ' ' || b.k, t.title, t.summary, t.outline, \
             t.key_points, t.decisions, t.open_questions, t.original_tokens, t.context_tokens, {now} \
             FROM bench_sources b JOIN bench_numbers r ON r.n >= 1 AND r.n <= $3 CROSS JOIN contexts t \
             WHERE t.source_id = $4 AND t.revision = 1 AND b.k >= $1 AND b.k < $2",
            now = dialect.now()
        ),
        [range(), vec![i64_of(REVISIONS).into(), template.source.into()]].concat(),
    )
    .await?;
    // Artifact j of source k carries the word `tokKxJ`: a query for it is a rare word.
    exec(
        db,
        &format!(
            "INSERT INTO artifacts (id, source_id, space_id, user_id, revision, kind, language, title, content, \
             metadata, start_line, end_line, turn, content_hash, active, created_at) \
             SELECT {id}, b.id, sp.id, sp.user_id, CASE WHEN j.n < 2 THEN 1 ELSE 2 END, t.kind, t.language, \
             t.title, t.content || {newline} || '# tok' || b.k || 'x' || j.n, t.metadata, t.start_line, \
             t.end_line, t.turn, {hash}, j.n >= 2, {now} \
             FROM bench_sources b JOIN bench_spaces sp ON sp.k = b.space_k JOIN bench_numbers j ON j.n < $3 \
             JOIN bench_template_artifacts t ON t.n = j.n % (SELECT count(*) FROM bench_template_artifacts) \
             WHERE b.k >= $1 AND b.k < $2",
            id = dialect.uuid7("b.created_ms"),
            newline = dialect.newline(),
            hash = dialect.random_hash(),
            now = dialect.now()
        ),
        [range(), vec![i64_of(ARTIFACTS).into()]].concat(),
    )
    .await?;
    Ok(())
}

/// `per_source` finished runs for each source `filter` picks (over `bench_sources b`),
/// spread from its creation to now, oldest first; then each source's last run.
async fn runs(
    db: &DatabaseConnection,
    dialect: Dialect,
    template: Template,
    filter: &str,
    mut values: Vec<Value>,
    per_source: u64,
    now_ms: i64,
) -> anyhow::Result<()> {
    let n = values.len();
    let (p, now, tpl) = (n + 1, n + 2, n + 3);
    let ms = format!("(b.created_ms + i.n * ((${now} - b.created_ms) / ${p}))");
    let sql = format!(
        "INSERT INTO runs (id, source_id, user_id, kind, status, outcome, run_context_extraction, \
         run_artifact_extraction, force, update_existing, input, attempt, error, cancel_requested, queued_at, \
         started_at, finished_at, timings, locked_by, locked_until_ms, available_at_ms) \
         SELECT {id}, b.id, sp.user_id, CASE WHEN i.n = 0 THEN 'INITIAL' ELSE 'SCHEDULED_REFRESH' END, \
         'COMPLETED', CASE WHEN i.n = 0 OR i.n = ${p} / 2 THEN 'CHANGED' ELSE 'UNCHANGED' END, true, true, false, \
         false, NULL, 1, NULL, false, {queued}, {started}, {finished}, t.timings, NULL, NULL, 0 \
         FROM bench_sources b JOIN bench_spaces sp ON sp.k = b.space_k JOIN bench_numbers i ON i.n < ${p} \
         CROSS JOIN (SELECT timings FROM runs WHERE source_id = ${tpl} ORDER BY id LIMIT 1) t WHERE {filter}",
        id = dialect.uuid7(&ms),
        queued = dialect.time(&ms),
        started = dialect.time(&format!("{ms} + 100")),
        finished = dialect.time(&format!("{ms} + 400")),
    );
    values.extend([i64_of(per_source).into(), now_ms.into(), template.source.into()]);
    exec(db, &sql, values.clone()).await?;
    let last = format!(
        "UPDATE sources SET last_run_id = (SELECT r.id FROM runs r WHERE r.source_id = sources.id \
         ORDER BY r.id DESC LIMIT 1) FROM bench_sources b WHERE sources.id = b.id AND {filter}"
    );
    values.truncate(n);
    exec(db, &last, values).await?;
    Ok(())
}

/// A long run history for alice's first few sources: the deep pages of runs.
async fn long_histories(
    db: &DatabaseConnection,
    dialect: Dialect,
    template: Template,
    now_ms: i64,
) -> anyhow::Result<()> {
    let filter = "b.k IN (SELECT b2.k FROM bench_sources b2 JOIN bench_spaces s2 ON s2.k = b2.space_k \
                  WHERE s2.user_id = $1 ORDER BY b2.k LIMIT $2)";
    let values = vec![template.alice.into(), i64_of(LONG_SOURCES).into()];
    runs(db, dialect, template, filter, values, LONG_HISTORY, now_ms).await
}

/// Ids the first column of `sql` (with `$1` the user, `$2` a limit) returns.
pub async fn ids(db: &DatabaseConnection, user: Uuid, sql: &str, limit: u64) -> anyhow::Result<Vec<Uuid>> {
    let statement =
        Statement::from_sql_and_values(db.get_database_backend(), sql, vec![user.into(), i64_of(limit).into()]);
    let rows = db.query_all_raw(statement).await?;
    rows.iter().map(|row| row.try_get_by_index::<Uuid>(0).map_err(Into::into)).collect()
}
