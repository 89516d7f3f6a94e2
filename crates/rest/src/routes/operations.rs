//! Unauthenticated operational routes: health and the OpenAPI document.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Map, Value};

use crate::{AppState, dto::HealthOut};

/// Liveness plus dependency checks; 503 names the failing dependency.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "OK", body = HealthOut), (status = 503, description = "A dependency is unavailable", body = HealthOut)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthOut>) {
    let mut checks = Map::new();
    let mut all_ok = true;
    for (name, answer) in state.health.check().await {
        if let Err(error) = &answer {
            tracing::warn!(%error, "health check: {name} unavailable");
            all_ok = false;
        }
        checks.insert(name.into(), Value::from(if answer.is_ok() { "ok" } else { "unavailable" }));
    }
    let (status, word) = if all_ok { (StatusCode::OK, "ok") } else { (StatusCode::SERVICE_UNAVAILABLE, "unavailable") };
    (status, Json(HealthOut { status: word.into(), checks }))
}
