//! The console's handlers: read the form or path, call one use case, render a page or
//! redirect (303 after a post, so a reload never posts twice).

use std::{convert::Infallible, time::Duration};

use axum::{
    Form,
    extract::{Path, Query, RawForm, State},
    http::{HeaderMap, StatusCode, header},
    response::{
        IntoResponse, Redirect, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use ctxd_domain::{
    Error,
    ids::{ApiKeyId, CollectionId, SourceId, SpaceId},
    model::{PageRequest, RefreshMode, SourceMaterial, SourceType},
    ports::SourceFilter,
    services::{
        FastForwardRequest, NewApiKey, NewCollection, NewSource, RefreshPolicyInput, ReprocessRequest, SpaceInput,
        console::ConsoleSession,
    },
    state::SourceStatus,
};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use crate::{
    Console, PageError, PageResult, Signed, cookie,
    pages::{self, FormState},
    safe_next, session_cookie,
};

/// The largest page of anything a console page lists at once.
const LISTED: u64 = 100;

fn first_page(per_page: u64) -> PageRequest {
    PageRequest::new(Some(1), Some(per_page)).expect("a valid page")
}

fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

fn id<T: std::str::FromStr>(raw: &str, what: &'static str) -> Result<T, PageError> {
    raw.parse().map_err(|_| PageError::from(Error::NotFound(what)))
}

/// Refuses a post whose CSRF token is not the session's.
fn check(console: &Console, session: &ConsoleSession, csrf: &str) -> Result<(), PageError> {
    console.use_cases.console.check_csrf(session, csrf).map_err(PageError::from)
}

/// What a refused form shows again: its values and the errors by field.
fn refused(values: &[(&str, &Option<String>)], error: Error) -> Result<FormState, PageError> {
    let (errors, message) = match error {
        Error::Validation { details, .. } => (details, "Please correct the fields marked below.".to_owned()),
        Error::PayloadTooLarge(message) | Error::Conflict(message) => (Vec::new(), message),
        other => return Err(other.into()),
    };
    let values = values.iter().filter_map(|(k, v)| v.as_ref().map(|v| ((*k).to_owned(), v.clone()))).collect();
    Ok(FormState { values, errors, message: Some(message) })
}

fn nonempty(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

pub async fn home(State(console): State<Console>, headers: HeaderMap) -> Response {
    match cookie(&headers) {
        Some(token) if console.use_cases.console.resume(&token).await.is_ok() => see_other("/spaces"),
        _ => see_other("/sign-in"),
    }
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn sign_in_page(Query(query): Query<NextQuery>) -> Response {
    pages::sign_in(None, &safe_next(query.next.as_deref())).into_response()
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    key: String,
    next: Option<String>,
}

pub async fn sign_in(State(console): State<Console>, Form(form): Form<SignInForm>) -> PageResult {
    let next = safe_next(form.next.as_deref());
    match console.use_cases.console.sign_in(&form.key).await {
        Ok((token, session)) => {
            let max_age = (session.expires_at - chrono::Utc::now()).num_seconds().max(0);
            let mut response = see_other(&next);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&console.settings, Some((&token, max_age))));
            Ok(response)
        }
        Err(Error::Unauthenticated(message)) => {
            Ok((StatusCode::UNAUTHORIZED, pages::sign_in(Some(message), &next)).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(console): State<Console>,
    Signed(session): Signed,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    check(&console, &session, &form.csrf)?;
    let mut response = see_other("/sign-in");
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&console.settings, None));
    Ok(response)
}

pub async fn spaces_page(State(console): State<Console>, Signed(session): Signed) -> PageResult {
    render_spaces(&console, &session, &FormState::default(), StatusCode::OK).await
}

async fn render_spaces(
    console: &Console,
    session: &ConsoleSession,
    form: &FormState,
    status: StatusCode,
) -> PageResult {
    let spaces = console.use_cases.spaces.list(&session.user, first_page(LISTED)).await?;
    Ok((status, pages::spaces(session, &spaces.items, spaces.total, form)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SpaceForm {
    #[serde(default)]
    csrf: String,
    name: Option<String>,
    description: Option<String>,
}

pub async fn create_space(
    State(console): State<Console>,
    Signed(session): Signed,
    Form(form): Form<SpaceForm>,
) -> PageResult {
    check(&console, &session, &form.csrf)?;
    let input = SpaceInput { name: form.name.clone().unwrap_or_default(), description: nonempty(&form.description) };
    match console.use_cases.spaces.create(&session.user, input).await {
        Ok(space) => Ok(see_other(&format!("/spaces/{}", space.id))),
        Err(error) => {
            let state = refused(&[("name", &form.name), ("description", &form.description)], error)?;
            render_spaces(&console, &session, &state, StatusCode::BAD_REQUEST).await
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct SpaceQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    collection: Option<String>,
    /// Show soft-deleted sources too (to restore them).
    deleted: Option<String>,
}

pub async fn space_page(
    State(console): State<Console>,
    Signed(session): Signed,
    Path(raw): Path<String>,
    Query(query): Query<SpaceQuery>,
) -> PageResult {
    let space = id::<SpaceId>(&raw, "space")?;
    render_space(&console, &session, space, &query, &FormState::default(), StatusCode::OK).await
}

async fn render_space(
    console: &Console,
    session: &ConsoleSession,
    id: SpaceId,
    query: &SpaceQuery,
    form: &FormState,
    status: StatusCode,
) -> PageResult {
    let space = console.use_cases.spaces.get(&session.user, id).await?;
    let status_filter = query.status.as_deref().unwrap_or("");
    let kind_filter = query.kind.as_deref().unwrap_or("");
    let collection = query.collection.as_deref().and_then(|c| c.parse::<CollectionId>().ok());
    let deleted = query.deleted.as_deref().is_some_and(|d| !d.is_empty());
    let filter = SourceFilter {
        status: status_filter.parse::<SourceStatus>().ok(),
        source_type: kind_filter.parse::<SourceType>().ok(),
        collection_id: collection,
        include_deleted: deleted,
        ..SourceFilter::default()
    };
    let sources = console.use_cases.sources.list(&session.user, id, filter, first_page(LISTED)).await?;
    let tree = console.use_cases.collections.tree(&session.user, id).await?;
    let view = pages::SpaceView {
        space: &space,
        sources: &sources.items,
        total: sources.total,
        status: status_filter,
        kind: kind_filter,
        collections: &tree,
        collection,
        deleted,
    };
    Ok((status, pages::space(session, &view, form)).into_response())
}

pub async fn rename_space(
    State(console): State<Console>,
    Signed(session): Signed,
    Path(raw): Path<String>,
    Form(form): Form<SpaceForm>,
) -> PageResult {
    check(&console, &session, &form.csrf)?;
    let id = id::<SpaceId>(&raw, "space")?;
    let input = SpaceInput { name: form.name.clone().unwrap_or_default(), description: nonempty(&form.description) };
    match console.use_cases.spaces.replace(&session.user, id, input).await {
        Ok(_) => Ok(see_other(&format!("/spaces/{id}"))),
        Err(error) => {
            let state = refused(&[], error)?;
            render_space(&console, &session, id, &SpaceQuery::default(), &state, StatusCode::BAD_REQUEST).await
        }
    }
}

pub async fn delete_space(
    State(console): State<Console>,
    Signed(session): Signed,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    check(&console, &session, &form.csrf)?;
    console.use_cases.spaces.delete(&session.user, id::<SpaceId>(&raw, "space")?).await?;
    Ok(see_other("/spaces"))
}

/// The add-source form; `members` are the sources chosen for a composition.
#[derive(Debug, Default)]
pub struct SourceForm {
    csrf: String,
    url: Option<String>,
    text: Option<String>,
    name: Option<String>,
    collection: Option<String>,
    refresh_interval_seconds: Option<String>,
    postback_url: Option<String>,
    members: Vec<String>,
    /// An uploaded file's key (the page's script uploads the file first).
    file_key: Option<String>,
}

impl SourceForm {
    /// Reads the urlencoded body by hand: the composition's members repeat one field,
    /// which serde's form reader does not take.
    fn parse(body: &[u8]) -> Self {
        let mut form = SourceForm::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            let value = value.into_owned();
            match key.as_ref() {
                "csrf" => form.csrf = value,
                "url" => form.url = Some(value),
                "text" => form.text = Some(value),
                "name" => form.name = Some(value),
                "collection" => form.collection = Some(value),
                "refresh_interval_seconds" => form.refresh_interval_seconds = Some(value),
                "postback_url" => form.postback_url = Some(value),
                "member" => form.members.push(value),
                "file_key" => form.file_key = Some(value),
                _ => {}
            }
        }
        form
    }
}

pub async fn add_source(
    State(console): State<Console>,
    Signed(session): Signed,
    Path(raw): Path<String>,
    RawForm(body): RawForm,
) -> PageResult {
    let form = SourceForm::parse(&body);
    check(&console, &session, &form.csrf)?;
    let space = id::<SpaceId>(&raw, "space")?;
    let values = [
        ("url", &form.url),
        ("text", &form.text),
        ("name", &form.name),
        ("refresh_interval_seconds", &form.refresh_interval_seconds),
        ("postback_url", &form.postback_url),
    ];
    let request = source_request(&form);
    let created = match request {
        Ok(request) => console.use_cases.sources.create(&session.user, space, request).await,
        Err(error) => Err(error),
    };
    match created {
        Ok(source) => Ok(see_other(&format!("/sources/{}", source.id))),
        Err(error) => {
            let state = refused(&values, error)?;
            render_space(&console, &session, space, &SpaceQuery::default(), &state, StatusCode::BAD_REQUEST).await
        }
    }
}

/// The form as a source request, its fields named as the form names them.
fn source_request(form: &SourceForm) -> Result<NewSource, Error> {
    let text = form.text.clone().filter(|t| !t.trim().is_empty());
    let material = match (nonempty(&form.url), text, form.members.is_empty()) {
        (None, None, true) if nonempty(&form.file_key).is_some() => {
            SourceMaterial::File { file_key: nonempty(&form.file_key).unwrap_or_default() }
        }
        (Some(url), None, true) => SourceMaterial::Uri { url },
        (None, Some(data), true) => SourceMaterial::Content { data },
        (None, None, false) => SourceMaterial::Composition { source_ids: form.members.clone() },
        (None, None, true) => {
            return Err(Error::invalid("url", "give a web page's URL, paste text below, or choose sources to compose"));
        }
        _ => return Err(Error::invalid("url", "give one of: a URL, text, or sources to compose")),
    };
    let mut request = NewSource::new(material);
    request.fields.url = "url";
    request.fields.data = "text";
    request.fields.source_ids = "member";
    request.fields.file_key = "file";
    request.collection_id = nonempty(&form.collection)
        .map(|c| {
            c.parse::<CollectionId>().map_err(|_| Error::invalid("collection", "not one of this space's collections"))
        })
        .transpose()?;
    request.fields.postback_url = "postback_url";
    request.fields.refresh_policy = "refresh_interval_seconds";
    request.name = nonempty(&form.name);
    request.postback_url = nonempty(&form.postback_url);
    if let Some(raw) = nonempty(&form.refresh_interval_seconds) {
        let seconds =
            raw.parse::<u64>().map_err(|_| Error::invalid("refresh_interval_seconds", "a whole number of seconds"))?;
        request.refresh_policy =
            Some(RefreshPolicyInput { mode: RefreshMode::Interval, interval_seconds: Some(seconds) });
    }
    Ok(request)
}

#[derive(Debug, Deserialize)]
pub struct UploadRequest {
    filename: Option<String>,
    content_type: Option<String>,
    size: Option<u64>,
}

/// Presigns an upload for the page's script (JSON in, JSON out; the CSRF token comes
/// in the `x-csrf-token` header): the file then goes straight to the signed URL, S3's
/// or ctxd's own, and the form carries only its key.
pub async fn presign_upload(
    State(console): State<Console>,
    Signed(session): Signed,
    headers: HeaderMap,
    axum::Json(request): axum::Json<UploadRequest>,
) -> Response {
    let csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Err(error) = console.use_cases.console.check_csrf(&session, csrf) {
        return (StatusCode::FORBIDDEN, axum::Json(json!({"error": error.public_message()}))).into_response();
    }
    let upload = ctxd_domain::services::NewUpload {
        filename: request.filename,
        content_type: request.content_type,
        size: request.size,
    };
    match console.use_cases.uploads.presign(&session.user, upload).await {
        Ok(presigned) => {
            let url = match &presigned.target {
                ctxd_domain::services::UploadTarget::Direct(url) => url.to_string(),
                ctxd_domain::services::UploadTarget::Ctxd { query } => {
                    format!("/v1/files/{}?{query}", presigned.upload.file_key)
                }
            };
            axum::Json(json!({"upload_url": url, "file_key": presigned.upload.file_key})).into_response()
        }
        Err(error) => {
            let status = match error.kind() {
                ctxd_domain::ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                ctxd_domain::ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let message = format!(
                "{}{}",
                error.public_message(),
                error.details().iter().map(|d| format!("; {}: {}", d.field, d.message)).collect::<String>()
            );
            (status, axum::Json(json!({"error": message}))).into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CollectionForm {
    #[serde(default)]
    csrf: String,
    name: Option<String>,
    parent: Option<String>,
}

pub async fn create_collection(
    State(console): State<Console>,
    Signed(session): Signed,
    Path(raw): Path<String>,
    Form(form): Form<CollectionForm>,
) -> PageResult {
    check(&console, &session, &form.csrf)?;
    let space = id::<SpaceId>(&raw, "space")?;
    let parent = nonempty(&form.parent).map(|p| p.parse::<CollectionId>()).transpose();
    let created = match parent {
        Ok(parent_id) => {
            let input = NewCollection { name: form.name.clone().unwrap_or_default(), description: None, parent_id };
            console.use_cases.collections.create(&session.user, space, input).await
        }
        Err(_) => Err(Error::invalid("parent_id", "not one of this space's collections")),
    };
    match created {
        Ok(collection) => Ok(see_other(&format!("/spaces/{space}?collection={}", collection.id))),
        Err(error) => {
            let mut state = refused(&[("collection_name", &form.name)], error)?;
            // The form names its fields apart from the add-source form's.
            for detail in &mut state.errors {
                detail.field = format!("collection_{}", detail.field);
            }
            render_space(&console, &session, space, &SpaceQuery::default(), &state, StatusCode::BAD_REQUEST).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

pub async fn search_page(
    State(console): State<Console>,
    Signed(session): Signed,
    Path(raw): Path<String>,
    Query(query): Query<SearchQuery>,
) -> PageResult {
    let id = id::<SpaceId>(&raw, "space")?;
    let space = console.use_cases.spaces.get(&session.user, id).await?;
    let text = query.q.unwrap_or_default();
    let search = ctxd_domain::model::ArtifactQuery::new(None, None, Some(&text))?;
    let found = console.use_cases.outputs.search_artifacts(&session.user, id, &search, first_page(LISTED)).await?;
    Ok(pages::search(&session, &space, &text, &found.items, found.total).into_response())
}

pub async fn source_page(
    State(console): State<Console>,
    Signed(session): Signed,
    Path(raw): Path<String>,
) -> PageResult {
    let id = id::<SourceId>(&raw, "source")?;
    let user = &session.user;
    let outputs = &console.use_cases.outputs;
    let source = console.use_cases.sources.get(user, id).await?;
    // Outputs a source does not have yet (no context, no content) are simply absent.
    let context = optional(outputs.context(user, id, None).await)?;
    let artifacts = outputs.artifacts(user, id, None, first_page(LISTED)).await?;
    let runs = outputs.runs(user, id, first_page(20)).await?;
    let revisions = outputs.revisions(user, id, first_page(20)).await?;
    let content = optional(outputs.content(user, id, None, ctxd_domain::services::ContentFormat::Markdown).await)?;
    let content = content.map(|c| String::from_utf8_lossy(&c.bytes).into_owned());
    let postbacks = outputs.postbacks(user, id, first_page(20)).await?;
    let view = crate::source_page::SourceView {
        source: &source,
        context: context.as_ref(),
        artifacts: &artifacts.items,
        runs: &runs.items,
        revisions: &revisions.items,
        content: content.as_deref(),
        postbacks: &postbacks.items,
    };
    Ok(crate::source_page::source(&session, &view).into_response())
}

/// `Ok(None)` for what is not there (yet), other errors as they are.
fn optional<T>(result: ctxd_domain::Result<T>) -> Result<Option<T>, PageError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::NotFound(_) | Error::Gone(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The source's status as it changes (Server-Sent Events, cookie-authenticated like
/// every page; the REST stream at `/v1/sources/{id}/events` wants a Bearer key, which
/// a browser's `EventSource` cannot send).
pub async fn live(State(console): State<Console>, Signed(session): Signed, Path(raw): Path<String>) -> PageResult {
    let id = id::<SourceId>(&raw, "source")?;
    let Some(states) = console.use_cases.sources.watch(&session.user, id, false, None).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let events = states
        .map(|state| {
            let event = match state {
                Ok(source) => Event::default().event("source").json_data(json!({
                    "id": source.id.to_string(),
                    "status": source.status.as_str(),
                    "revision": source.revision,
                    "last_run": source.last_run.as_ref().map(|run| json!({"id": run.id.to_string(), "status": run.status.as_str()})),
                })),
                Err(_) => Ok(Event::default().event("gone").data("{}")),
            };
            Ok::<_, Infallible>(event.unwrap_or_else(|_| Event::default().event("gone").data("{}")))
        })
        .take_until(console.stopping.clone().cancelled_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    to: Option<u32>,
    from: Option<u32>,
    /// `split` for side by side.
    view: Option<String>,
}

pub async fn diff_page(
    State(console): State<Console>,
    Signed(session): Signed,
    Path(raw): Path<String>,
    Query(query): Query<DiffQuery>,
) -> PageResult {
    let id = id::<SourceId>(&raw, "source")?;
    let source = console.use_cases.sources.get(&session.user, id).await?;
    let to = query.to.or(source.revision).ok_or(Error::NotFound("revision"))?;
    let diff = console.use_cases.outputs.diff(&session.user, id, to, query.from).await?;
    let side_by_side = query.view.as_deref() == Some("split");
    Ok(pages::diff(&session, &source, &diff, side_by_side).into_response())
}

/// The actions' form: the CSRF token, and what reprocess and fast-forward take.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// Set by the reprocess form, whose unchecked boxes send nothing.
    flags: Option<String>,
    context: Option<String>,
    artifacts: Option<String>,
    /// Fast-forward: the continued conversation.
    text: Option<String>,
}

pub async fn source_action(
    State(console): State<Console>,
    Signed(session): Signed,
    Path((raw, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> PageResult {
    check(&console, &session, &form.csrf)?;
    let id = id::<SourceId>(&raw, "source")?;
    let sources = &console.use_cases.sources;
    let user = &session.user;
    let back = format!("/sources/{id}");
    let flagged = form.flags.is_some();
    match action.as_str() {
        "refresh" => drop(sources.refresh(user, id, Default::default()).await?),
        "reprocess" => {
            let request = ReprocessRequest {
                run_context_extraction: flagged.then_some(form.context.is_some()),
                run_artifact_extraction: flagged.then_some(form.artifacts.is_some()),
                update_existing: None,
            };
            drop(sources.reprocess(user, id, request).await?)
        }
        "fast-forward" => {
            let mut request = FastForwardRequest {
                input: SourceMaterial::Content { data: form.text.clone().unwrap_or_default() },
                fields: Default::default(),
                postback_url: None,
                run_context_extraction: None,
                run_artifact_extraction: None,
            };
            request.fields.data = "text";
            drop(sources.fast_forward(user, id, request).await?)
        }
        "cancel" => drop(sources.cancel(user, id).await?),
        "pin" => drop(sources.toggle_pin(user, id).await?),
        "restore" => {
            let space = sources.restore(user, id).await?.space_id;
            return Ok(see_other(&format!("/spaces/{space}")));
        }
        "delete" => {
            let space = sources.get(user, id).await?.space_id;
            sources.delete(user, id).await?;
            return Ok(see_other(&format!("/spaces/{space}")));
        }
        _ => return Err(Error::NotFound("action").into()),
    }
    Ok(see_other(&back))
}

pub async fn keys_page(State(console): State<Console>, Signed(session): Signed) -> PageResult {
    render_keys(&console, &session, None, &FormState::default(), StatusCode::OK).await
}

async fn render_keys(
    console: &Console,
    session: &ConsoleSession,
    issued: Option<&str>,
    form: &FormState,
    status: StatusCode,
) -> PageResult {
    let keys = console.use_cases.api_keys.list(&session.user, first_page(LISTED)).await?;
    // The page that shows a new secret must not be kept by a cache.
    let page = pages::keys(session, &keys.items, issued, form);
    Ok((status, [(header::CACHE_CONTROL, "no-store")], page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    name: Option<String>,
}

pub async fn create_key(
    State(console): State<Console>,
    Signed(session): Signed,
    Form(form): Form<KeyForm>,
) -> PageResult {
    check(&console, &session, &form.csrf)?;
    let request = NewApiKey { name: nonempty(&form.name), expiration_date: None };
    match console.use_cases.api_keys.create(&session.user, request).await {
        Ok(issued) => {
            render_keys(&console, &session, Some(issued.secret.expose()), &FormState::default(), StatusCode::OK).await
        }
        Err(error) => {
            let state = refused(&[("name", &form.name)], error)?;
            render_keys(&console, &session, None, &state, StatusCode::BAD_REQUEST).await
        }
    }
}

pub async fn revoke_key(
    State(console): State<Console>,
    Signed(session): Signed,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    check(&console, &session, &form.csrf)?;
    console.use_cases.api_keys.revoke(&session.user, id::<ApiKeyId>(&raw, "key")?).await?;
    Ok(see_other("/keys"))
}
