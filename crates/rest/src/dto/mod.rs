//! Wire types of the REST API (request bodies, responses) and their conversions to
//! and from the domain. Field casing follows Ctxfy's mix, as the contract fixes it.
//!
//! One module per resource, as in `routes/`; what they share (pagination, times,
//! the schemas of enums and text fields) lives here.

mod api_keys;
mod collections;
mod operations;
mod outputs;
mod postbacks;
mod sources;
mod spaces;
mod uploads;

use chrono::{DateTime, SecondsFormat, Utc};
use ctxd_domain::{
    ids::CollectionId,
    model::{
        ApiKey, Artifact, ArtifactChanges, ArtifactKind, Collection, CollectionNode, Context, Page, PageType,
        RefreshMode, RefreshPolicy, Run, RunKind, RunOutcome, RunStatus, Source, SourceType, Space,
    },
    services::{
        FastForwardRequest, ListedRevision, NewSource, RefreshPolicyInput, RefreshRequest, ReprocessRequest,
        SourcePatch,
    },
    state::SourceStatus,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use utoipa::{
    IntoParams, ToSchema,
    openapi::{Object, ObjectBuilder, Type, schema::SchemaType},
};

/// OpenAPI schemas for the domain's wire enums, built from their `ALL` lists so the
/// document can never disagree with what the server accepts.
macro_rules! enum_schema {
    ($($fn_name:ident => $ty:ty),* $(,)?) => {$(
        pub(crate) fn $fn_name() -> Object {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(<$ty>::ALL.iter().map(|v| v.as_str())))
                .build()
        }
    )*};
}

enum_schema!(
    artifact_kind_schema => ArtifactKind,
    source_type_schema => SourceType,
    source_status_schema => SourceStatus,
    run_kind_schema => RunKind,
    run_status_schema => RunStatus,
    refresh_mode_schema => RefreshMode,
);

/// A run's outcome (from [`RunOutcome::ALL`]) or null.
pub(crate) fn nullable_run_outcome_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(RunOutcome::ALL.iter().map(|v| Value::from(v.as_str())).chain([Value::Null])))
        .build()
}

/// A string schema of `min..=max` characters matching `pattern`, or null.
fn text_schema(min: usize, max: usize, pattern: &str, nullable: bool) -> Object {
    let kind = if nullable { SchemaType::from_iter([Type::String, Type::Null]) } else { SchemaType::new(Type::String) };
    ObjectBuilder::new().schema_type(kind).min_length(Some(min)).max_length(Some(max)).pattern(Some(pattern)).build()
}

/// No control characters (what `char::is_control` finds), as names must be.
const NO_CONTROL: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";
/// No control characters and something besides white space.
const NOT_BLANK: &str = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$";
/// No NUL (descriptions may hold line breaks and tabs).
const NO_NUL: &str = r"^[^\x00]*$";

/// A space or collection name (`model::check_name`, 1..=200).
pub(crate) fn name_schema() -> Object {
    text_schema(1, 200, NOT_BLANK, false)
}

/// A name that may be left out (null keeps the current one).
pub(crate) fn optional_name_schema() -> Object {
    text_schema(1, 200, NOT_BLANK, true)
}

/// A source's or key's name: 0..=200 characters, no control characters.
pub(crate) fn label_schema() -> Object {
    text_schema(0, 200, NO_CONTROL, true)
}

/// A description: up to 10,000 characters, no NUL.
pub(crate) fn description_schema() -> Object {
    text_schema(0, 10_000, NO_NUL, true)
}

/// An upload's file name: 1..=255 characters, not blank, no control characters.
pub(crate) fn filename_schema() -> Object {
    text_schema(1, 255, NOT_BLANK, false)
}

/// The `language` filter: up to 50 characters, no control characters.
pub(crate) fn language_schema() -> Object {
    text_schema(0, 50, NO_CONTROL, false)
}

/// The `q` search words: up to 200 characters, no NUL.
pub(crate) fn query_schema() -> Object {
    text_schema(0, 200, NO_NUL, false)
}

/// RFC 3339 UTC with `Z`, millisecond precision.
fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn serialize_time<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*at))
}

fn serialize_opt_time<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serializer.serialize_str(&rfc3339(*at)),
        None => serializer.serialize_none(),
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`) for
/// PATCH bodies.
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

// ---------------------------------------------------------------------------------
// Pagination

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 10000000)]
    pub page: Option<u64>,
    /// Items per page, 1..=100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
    pub pages: u64,
}

impl<T> From<&Page<T>> for Pagination {
    fn from(page: &Page<T>) -> Self {
        Pagination { page: page.request.page, per_page: page.request.per_page, total: page.total, pages: page.pages() }
    }
}

pub use api_keys::*;
pub use collections::*;
pub use operations::*;
pub use outputs::*;
pub use postbacks::*;
pub use sources::*;
pub use spaces::*;
pub use uploads::*;
