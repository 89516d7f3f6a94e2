//! `/v1/spaces/{spaceId}/collections` and `/v1/collections/{collectionId}`.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use ctxd_domain::{
    ids::CollectionId,
    services::{CollectionPatch, NewCollection},
};

use super::spaces::space_id;
use crate::{
    AppState,
    dto::{CollectionIn, CollectionOut, CollectionPatchIn, CollectionTree},
    error::{ApiError, BadRequest, Conflict, NotFound, Refusals},
    extract::{ApiJson, Auth, path_id},
};

fn collection_id(raw: &str) -> Result<CollectionId, ApiError> {
    path_id("collectionId", raw, CollectionId::parse_field)
}

/// Create a collection in a space, optionally under a parent collection.
#[utoipa::path(post, path = "/v1/spaces/{spaceId}/collections", tag = "collections",
    params(("spaceId" = String, Path, format = Uuid)), request_body = CollectionIn,
    responses((status = 201, description = "Created", body = CollectionOut), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn create_collection(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_space_id): Path<String>,
    ApiJson(body): ApiJson<CollectionIn>,
) -> Result<(StatusCode, Json<CollectionOut>), ApiError> {
    let space_id = space_id(&raw_space_id)?;
    let input = NewCollection { name: body.name, description: body.description, parent_id: body.parent_id };
    let collection = state.use_cases.collections.create(&user, space_id, input).await?;
    Ok((StatusCode::CREATED, Json(collection.into())))
}

/// The space's collections as a tree: roots first, children nested.
#[utoipa::path(get, path = "/v1/spaces/{spaceId}/collections", tag = "collections",
    params(("spaceId" = String, Path, format = Uuid)),
    responses((status = 200, description = "OK", body = CollectionTree), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn collection_tree(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_space_id): Path<String>,
) -> Result<Json<CollectionTree>, ApiError> {
    let tree = state.use_cases.collections.tree(&user, space_id(&raw_space_id)?).await?;
    Ok(Json(CollectionTree { collections: tree.into_iter().map(Into::into).collect() }))
}

/// Rename or move a collection. A move into its own subtree is 409.
#[utoipa::path(patch, path = "/v1/collections/{collectionId}", tag = "collections",
    params(("collectionId" = String, Path, format = Uuid)), request_body = CollectionPatchIn,
    responses((status = 200, description = "OK", body = CollectionOut), BadRequest, NotFound, Conflict, Refusals),
    security(("bearer" = [])))]
pub async fn update_collection(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
    ApiJson(body): ApiJson<CollectionPatchIn>,
) -> Result<Json<CollectionOut>, ApiError> {
    let id = collection_id(&raw_id)?;
    let patch = CollectionPatch { name: body.name, description: body.description, parent_id: body.parent_id };
    let collection = state.use_cases.collections.update(&user, id, patch).await?;
    Ok(Json(collection.into()))
}

/// Delete a collection; its sources and child collections move to its parent.
#[utoipa::path(delete, path = "/v1/collections/{collectionId}", tag = "collections",
    params(("collectionId" = String, Path, format = Uuid)),
    responses((status = 204, description = "Done; no content"), BadRequest, NotFound, Refusals),
    security(("bearer" = [])))]
pub async fn delete_collection(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(raw_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.collections.delete(&user, collection_id(&raw_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
