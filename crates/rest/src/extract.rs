//! Request extractors that turn every malformed input into the contract's 400 (or
//! 401/413/415) with field-level details, instead of axum's plain-text rejections.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{StatusCode, header, request::Parts},
};
use ctxd_domain::{FieldError, model::User};
use serde::de::DeserializeOwned;

use crate::{AppState, error::ApiError};

/// The authenticated user behind `Authorization: Bearer <api_key>`.
#[derive(Debug, Clone)]
pub struct Auth(pub User);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    /// The access middleware let the request in already; this only hands its user to
    /// the handler.
    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<User>()
            .cloned()
            .map(Auth)
            .ok_or_else(|| ApiError::from(ctxd_domain::Error::Unauthenticated(ctxd_domain::services::access::MISSING)))
    }
}

/// A JSON body that must be present.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// A JSON body where an empty body (or none, or `null`) means `T::default()`;
/// whitespace alone is a 400.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid("body", "a JSON object is required"));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(request, state).await?;
        // Nothing at all, or JSON's null, is "no body". Whitespace alone is neither a
        // missing body nor a JSON text: it is refused like any other malformed body.
        if bytes.is_empty() || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid("body", "must be a JSON object, null, or empty"));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// A required JSON body plus the SHA-256 (hex) of its bytes, for idempotency checks.
#[derive(Debug)]
pub struct HashedJson<T>(pub T, pub String);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for HashedJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        use sha2::{Digest, Sha256};
        let bytes = json_bytes(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid("body", "a JSON object is required"));
        }
        let hash = hex::encode(Sha256::digest(&bytes));
        parse_json(&bytes).map(|value| HashedJson(value, hash))
    }
}

/// Reads the body after checking its declared type. A body with no `Content-Type` is
/// accepted as JSON, since many clients omit it for small bodies; any other declared
/// type is a 415.
async fn json_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
        let is_json = content_type
            .to_str()
            .ok()
            .and_then(|ct| ct.split(';').next())
            .map(|essence| {
                let essence = essence.trim().to_ascii_lowercase();
                essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json"));
        }
    }
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large")
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "The request body could not be read")
        }
    })
}

/// Parses a request body. Every body of the API is a JSON object: serde's derived
/// structs also take an array of their fields in order (`["name", "description"]`),
/// which no client means to send, so anything but an object is refused here (and in
/// nested objects by [`object`]).
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        let valid = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
        let message = if valid { "must be a JSON object" } else { "malformed JSON: expected an object" };
        return Err(ApiError::invalid("body", message));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let detail = if inner.is_syntax() || inner.is_eof() {
            FieldError::new("body", format!("malformed JSON: {}", strip_position(&inner.to_string())))
        } else {
            field_error(&path, &strip_position(&inner.to_string()))
        };
        ApiError::from(ctxd_domain::Error::invalid_fields(vec![detail]))
    })?;
    // Trailing garbage after the object is malformed JSON too.
    deserializer.end().map_err(|_| ApiError::invalid("body", "malformed JSON: trailing characters"))?;
    Ok(value)
}

/// `deserialize_with` for an optional nested object: `null` or absent is `None`, an
/// object is read as `T`, and anything else (the array form serde's derive accepts
/// for structs) is refused. Field paths inside keep being reported, since the map is
/// read through the caller's (path-tracking) deserializer.
///
/// # Errors
/// The deserializer's error for any value but an object or null.
pub fn object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct ObjectVisitor<T>(std::marker::PhantomData<T>);

    impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for ObjectVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }

    deserializer.deserialize_any(ObjectVisitor(std::marker::PhantomData))
}

