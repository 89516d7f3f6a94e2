//! REST's `initial_data` object read into the domain's [`SourceMaterial`], and where the
//! parts of a source request sit in REST's bodies ([`CREATE_FIELDS`], [`PATCH_FIELDS`]),
//! so the domain's errors name REST's fields.
//!
//! The shape rules are REST's own: the keys each type takes (`url` or its alias `uri`
//! for URI, `data` for FILE and CONTENT, `source_ids` for COMPOSITION), unknown keys
//! refused, strings where strings belong. What the values must be (an absolute http(s)
//! URL, a non-empty text within the limit, member UUIDs) the domain checks.

use ctxd_domain::{
    FieldError,
    error::Violations,
    model::{SourceFields, SourceMaterial, SourceType},
};
use serde_json::Value;

/// Where a create (and a fast-forward) body keeps each part.
pub const CREATE_FIELDS: SourceFields = SourceFields {
    source_type: "type",
    url: "initial_data.url",
    file_key: "initial_data.data",
    data: "initial_data.data",
    source_ids: "initial_data.source_ids",
    postback_url: "instructions.postback_url",
    refresh_policy: "instructions.refresh_policy",
};

/// Where a `PATCH /v1/sources/{id}` body keeps them.
pub const PATCH_FIELDS: SourceFields = SourceFields { refresh_policy: "refresh_policy", ..CREATE_FIELDS };

/// `initial_data` for a source of `source_type`, as the domain's material.
///
/// # Errors
/// One entry per bad key: not an object, an unknown key, a value that is not a string
/// (or, for `source_ids`, an array of strings), a missing key, `url` and `uri` differing.
pub fn read(source_type: SourceType, raw: &Value) -> Result<SourceMaterial, Vec<FieldError>> {
    let Some(object) = raw.as_object() else {
        return Err(vec![FieldError::new("initial_data", "must be an object")]);
    };
    let mut violations = Violations::default();
    let known: &[&str] = match source_type {
        SourceType::Uri => &["url", "uri"],
        SourceType::File | SourceType::Content => &["data"],
        SourceType::Composition => &["source_ids"],
    };
    for key in object.keys().filter(|key| !known.contains(&key.as_str())) {
        violations.add(format!("initial_data.{key}"), format!("is not a field of a {source_type} source"));
    }
    let mut text = |key: &str| match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            violations.add(format!("initial_data.{key}"), "must be a string");
            None
        }
    };
    let material = match source_type {
        SourceType::Uri => match (text("url"), text("uri")) {
            (Some(url), Some(uri)) if url != uri => {
                violations.add("initial_data.uri", "must equal url when both are given");
                None
            }
            (Some(url), _) | (None, Some(url)) => Some(SourceMaterial::Uri { url }),
            (None, None) => {
                if !object.contains_key("url") && !object.contains_key("uri") {
                    violations.add("initial_data.url", "is required");
                }
                None
            }
        },
        SourceType::File | SourceType::Content => match text("data") {
            Some(data) if source_type == SourceType::File => Some(SourceMaterial::File { file_key: data }),
            Some(data) => Some(SourceMaterial::Content { data }),
            None => {
                if object.get("data").is_none_or(Value::is_null) {
                    violations.add("initial_data.data", "is required");
                }
                None
            }
        },
        SourceType::Composition => members(object.get("source_ids"), &mut violations),
    };
    match (material, violations.is_empty()) {
        (Some(material), true) => Ok(material),
        _ => Err(violations.into_details()),
    }
}

fn members(raw: Option<&Value>, violations: &mut Violations) -> Option<SourceMaterial> {
    let path = "initial_data.source_ids";
    let items = match raw {
        None | Some(Value::Null) => {
            violations.add(path, "is required");
            return None;
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            violations.add(path, "must be an array of source ids");
            return None;
        }
    };
    let mut source_ids = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(id) => source_ids.push(id.to_owned()),
            None => violations.add(format!("{path}[{index}]"), "must be a UUID string"),
        }
    }
    violations.is_empty().then_some(SourceMaterial::Composition { source_ids })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(result: Result<SourceMaterial, Vec<FieldError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn uri_takes_url_or_uri_and_requires_them_equal() {
        let url = SourceMaterial::Uri { url: "https://example.com/a".into() };
        assert_eq!(read(SourceType::Uri, &json!({"url": "https://example.com/a"})).unwrap(), url);
        assert_eq!(read(SourceType::Uri, &json!({"uri": "https://example.com/a"})).unwrap(), url);
        let both = json!({"url": "https://a.example/", "uri": "https://a.example/"});
        assert!(read(SourceType::Uri, &both).is_ok());
        let differ = json!({"url": "https://a.example/", "uri": "https://b.example/"});
        assert_eq!(fields(read(SourceType::Uri, &differ)), ["initial_data.uri"]);
        assert_eq!(fields(read(SourceType::Uri, &json!({}))), ["initial_data.url"]);
        assert_eq!(fields(read(SourceType::Uri, &json!({"url": 3}))), ["initial_data.url"]);
        assert_eq!(fields(read(SourceType::Uri, &json!("x"))), ["initial_data"]);
    }

    #[test]
    fn unknown_keys_are_named_with_the_missing_ones() {
        assert_eq!(
            fields(read(SourceType::Content, &json!({"text": "x"}))),
            ["initial_data.text", "initial_data.data"],
            "an unknown key is named, and the missing one"
        );
        assert_eq!(
            fields(read(SourceType::Uri, &json!({"url": "https://example.com", "depth": 2}))),
            ["initial_data.depth"]
        );
    }

    #[test]
    fn members_must_be_an_array_of_strings() {
        let id = uuid::Uuid::now_v7().to_string();
        assert!(read(SourceType::Composition, &json!({"source_ids": [id]})).is_ok());
        assert_eq!(
            fields(read(SourceType::Composition, &json!({"source_ids": [id, 3]}))),
            ["initial_data.source_ids[1]"]
        );
        assert_eq!(fields(read(SourceType::Composition, &json!({"source_ids": "x"}))), ["initial_data.source_ids"]);
    }
}
