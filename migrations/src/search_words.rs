//! SQLite's artifact search index in the form the store writes it: every word of an
//! artifact prefixed with its space, so a search reads its own space's list of a
//! word and never the word's matches in every other space (migration 18).
//!
//! FTS5 cannot prefix words itself (a tokenizer would have to be registered in C), so
//! the text is prepared here, the same way for the rows written and the words
//! searched: each word as Unicode segments it (`unicode-segmentation`), lowercased,
//! behind the space's hex id. FTS5's own tokenizer then sees one token per word; a word
//! it would still split (`map_cache`) is split the same way on both sides and matched
//! as a phrase whose first token carries the space.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use unicode_segmentation::UnicodeSegmentation;

/// At most this many words of a query are searched (the rest are dropped).
pub const MAX_QUERY_WORDS: usize = 32;

/// `text`'s words, each behind `space_hex`, separated by spaces.
pub fn space_words(space_hex: &str, text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for word in text.unicode_words() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(space_hex);
        out.push_str(&word.to_lowercase());
    }
    out
}

/// The words a search asks for, on either database: the first [`MAX_QUERY_WORDS`]
/// of `text` as Unicode segments it, without double quotes, so that each can be
/// quoted and user text never reaches a query syntax.
pub fn query_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.unicode_words().take(MAX_QUERY_WORDS).map(|word| word.replace('"', ""))
}

/// An FTS5 match expression for `text`'s words in the space: each word a quoted
/// phrase, all of them required. `None` when the text has no words.
pub fn space_query(space_hex: &str, text: &str) -> Option<String> {
    let terms: Vec<String> = query_words(text).map(|word| format!("\"{space_hex}{}\"", word.to_lowercase())).collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// Artifacts read per batch by [`index_missing`], and rows per insert statement.
const BATCH: u64 = 500;
const ROWS_PER_INSERT: usize = 100;

/// Writes the search rows of every artifact that has none yet (of one source when
/// `source_id` is given), and returns how many it wrote. Row ids are given
/// explicitly, counting up from the largest in use (read from the row map's index;
/// FTS5 would scan itself for its `max(rowid)`), so rows go in many per statement.
/// Run it in a transaction that has already written (the store's, the migration's):
/// then no other writer can take those ids in between.
pub async fn index_missing<C: ConnectionTrait>(conn: &C, source_id: Option<Vec<u8>>) -> Result<u64, DbErr> {
    let backend = DbBackend::Sqlite;
    let filter = if source_id.is_some() { "AND a.source_id = $2" } else { "" };
    // Batches walk the table in rowid order from where the last one ended, so each
    // reads only its own rows (not the rows indexed before it again).
    let select = format!(
        "SELECT a.rowid AS at, a.id AS id, lower(hex(a.space_id)) AS space, coalesce(a.title, '') AS title, \
         coalesce(a.language, '') AS language, a.content AS content FROM artifacts a \
         LEFT JOIN artifacts_fts_rows r ON r.artifact_id = a.id \
         WHERE a.rowid > $1 AND r.artifact_id IS NULL {filter} ORDER BY a.rowid LIMIT {BATCH}"
    );
    let mut next = conn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT coalesce(max(fts_rowid), 0) AS top FROM artifacts_fts_rows",
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "top"))
        .transpose()?
        .unwrap_or(0);
    let mut after = 0_i64;
    let mut written = 0;
    loop {
        let mut values: Vec<Value> = vec![after.into()];
        values.extend(source_id.clone().map(Value::from));
        let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, select.clone(), values)).await?;
        let Some(last) = rows.last() else { return Ok(written) };
        after = last.try_get("", "at")?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut words: Vec<Value> = Vec::with_capacity(chunk.len() * 5);
            let mut map: Vec<Value> = Vec::with_capacity(chunk.len() * 2);
            for row in chunk {
                next += 1;
                let id: Vec<u8> = row.try_get("", "id")?;
                let space: String = row.try_get("", "space")?;
                words.push(next.into());
                words.push(id.clone().into());
                for column in ["title", "language", "content"] {
                    words.push(space_words(&space, &row.try_get::<String>("", column)?).into());
                }
                map.push(id.into());
                map.push(next.into());
            }
            let insert = |table: &str, columns: &str, width: usize, values: Vec<Value>| {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|r| {
                        let marks: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
                        format!("({})", marks.join(", "))
                    })
                    .collect();
                let sql = format!("INSERT INTO {table} ({columns}) VALUES {}", rows.join(", "));
                Statement::from_sql_and_values(backend, sql, values)
            };
            conn.execute_raw(insert("artifacts_fts", "rowid, artifact_id, title, language, content", 5, words)).await?;
            conn.execute_raw(insert("artifacts_fts_rows", "artifact_id, fts_rowid", 2, map)).await?;
        }
        written += rows.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_behind_the_space_and_queries_quote_them() {
        assert_eq!(space_words("ab12", "SKIP Locked, map_cache!"), "ab12skip ab12locked ab12map_cache");
        assert_eq!(
            space_query("ab12", "SKIP LOCKED\" OR *").as_deref(),
            Some("\"ab12skip\" AND \"ab12locked\" AND \"ab12or\"")
        );
        assert_eq!(space_query("ab12", "*** -- "), None);
    }
}