/// `deserialize_with` for an optional non-negative integer that also takes a number
/// written with a zero fraction (`60.0`): JSON Schema's `integer` is any number
/// without a fractional part, and some clients write every number as a float.
///
/// # Errors
/// The deserializer's error for a fraction, a negative number or anything else.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    struct WholeNumber;

    impl serde::de::Visitor<'_> for WholeNumber {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a non-negative whole number")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
            Ok(Some(value))
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
            u64::try_from(value).map(Some).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
        }

        fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Self::Value, E> {
            // 2^64 is the first float past u64's range.
            if value.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&value) {
                Ok(Some(value as u64))
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(value), &self))
            }
        }
    }

    deserializer.deserialize_any(WholeNumber)
}

/// serde reports a missing field at the parent's path; name the field itself instead.
fn field_error(path: &str, message: &str) -> FieldError {
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let field = if path == "." || path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
        return FieldError::new(field, "is required");
    }
    let field = if path == "." || path.is_empty() { "body".to_owned() } else { path.to_owned() };
    FieldError::new(field, message)
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters with the same field-level errors as bodies.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(deserializer).map(ApiQuery).map_err(|error| {
            let path = error.path().to_string();
            ApiError::from(ctxd_domain::Error::invalid_fields(vec![field_error(
                &path,
                &error.into_inner().to_string(),
            )]))
        })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// Parses a path segment as a typed id, naming the parameter in the 400.
