//! `/v1/sources/{sourceId}/events`: a source's status and runs as Server-Sent Events,
//! the same states gRPC's `WatchSource` streams.
//!
//! Each state is an event named `source` whose data is the source as `GET
//! /v1/sources/{sourceId}` returns it and whose id identifies that state
//! (`domain::services::event_id`). A client that reconnects with `Last-Event-ID` is
//! not sent the state it saw again; when that state was final and the client does not
//! follow, the answer is 204, which tells an `EventSource` to stop reconnecting.

use std::{convert::Infallible, time::Duration};

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use ctxd_domain::{ids::SourceId, services::event_id};
use futures_util::StreamExt;

use crate::{
    AppState,
    dto::{EventParams, SourceOut},
    error::{ApiError, BadRequest, NotFound, Refusals},
    extract::{ApiQuery, Auth, path_id},
    request_id,
};

/// How often an idle stream sends a comment, so proxies and clients keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How long a client waits before reconnecting after the stream broke (the SSE
/// `retry` field).
const RECONNECT: Duration = Duration::from_secs(2);

/// The longest `Last-Event-ID` considered; ids ctxd sends are 16 characters.
const MAX_EVENT_ID: usize = 64;

/// A source's status and runs as they change (Server-Sent Events): the source at
/// once, then each change of its status, run (attempt, error, `next_attempt_at` of a
/// run waiting to be retried) or revision, as `event: source` with the source as
/// data. The stream ends after a final status (COMPLETED, FAILED, CANCELED) unless
/// `follow=true`; a source deleted meanwhile ends it with `event: error`. Send
/// `Last-Event-ID` to resume: the state you saw is not sent again, and when it was
/// final the answer is 204.
#[utoipa::path(get, path = "/v1/sources/{sourceId}/events", tag = "sources",
    params(
        ("sourceId" = String, Path, format = Uuid),
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received, to resume"),
        EventParams,
    ),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = 204, description = "Resumed at a final state: nothing more will come"),
        BadRequest, NotFound, Refusals,
    ),
    security(("bearer" = [])))]
pub async fn source_events(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Response, ApiError> {
    let id = path_id("sourceId", &raw_id, SourceId::parse_field)?;
    let seen = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.len() <= MAX_EVENT_ID)
        .map(str::to_owned);
    let follow = params.follow.unwrap_or(false);
    let Some(states) = state.use_cases.sources.watch(&user, id, follow, seen).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    // Error bodies quote this request's id; the stream outlives the request's task.
    let request_id = request_id::current();
    let mut first = true;
    let events = states
        .map(move |state| {
            let event = match state {
                Ok(source) => Event::default().event("source").id(event_id(&source)).json_data(SourceOut::from(source)),
                Err(error) => Event::default().event("error").json_data(ApiError::from(error).body(request_id.clone())),
            };
            let event =
                event.unwrap_or_else(|_| Event::default().event("error").data("the event could not be encoded"));
            let event = if std::mem::take(&mut first) { event.retry(RECONNECT) } else { event };
            Ok::<_, Infallible>(event)
        })
        .take_until(state.stopping.clone().cancelled_owned());
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response())
}
