//! `X-Request-Id`: echoed when the client sent a sane one, else `req_<random>`; kept in
//! a task-local so error bodies and logs can quote it.

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use rand::Rng;

pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, or `req_unknown` outside one.
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "req_unknown".to_owned())
}

/// Runs `work` as a task of its own that finishes even if the request's connection
/// drops (axum then drops the handler's future), with the request's id and span.
pub fn spawn_detached<F>(work: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::spawn(REQUEST_ID.scope(current(), tracing::Instrument::instrument(work, span)))
}

pub(crate) fn generate() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let suffix: String = (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("req_{suffix}")
}

/// A client-supplied id is echoed only when it is short printable ASCII, so it cannot
/// inject anything into logs or headers.
fn acceptable(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok = !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| text.to_owned())
}

pub async fn middleware(request: Request, next: Next) -> Response {
    let id = request.headers().get(&HEADER).and_then(acceptable).unwrap_or_else(generate);
    let header_value = HeaderValue::from_str(&id).expect("ids are printable ASCII");
    let span =
        tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = REQUEST_ID.scope(id, tracing::Instrument::instrument(next.run(request), span)).await;
    response.headers_mut().insert(HEADER.clone(), header_value);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_the_prefix_and_client_ids_are_sanitised() {
        assert!(generate().starts_with("req_"));
        assert_ne!(generate(), generate());
        assert_eq!(acceptable(&HeaderValue::from_static("abc-123")), Some("abc-123".into()));
        assert_eq!(acceptable(&HeaderValue::from_static("has space")), None);
        assert_eq!(acceptable(&HeaderValue::from_str(&"x".repeat(129)).unwrap()), None);
    }
}