pub fn path_id<T>(name: &str, raw: &str, parse: fn(&str, &str) -> Result<T, FieldError>) -> Result<T, ApiError> {
    parse(name, raw).map_err(|e| ApiError::from(ctxd_domain::Error::invalid_fields(vec![e])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        flag: bool,
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn fields_of(json: &str) -> Vec<(String, String)> {
        let error = parse_json::<Body>(json.as_bytes()).unwrap_err();
        error.details.iter().map(|d| (d.field.clone(), d.message.clone())).collect()
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        #[serde(default, deserialize_with = "object")]
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Sized {
        #[serde(default, deserialize_with = "whole_number")]
        size: Option<u64>,
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats_but_fractions_are_refused() {
        let size = |json: &str| parse_json::<Sized>(json.as_bytes()).map(|s| s.size);
        assert_eq!(size(r#"{"size": 60}"#).unwrap(), Some(60));
        assert_eq!(size(r#"{"size": 60.0}"#).unwrap(), Some(60));
        assert_eq!(size(r#"{"size": null}"#).unwrap(), None);
        assert_eq!(size(r#"{}"#).unwrap(), None);
        for bad in [r#"{"size": 60.5}"#, r#"{"size": -1}"#, r#"{"size": 1e30}"#, r#"{"size": "60"}"#] {
            assert_eq!(size(bad).unwrap_err().details[0].field, "size", "{bad}");
        }
    }

    #[test]
    fn only_objects_are_read_as_objects() {
        assert!(parse_json::<Outer>(br#"{"name": "x", "inner": {"count": 1}}"#).is_ok());
        assert!(parse_json::<Outer>(br#"{"name": "x", "inner": null}"#).is_ok());
        assert!(parse_json::<Outer>(br#"{"name": "x"}"#).is_ok());
        let top = parse_json::<Outer>(br#"["x", null]"#).unwrap_err();
        assert_eq!((top.details[0].field.as_str(), top.details[0].message.as_str()), ("body", "must be a JSON object"));
        let nested = parse_json::<Outer>(br#"{"name": "x", "inner": [1]}"#).unwrap_err();
        assert_eq!(nested.details[0].field, "inner");
        let deep = parse_json::<Outer>(br#"{"name": "x", "inner": {"count": "many"}}"#).unwrap_err();
        assert_eq!(deep.details[0].field, "inner.count", "paths inside a nested object are kept");
    }

    #[test]
    fn wrong_types_missing_fields_and_bad_syntax_name_the_field() {
        assert_eq!(fields_of(r#"{"flag": "yes", "inner": {"count": 1}}"#)[0].0, "flag");
        assert_eq!(fields_of(r#"{"flag": true, "inner": {"count": "x"}}"#)[0].0, "inner.count");
        assert_eq!(fields_of(r#"{"flag": true, "inner": {}}"#), [("inner.count".to_owned(), "is required".to_owned())]);
        assert_eq!(fields_of(r#"{"inner": {"count": 1}}"#)[0].0, "flag");
        assert_eq!(fields_of(r#"{"flag": tru"#)[0].0, "body");
        assert_eq!(fields_of(r#"{"flag": true, "inner": {"count": 1}} x"#)[0].0, "body");
        assert!(!fields_of(r#"{"flag": 1}"#)[0].1.contains("line"), "positions are noise for API users");
    }

    mod bodies {
        //! Property tests of request bodies: whatever arrives (any JSON, nested past
        //! serde_json's limit, NUL and lone surrogates in strings, huge numbers, bytes
        //! that are not JSON), reading it never panics and a refusal names a field.

        use axum::http::StatusCode;
        use proptest::prelude::*;

        use super::super::parse_json;
        use crate::dto::{
            ApiKeyIn, CollectionIn, CollectionPatchIn, FastForwardIn, RefreshIn, ReprocessIn, SourceCreateIn,
            SourcePatchIn, SpaceIn, UploadIn,
        };

        fn json_value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
                "[a-zA-Z_ \\x00\\u{1b}\\u{feff}]{0,12}".prop_map(serde_json::Value::from),
                prop_oneof![
                    Just("URI"),
                    Just("FILE"),
                    Just("CONTENT"),
                    Just("COMPOSITION"),
                    Just("INTERVAL"),
                    Just("MANUAL")
                ]
                .prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(6, 48, 6, |inner| {
                let keys = prop_oneof![
                    Just("type"),
                    Just("name"),
                    Just("description"),
                    Just("initial_data"),
                    Just("instructions"),
                    Just("refresh_policy"),
                    Just("mode"),
                    Just("interval_seconds"),
                    Just("data"),
                    Just("url"),
                    Just("source_ids"),
                    Just("collectionId"),
                    Just("parentId"),
                    Just("postback_url"),
                    Just("size"),
                    Just("filename"),
                    Just("contentType"),
                    Just("expiration_date"),
                    Just("force"),
                    Just("x")
                ];
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                    prop::collection::btree_map(keys.prop_map(str::to_owned), inner, 0..6)
                        .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
                ]
            })
        }

        /// Reads `bytes` as every request body type.
        fn read_everywhere(bytes: &[u8]) {
            fn one<T: serde::de::DeserializeOwned>(bytes: &[u8]) {
                if let Err(error) = parse_json::<T>(bytes) {
                    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
                    assert!(!error.details.is_empty() && !error.details[0].field.is_empty());
                }
            }
            one::<SpaceIn>(bytes);
            one::<CollectionIn>(bytes);
            one::<CollectionPatchIn>(bytes);
            one::<SourceCreateIn>(bytes);
            one::<SourcePatchIn>(bytes);
            one::<FastForwardIn>(bytes);
            one::<RefreshIn>(bytes);
            one::<ReprocessIn>(bytes);
            one::<ApiKeyIn>(bytes);
            one::<UploadIn>(bytes);
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn any_json_is_read_or_refused_with_a_field(value in json_value()) {
                read_everywhere(value.to_string().as_bytes());
            }

            #[test]
            fn any_bytes_are_read_or_refused_with_a_field(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                read_everywhere(&bytes);
            }

            #[test]
            fn nesting_past_the_parser_limit_is_refused(depth in 100usize..20_000, object in any::<bool>()) {
                let (open, close) = if object { ("{\"instructions\":", "}") } else { ("[", "]") };
                let body = format!("{{\"name\": {}1{}}}", open.repeat(depth), close.repeat(depth));
                read_everywhere(body.as_bytes());
                let error = parse_json::<SpaceIn>(body.as_bytes()).unwrap_err();
                prop_assert_eq!(error.status(), StatusCode::BAD_REQUEST);
            }
        }
    }
}
