//! Every problem in what the user wrote, found at once: keys in the file and `CTXD_`
//! variables that name no setting (each with the nearest valid name), and every value
//! of the wrong type, where deserializing the whole configuration stops at the first.

use std::{collections::BTreeSet, path::Path};

use figment::{
    Figment, Profile, Provider,
    providers::{Env, Format, Serialized, Toml},
    value::{Dict, Value},
};

use super::Config;

/// Where a value came from, to name it the way the user wrote it.
#[derive(Debug, Clone, Copy)]
enum Origin<'a> {
    File(&'a Path),
    Env,
}

impl Origin<'_> {
    fn name(self, key: &str) -> String {
        match self {
            Origin::File(path) => format!("{key} (in {})", path.display()),
            Origin::Env => env_name(key),
        }
    }
}

/// `limits.max_content_bytes` → `CTXD_LIMITS__MAX_CONTENT_BYTES`.
fn env_name(key: &str) -> String {
    format!("CTXD_{}", key.replace('.', "__").to_ascii_uppercase())
}

/// `CTXD_` variables of ctxd's own tooling (the test suite, `cargo xtask`), never
/// settings: present in a developer's environment, they are not misspellings.
const TOOLING_PREFIXES: [&str; 4] = ["test_", "chaos_", "schemathesis_", "bench_"];

/// The problems in the file (if any) and the `CTXD_` environment, one line each.
pub(super) fn problems(file: Option<&Path>) -> Vec<String> {
    let known = known_keys();
    let mut problems = Vec::new();
    let mut layers = Vec::new();
    if let Some(path) = file {
        match Toml::file_exact(path).data() {
            Ok(data) => layers.push((Origin::File(path), data)),
            Err(error) => problems.push(format!("{}: {}", path.display(), error.kind)),
        }
    }
    match Env::prefixed("CTXD_").split("__").data() {
        Ok(data) => layers.push((Origin::Env, data)),
        Err(error) => problems.push(format!("CTXD_ variables: {}", error.kind)),
    }
    for (origin, data) in layers {
        let Some(dict) = data.get(&Profile::Default) else { continue };
        let mut values = Vec::new();
        leaves(dict, "", &mut values);
        for (key, value) in values {
            if matches!(origin, Origin::Env) && TOOLING_PREFIXES.iter().any(|p| key.starts_with(p)) {
                continue;
            }
            if !known.contains(&key) {
                let hint = nearest(&key, &known).map_or_else(String::new, |near| {
                    format!(
                        "; did you mean {}?",
                        match origin {
                            Origin::File(_) => near.to_owned(),
                            Origin::Env => env_name(near),
                        }
                    )
                });
                let what = match origin {
                    Origin::File(_) => "unknown key",
                    Origin::Env => "unknown variable",
                };
                problems.push(format!("{}: {what}{hint}", origin.name(&key)));
                continue;
            }
            // Each value alone over the defaults: one line per wrong value.
            let alone = Figment::from(Serialized::defaults(Config::default())).merge(Serialized::default(&key, value));
            if let Err(error) = alone.extract::<Config>() {
                problems.push(format!("{}: {}", origin.name(&key), error.kind));
            }
        }
    }
    problems
}

/// Every setting's dotted key, sections included. Taken from the defaults' JSON form,
/// where unset options appear as null, so they are known too.
fn known_keys() -> BTreeSet<String> {
    fn walk(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
        if let serde_json::Value::Object(map) = value {
            for (key, value) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                walk(value, &path, out);
                out.insert(path);
            }
        }
    }
    let mut keys = BTreeSet::new();
    let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
    walk(&defaults, "", &mut keys);
    // Not a field of the file's shape, but read from the environment as a setting.
    keys.insert("database_url".into());
    keys
}

/// The leaves of a figment dictionary with their dotted keys; a dictionary inside an
/// unknown key is reported once, at its own key.
fn leaves(dict: &Dict, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (key, value) in dict {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            Value::Dict(_, inner) if !inner.is_empty() => leaves(inner, &path, out),
            other => out.push((path, other.clone())),
        }
    }
}

/// The known key closest to a misspelt one, when it is close enough to be meant.
fn nearest<'a>(key: &str, known: &'a BTreeSet<String>) -> Option<&'a str> {
    let (distance, best) = known.iter().map(|k| (strsim::levenshtein(key, k), k.as_str())).min()?;
    (distance <= (key.len() / 4).max(2)).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_get_the_nearest_valid_name() {
        let known = known_keys();
        assert!(known.contains("limits.max_content_bytes") && known.contains("llm.base_url"), "{known:?}");
        assert_eq!(nearest("limits.max_conent_bytes", &known), Some("limits.max_content_bytes"));
        assert_eq!(nearest("grpc_listen", &known), Some("grpc.listen"));
        assert_eq!(nearest("completely.unrelated.thing", &known), None);
        assert_eq!(env_name("worker.lease_seconds"), "CTXD_WORKER__LEASE_SECONDS");
    }
}
