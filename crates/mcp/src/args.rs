//! Tool arguments that name the argument at fault. rmcp's own `Parameters` reports
//! serde's message alone ("invalid type: integer `42`, expected a string"), which does
//! not tell a model which argument to fix; this one reads through
//! `serde_path_to_error` and prefixes the path ("source_id: invalid type: ...").
//!
//! rmcp's `#[tool]` macro finds a tool's input type by a parameter whose type is
//! named `Parameters` and takes its JSON Schema from it, so this type keeps that name
//! and answers its inner type's schema.

use std::borrow::Cow;

use rmcp::{
    ErrorData,
    handler::server::{common::FromContextPart, tool::ToolCallContext},
};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;

/// A tool's arguments, deserialized with the path of any bad value.
#[derive(Debug)]
pub struct Parameters<T>(pub T);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<S>) -> Result<Self, ErrorData> {
        let arguments = serde_json::Value::Object(context.arguments.take().unwrap_or_default());
        parse(arguments).map(Parameters).map_err(|message| ErrorData::invalid_params(message, None))
    }
}

/// `arguments` as `T`, or a message that starts with the path of the bad value.
pub fn parse<T: DeserializeOwned>(arguments: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(arguments).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        // Missing and unknown fields are reported at the top, and serde names them.
        if path == "." { inner.to_string() } else { format!("{path}: {inner}") }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tools::{GetContentArgs, SourceArgs};

    #[test]
    fn every_complaint_names_the_argument() {
        let wrong_type = parse::<SourceArgs>(json!({"source_id": 42})).unwrap_err();
        assert_eq!(wrong_type, "source_id: invalid type: integer `42`, expected a string");
        let missing = parse::<SourceArgs>(json!({})).unwrap_err();
        assert!(missing.contains("`source_id`"), "{missing}");
        let unknown = parse::<SourceArgs>(json!({"source_id": "x", "colour": "red"})).unwrap_err();
        assert!(unknown.contains("`colour`"), "{unknown}");
        let negative = parse::<GetContentArgs>(json!({"source_id": "x", "start_line": -1})).unwrap_err();
        assert!(negative.starts_with("start_line: "), "{negative}");
    }

    #[test]
    fn the_schema_is_the_arguments_own() {
        let schema = rmcp::handler::server::common::schema_for_input::<Parameters<SourceArgs>>().unwrap();
        assert_eq!(schema["type"], "object");
        assert!(schema["properties"]["source_id"].is_object(), "{schema:?}");
        assert_eq!(schema["required"], json!(["source_id"]));
    }
}
