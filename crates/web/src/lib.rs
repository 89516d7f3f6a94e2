//! The web console: server-rendered pages (maud) over the same use cases as REST, gRPC
//! and MCP, served by `ctxd serve` at `/`. A page works without JavaScript; a little
//! of it (`assets/console.js`) follows a source's status live and copies text.
//!
//! Sign-in exchanges an API key for a session cookie (HttpOnly, SameSite=Strict,
//! Secure over https; the domain's `ConsoleSessions` signs and checks it); every form
//! post carries the session's CSRF token. The key never appears in a URL or a page.

mod diff;
mod handlers;
mod highlight;
mod markdown;
mod pages;
mod source_page;

use axum::{
    Router,
    extract::{FromRequestParts, OriginalUri},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use ctxd_domain::{
    Error,
    services::{UseCases, console::ConsoleSession},
};
use tokio_util::sync::CancellationToken;

/// The session cookie's name.
pub const COOKIE: &str = "ctxd_session";

/// What the console needs besides the use cases.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Mark the cookie `Secure` (the console is reached over https).
    pub secure_cookies: bool,
}

#[derive(Clone)]
pub(crate) struct Console {
    pub use_cases: UseCases,
    pub settings: WebSettings,
    /// Ends live status streams when the server stops.
    pub stopping: CancellationToken,
}

/// The console's routes, to merge into the REST router.
pub fn router(use_cases: UseCases, settings: WebSettings, stopping: CancellationToken) -> Router {
    use handlers::*;
    let console = Console { use_cases, settings, stopping };
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/spaces", get(spaces_page).post(create_space))
        .route("/spaces/{id}", get(space_page))
        .route("/spaces/{id}/rename", post(rename_space))
        .route("/spaces/{id}/delete", post(delete_space))
        .route("/spaces/{id}/sources", post(add_source))
        .route("/spaces/{id}/collections", post(create_collection))
        .route("/uploads", post(presign_upload))
        .route("/spaces/{id}/search", get(search_page))
        .route("/sources/{id}", get(source_page))
        .route("/sources/{id}/live", get(live))
        .route("/sources/{id}/diff", get(diff_page))
        .route("/sources/{id}/{action}", post(source_action))
        .route("/keys", get(keys_page).post(create_key))
        .route("/keys/{id}/revoke", post(revoke_key))
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
        .with_state(console)
}

/// A signed-in request: the session from the cookie, or a redirect to sign-in that
/// comes back here afterwards.
pub(crate) struct Signed(pub ConsoleSession);

impl FromRequestParts<Console> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        // After signing in again the browser comes back here; a form post cannot be
        // replayed, so it comes back to the page the form was on.
        let back = if parts.method == axum::http::Method::GET {
            OriginalUri::from_request_parts(parts, console)
                .await
                .map(|uri| uri.0.path_and_query().map(ToString::to_string).unwrap_or_default())
                .unwrap_or_default()
        } else {
            parts
                .headers
                .get(header::REFERER)
                .and_then(|referer| referer.to_str().ok())
                .and_then(|referer| url::Url::parse(referer).ok())
                .map(|url| match url.query() {
                    Some(query) => format!("{}?{query}", url.path()),
                    None => url.path().to_owned(),
                })
                .unwrap_or_default()
        };
        let Some(token) = cookie(&parts.headers) else { return Err(to_sign_in(&back)) };
        match console.use_cases.console.resume(&token).await {
            Ok(session) => Ok(Signed(session)),
            Err(Error::Unauthenticated(_)) => Err(to_sign_in(&back)),
            Err(error) => Err(PageError::from(error).into_response()),
        }
    }
}

/// The session token the browser sent, if any.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|value| value.to_str().ok()).find_map(|value| {
        value.split(';').find_map(|pair| {
            let (name, token) = pair.trim().split_once('=')?;
            (name == COOKIE && !token.is_empty()).then(|| token.to_owned())
        })
    })
}

/// The sign-in page, asked to come back to `back` (a path on this console).
fn to_sign_in(back: &str) -> Response {
    let target = if back.is_empty() || back == "/" {
        "/sign-in".to_owned()
    } else {
        format!("/sign-in?next={}", url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>())
    };
    Redirect::to(&target).into_response()
}

/// Where to go after signing in: a path on this console, never another site.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/spaces".to_owned(),
    }
}

/// `Set-Cookie` for a session token, or to forget one (`None`).
pub(crate) fn session_cookie(settings: &WebSettings, token: Option<(&str, i64)>) -> HeaderValue {
    let secure = if settings.secure_cookies { "; Secure" } else { "" };
    let value = match token {
        Some((token, max_age)) => {
            format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
        }
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value).expect("a session token is base64url and digits")
}

/// A domain error as a page: 404 for what is missing or someone else's, a sign-in
/// for an ended session, the message for the rest.
#[derive(Debug)]
pub(crate) struct PageError(Error);

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        Self(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        use ctxd_domain::ErrorKind;
        let status = match self.0.kind() {
            ErrorKind::Unauthenticated => return to_sign_in(""),
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match &self.0 {
            Error::Internal(cause) => tracing::error!(error = %cause, "internal error in the console"),
            Error::Unavailable(cause) => tracing::warn!(error = %cause, "dependency unavailable in the console"),
            _ => {}
        }
        (status, pages::error_page(status, &self.0)).into_response()
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../assets/console.css"))
}

async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../assets/console.js"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/sources/x?tab=runs")), "/sources/x?tab=runs");
        for hostile in ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/a\nb"] {
            assert_eq!(safe_next(Some(hostile)), "/spaces", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/spaces");
    }

    #[test]
    fn the_session_cookie_is_http_only_and_strict() {
        let set = session_cookie(&WebSettings { secure_cookies: true }, Some(("t0k3n", 60)));
        assert_eq!(set.to_str().unwrap(), "ctxd_session=t0k3n; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure");
        let cleared = session_cookie(&WebSettings::default(), None);
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; ctxd_session=abc.def; b=2"));
        assert_eq!(cookie(&headers).as_deref(), Some("abc.def"));
    }
}
