//! Domain errors as MCP answers, decided once per kind: what the model should read
//! (a source not found, a bad argument) is a tool result with `isError`; what breaks
//! the call itself (no credential, over the rate limit, a dependency down) is a
//! JSON-RPC error.

use ctxd_domain::{Error, ErrorKind};
use rmcp::{
    ErrorData,
    model::{CallToolResult, ContentBlock, ErrorCode},
};
use serde_json::json;

/// The JSON-RPC code of each kind, and whether a tool reports it to the model.
fn code_of(kind: ErrorKind) -> (ErrorCode, bool) {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::PayloadTooLarge => (ErrorCode::INVALID_PARAMS, true),
        ErrorKind::NotFound | ErrorKind::Gone => (ErrorCode::RESOURCE_NOT_FOUND, true),
        ErrorKind::Conflict => (ErrorCode::INVALID_REQUEST, true),
        ErrorKind::Unauthenticated | ErrorKind::Forbidden | ErrorKind::RateLimited => {
            (ErrorCode::INVALID_REQUEST, false)
        }
        ErrorKind::Unavailable | ErrorKind::Internal => (ErrorCode::INTERNAL_ERROR, false),
    }
}

/// The HTTP status of a refusal at the door of `/mcp` (before any JSON-RPC), as MCP's
/// authorization rules want it: 401 for a bad credential, 429 over the limit.
pub fn http_status(kind: ErrorKind) -> http::StatusCode {
    use http::StatusCode;
    match kind {
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::InvalidInput | ErrorKind::PayloadTooLarge => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound | ErrorKind::Gone => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The message and the invalid fields, as every transport words them.
fn data_of(error: &Error) -> serde_json::Value {
    let details: Vec<_> = error.details().iter().map(|d| json!({"field": d.field, "message": d.message})).collect();
    json!({"kind": format!("{:?}", error.kind()), "details": details})
}

fn message_of(error: &Error) -> String {
    let mut message = error.public_message();
    for detail in error.details() {
        message.push_str(&format!("; {}: {}", detail.field, detail.message));
    }
    message
}

/// A JSON-RPC error for `error`.
pub fn protocol(error: Error) -> ErrorData {
    log(&error);
    let (code, _) = code_of(error.kind());
    ErrorData::new(code, message_of(&error), Some(data_of(&error)))
}

/// A tool's answer for `error`: a result with `isError` the model reads, or a
/// JSON-RPC error.
pub fn tool_result(error: Error) -> Result<CallToolResult, ErrorData> {
    let (_, to_model) = code_of(error.kind());
    if !to_model {
        return Err(protocol(error));
    }
    let mut result = CallToolResult::error(vec![ContentBlock::text(message_of(&error))]);
    let mut data = data_of(&error);
    data["message"] = json!(error.public_message());
    result.structured_content = Some(json!({"error": data}));
    Ok(result)
}

/// Infrastructure failures are logged with their cause; the caller gets a fixed sentence.
fn log(error: &Error) {
    match error {
        Error::Internal(cause) => tracing::error!(error = %cause, "internal error in an MCP call"),
        Error::Unavailable(cause) => tracing::warn!(error = %cause, "dependency unavailable in an MCP call"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_model_can_act_on_is_a_tool_error_and_the_rest_protocol_errors() {
        let not_found = tool_result(Error::NotFound("source")).unwrap();
        assert_eq!(not_found.is_error, Some(true));
        assert_eq!(not_found.content[0].as_text().unwrap().text, "The requested source was not found");
        let invalid = tool_result(Error::invalid("source_id", "not an id")).unwrap();
        assert!(invalid.content[0].as_text().unwrap().text.contains("source_id: not an id"));
        assert_eq!(invalid.structured_content.unwrap()["error"]["details"][0]["field"], "source_id");
        let refused = tool_result(Error::Unauthenticated("Please provide a valid API token")).unwrap_err();
        assert_eq!(refused.code, ErrorCode::INVALID_REQUEST);
        let down = tool_result(Error::Unavailable("db".into())).unwrap_err();
        assert_eq!(down.code, ErrorCode::INTERNAL_ERROR);
        assert_eq!(protocol(Error::NotFound("source")).code, ErrorCode::RESOURCE_NOT_FOUND);
    }
}
