//! The service implementations: authenticate, convert the request, call the use
//! case REST calls, convert the answer. No rule lives here.

use ctxd_domain::{
    ids::{ApiKeyId, ArtifactId, CollectionId, RunId, SourceId, SpaceId},
    model::{ArtifactQuery, User},
    ports::SourceFilter,
    services::{
        CollectionPatch, FastForwardRequest, NewApiKey, NewCollection, NewSource, RefreshRequest, ReprocessRequest,
        SourcePatch, SpaceInput, UseCases, access::AccessGate,
    },
};
use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::{
    convert::{self, id, invalid, status},
    pb,
};

/// Every service, sharing the use cases.
#[derive(Debug, Clone)]
pub struct Api {
    use_cases: UseCases,
    gate: Arc<AccessGate>,
    /// Cancelled when the server stops: open watches end, so shutdown does not wait
    /// for clients that follow a source.
    stopping: tokio_util::sync::CancellationToken,
}

type Reply<T> = Result<Response<T>, Status>;

impl Api {
    /// `gate` is the process's, shared with REST: one door, one budget per user.
    pub fn new(use_cases: UseCases, gate: Arc<AccessGate>, stopping: tokio_util::sync::CancellationToken) -> Self {
        Self { use_cases, gate, stopping }
    }

    /// The user behind `authorization: Bearer <api key>` metadata, let in by the access
    /// gate (its refusals map like every error: `UNAUTHENTICATED`, or
    /// `RESOURCE_EXHAUSTED` with `retry-after` and `x-ratelimit-*` metadata).
    async fn user<T>(&self, request: &Request<T>) -> Result<User, Status> {
        let authorization = request.metadata().get("authorization").and_then(|v| v.to_str().ok());
        Ok(self.gate.admit(authorization, chrono::Utc::now()).await.map_err(status)?.user)
    }
}

fn source_id(raw: &str) -> Result<SourceId, Status> {
    id("id", raw, SourceId::parse_field)
}

fn optional_collection(field: &str, raw: Option<&str>) -> Result<Option<CollectionId>, Status> {
    raw.map(|raw| id(field, raw, CollectionId::parse_field)).transpose()
}

#[tonic::async_trait]
impl pb::spaces_service_server::SpacesService for Api {
    async fn create_space(&self, request: Request<pb::CreateSpaceRequest>) -> Reply<pb::Space> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let space = self.use_cases.spaces.create(&user, SpaceInput { name: r.name, description: r.description });
        Ok(Response::new(convert::space(space.await.map_err(status)?)))
    }

    async fn get_space(&self, request: Request<pb::GetSpaceRequest>) -> Reply<pb::Space> {
        let user = self.user(&request).await?;
        let space_id = id("id", &request.get_ref().id, SpaceId::parse_field)?;
        Ok(Response::new(convert::space(self.use_cases.spaces.get(&user, space_id).await.map_err(status)?)))
    }

    async fn list_spaces(&self, request: Request<pb::ListSpacesRequest>) -> Reply<pb::ListSpacesResponse> {
        let user = self.user(&request).await?;
        let page = convert::page_request(request.get_ref().page.as_ref())?;
        let page = self.use_cases.spaces.list(&user, page).await.map_err(status)?;
        let pagination = Some(convert::pagination(&page));
        Ok(Response::new(pb::ListSpacesResponse {
            spaces: page.items.into_iter().map(convert::space).collect(),
            pagination,
        }))
    }

    async fn replace_space(&self, request: Request<pb::ReplaceSpaceRequest>) -> Reply<pb::Space> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let space_id = id("id", &r.id, SpaceId::parse_field)?;
        let space =
            self.use_cases.spaces.replace(&user, space_id, SpaceInput { name: r.name, description: r.description });
        Ok(Response::new(convert::space(space.await.map_err(status)?)))
    }

    async fn delete_space(&self, request: Request<pb::DeleteSpaceRequest>) -> Reply<pb::DeleteSpaceResponse> {
        let user = self.user(&request).await?;
        let space_id = id("id", &request.get_ref().id, SpaceId::parse_field)?;
        self.use_cases.spaces.delete(&user, space_id).await.map_err(status)?;
        Ok(Response::new(pb::DeleteSpaceResponse {}))
    }
}

#[tonic::async_trait]
impl pb::collections_service_server::CollectionsService for Api {
    async fn create_collection(&self, request: Request<pb::CreateCollectionRequest>) -> Reply<pb::Collection> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let space = id("space_id", &r.space_id, SpaceId::parse_field)?;
        let parent_id = optional_collection("parent_id", r.parent_id.as_deref())?;
        let new = NewCollection { name: r.name, description: r.description, parent_id };
        let collection = self.use_cases.collections.create(&user, space, new).await.map_err(status)?;
        Ok(Response::new(convert::collection(collection)))
    }

    async fn collection_tree(&self, request: Request<pb::CollectionTreeRequest>) -> Reply<pb::CollectionTreeResponse> {
        let user = self.user(&request).await?;
        let space = id("space_id", &request.get_ref().space_id, SpaceId::parse_field)?;
        let tree = self.use_cases.collections.tree(&user, space).await.map_err(status)?;
        Ok(Response::new(pb::CollectionTreeResponse {
            collections: tree.into_iter().map(convert::collection_node).collect(),
        }))
    }

    async fn update_collection(&self, request: Request<pb::UpdateCollectionRequest>) -> Reply<pb::Collection> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let collection_id = id("id", &r.id, CollectionId::parse_field)?;
        if let Some(unknown) = r.clear.iter().find(|c| !["description", "parent_id"].contains(&c.as_str())) {
            return Err(invalid("clear", &format!("{unknown:?} cannot be cleared")));
        }
        let clears = |field: &str| r.clear.iter().any(|c| c == field);
        let parent_id = match (clears("parent_id"), r.parent_id.as_deref()) {
            (true, _) => Some(None),
            (false, raw) => optional_collection("parent_id", raw)?.map(Some),
        };
        let description = if clears("description") { Some(None) } else { r.description.clone().map(Some) };
        let patch = CollectionPatch { name: r.name.clone(), description, parent_id };
        let collection = self.use_cases.collections.update(&user, collection_id, patch).await.map_err(status)?;
        Ok(Response::new(convert::collection(collection)))
    }

    async fn delete_collection(
        &self,
        request: Request<pb::DeleteCollectionRequest>,
    ) -> Reply<pb::DeleteCollectionResponse> {
        let user = self.user(&request).await?;
        let collection_id = id("id", &request.get_ref().id, CollectionId::parse_field)?;
        self.use_cases.collections.delete(&user, collection_id).await.map_err(status)?;
        Ok(Response::new(pb::DeleteCollectionResponse {}))
    }
}

#[tonic::async_trait]
impl pb::api_keys_service_server::ApiKeysService for Api {
    async fn create_api_key(&self, request: Request<pb::CreateApiKeyRequest>) -> Reply<pb::CreateApiKeyResponse> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let expiration_date = match &r.expiration_date {
            Some(at) => {
                Some(convert::from_timestamp(at).ok_or_else(|| invalid("expiration_date", "is not a valid time"))?)
            }
            None => None,
        };
        let issued = self.use_cases.api_keys.create(&user, NewApiKey { name: r.name, expiration_date });
        let issued = issued.await.map_err(status)?;
        let api_key = issued.secret.expose().to_owned();
        Ok(Response::new(pb::CreateApiKeyResponse { key: Some(convert::api_key(issued.key)), api_key }))
    }

    async fn list_api_keys(&self, request: Request<pb::ListApiKeysRequest>) -> Reply<pb::ListApiKeysResponse> {
        let user = self.user(&request).await?;
        let page = convert::page_request(request.get_ref().page.as_ref())?;
        let page = self.use_cases.api_keys.list(&user, page).await.map_err(status)?;
        let pagination = Some(convert::pagination(&page));
        let api_keys = page.items.into_iter().map(convert::api_key).collect();
        Ok(Response::new(pb::ListApiKeysResponse { api_keys, pagination }))
    }

    async fn revoke_api_key(&self, request: Request<pb::RevokeApiKeyRequest>) -> Reply<pb::ApiKey> {
        let user = self.user(&request).await?;
        let key_id = id("id", &request.get_ref().id, ApiKeyId::parse_field)?;
        Ok(Response::new(convert::api_key(self.use_cases.api_keys.revoke(&user, key_id).await.map_err(status)?)))
    }
}

#[tonic::async_trait]
impl pb::artifacts_service_server::ArtifactsService for Api {
    async fn get_artifact(&self, request: Request<pb::GetArtifactRequest>) -> Reply<pb::Artifact> {
        let user = self.user(&request).await?;
        let artifact_id = id("id", &request.get_ref().id, ArtifactId::parse_field)?;
        let artifact = self.use_cases.outputs.artifact(&user, artifact_id).await.map_err(status)?;
        Ok(Response::new(convert::artifact(artifact)))
    }

    async fn search_artifacts(&self, request: Request<pb::SearchArtifactsRequest>) -> Reply<pb::ListArtifactsResponse> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let space = id("space_id", &r.space_id, SpaceId::parse_field)?;
        let page = convert::page_request(r.page.as_ref())?;
        let mut query = ArtifactQuery::new(None, r.language.as_deref(), r.q.as_deref()).map_err(status)?;
        query.kind = convert::artifact_kind_filter(r.kind)?;
        let page = self.use_cases.outputs.search_artifacts(&user, space, &query, page).await.map_err(status)?;
        let pagination = Some(convert::pagination(&page));
        let artifacts = page.items.into_iter().map(convert::artifact).collect();
        Ok(Response::new(pb::ListArtifactsResponse { artifacts, pagination }))
    }
}

#[tonic::async_trait]
impl pb::sources_service_server::SourcesService for Api {
    type WatchSourceStream = crate::watch::WatchStream;

    async fn watch_source(&self, request: Request<pb::WatchSourceRequest>) -> Reply<Self::WatchSourceStream> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let stream =
            crate::watch::watch(self.use_cases.clone(), user, source_id(&r.id)?, r.follow, self.stopping.clone())
                .await?;
        Ok(Response::new(stream))
    }

    async fn create_source(&self, request: Request<pb::CreateSourceRequest>) -> Reply<pb::Source> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let space = id("space_id", &r.space_id, SpaceId::parse_field)?;
        let new = NewSource {
            fields: convert::SOURCE_FIELDS,
            name: r.name,
            description: r.description,
            collection_id: optional_collection("collection_id", r.collection_id.as_deref())?,
            postback_url: r.postback_url,
            run_context_extraction: r.run_context_extraction,
            run_artifact_extraction: r.run_artifact_extraction,
            refresh_policy: convert::refresh_policy_input(r.refresh_policy.as_ref())?,
            ..NewSource::new(convert::material(r.input.as_ref())?)
        };
        let source = self.use_cases.sources.create(&user, space, new).await.map_err(status)?;
        Ok(Response::new(convert::source(source)))
    }

    async fn get_source(&self, request: Request<pb::SourceRequest>) -> Reply<pb::Source> {
        let user = self.user(&request).await?;
        let id = source_id(&request.get_ref().id)?;
        Ok(Response::new(convert::source(self.use_cases.sources.get(&user, id).await.map_err(status)?)))
    }

    async fn list_sources(&self, request: Request<pb::ListSourcesRequest>) -> Reply<pb::ListSourcesResponse> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let space = id("space_id", &r.space_id, SpaceId::parse_field)?;
        let filter = SourceFilter {
            status: convert::source_status_filter(r.status)?,
            source_type: convert::source_type_filter(r.r#type)?,
            collection_id: optional_collection("collection_id", r.collection_id.as_deref())?,
            pinned: r.pinned,
            include_deleted: r.include_deleted,
        };
        let page = convert::page_request(r.page.as_ref())?;
        let page = self.use_cases.sources.list(&user, space, filter, page).await.map_err(status)?;
        let pagination = Some(convert::pagination(&page));
        Ok(Response::new(pb::ListSourcesResponse {
            sources: page.items.into_iter().map(convert::source).collect(),
            pagination,
        }))
    }

    async fn update_source(&self, request: Request<pb::UpdateSourceRequest>) -> Reply<pb::Source> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let id = source_id(&r.id)?;
        let clears = |field: &str| r.clear.iter().any(|c| c == field);
        if let Some(unknown) =
            r.clear.iter().find(|c| !["name", "description", "collection_id", "postback_url"].contains(&c.as_str()))
        {
            return Err(invalid("clear", &format!("{unknown:?} cannot be cleared")));
        }
        let field = |value: Option<String>, name: &str| if clears(name) { Some(None) } else { value.map(Some) };
        let collection_id = match (clears("collection_id"), r.collection_id.as_deref()) {
            (true, _) => Some(None),
            (false, raw) => optional_collection("collection_id", raw)?.map(Some),
        };
        let patch = SourcePatch {
            fields: convert::SOURCE_FIELDS,
            name: field(r.name.clone(), "name"),
            description: field(r.description.clone(), "description"),
            collection_id,
            refresh_policy: convert::refresh_policy_input(r.refresh_policy.as_ref())?,
            postback_url: field(r.postback_url.clone(), "postback_url"),
        };
        Ok(Response::new(convert::source(self.use_cases.sources.update(&user, id, patch).await.map_err(status)?)))
    }

    async fn delete_source(&self, request: Request<pb::SourceRequest>) -> Reply<pb::DeleteSourceResponse> {
        let user = self.user(&request).await?;
        let id = source_id(&request.get_ref().id)?;
        self.use_cases.sources.delete(&user, id).await.map_err(status)?;
        Ok(Response::new(pb::DeleteSourceResponse {}))
    }

    async fn restore_source(&self, request: Request<pb::SourceRequest>) -> Reply<pb::Source> {
        let user = self.user(&request).await?;
        let id = source_id(&request.get_ref().id)?;
        Ok(Response::new(convert::source(self.use_cases.sources.restore(&user, id).await.map_err(status)?)))
    }

    async fn toggle_pin(&self, request: Request<pb::SourceRequest>) -> Reply<pb::Source> {
        let user = self.user(&request).await?;
        let id = source_id(&request.get_ref().id)?;
        Ok(Response::new(convert::source(self.use_cases.sources.toggle_pin(&user, id).await.map_err(status)?)))
    }

    async fn refresh_source(&self, request: Request<pb::RefreshSourceRequest>) -> Reply<pb::Source> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let refresh = RefreshRequest {
            run_context_extraction: r.run_context_extraction,
            run_artifact_extraction: r.run_artifact_extraction,
            force: r.force,
        };
        let source = self.use_cases.sources.refresh(&user, source_id(&r.id)?, refresh).await.map_err(status)?;
        Ok(Response::new(convert::source(source)))
    }

    async fn reprocess_source(&self, request: Request<pb::ReprocessSourceRequest>) -> Reply<pb::Source> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let reprocess = ReprocessRequest {
            run_context_extraction: r.run_context_extraction,
            run_artifact_extraction: r.run_artifact_extraction,
            update_existing: r.update_existing,
        };
        let source = self.use_cases.sources.reprocess(&user, source_id(&r.id)?, reprocess).await.map_err(status)?;
        Ok(Response::new(convert::source(source)))
    }

    async fn fast_forward_source(&self, request: Request<pb::FastForwardSourceRequest>) -> Reply<pb::Source> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let forward = FastForwardRequest {
            input: convert::material(r.input.as_ref())?,
            fields: convert::SOURCE_FIELDS,
            postback_url: r.postback_url,
            run_context_extraction: r.run_context_extraction,
            run_artifact_extraction: r.run_artifact_extraction,
        };
        let source = self.use_cases.sources.fast_forward(&user, source_id(&r.id)?, forward).await.map_err(status)?;
        Ok(Response::new(convert::source(source)))
    }

    async fn cancel_source(&self, request: Request<pb::SourceRequest>) -> Reply<pb::Source> {
        let user = self.user(&request).await?;
        let id = source_id(&request.get_ref().id)?;
        Ok(Response::new(convert::source(self.use_cases.sources.cancel(&user, id).await.map_err(status)?)))
    }

    async fn list_runs(&self, request: Request<pb::ListRunsRequest>) -> Reply<pb::ListRunsResponse> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let id = id("source_id", &r.source_id, SourceId::parse_field)?;
        let page = convert::page_request(r.page.as_ref())?;
        let page = self.use_cases.outputs.runs(&user, id, page).await.map_err(status)?;
        let pagination = Some(convert::pagination(&page));
        Ok(Response::new(pb::ListRunsResponse { runs: page.items.into_iter().map(convert::run).collect(), pagination }))
    }

    async fn get_run(&self, request: Request<pb::GetRunRequest>) -> Reply<pb::Run> {
        let user = self.user(&request).await?;
        let run_id = id("id", &request.get_ref().id, RunId::parse_field)?;
        Ok(Response::new(convert::run(self.use_cases.outputs.run(&user, run_id).await.map_err(status)?)))
    }

    async fn list_revisions(&self, request: Request<pb::ListRevisionsRequest>) -> Reply<pb::ListRevisionsResponse> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let id = id("source_id", &r.source_id, SourceId::parse_field)?;
        let page = convert::page_request(r.page.as_ref())?;
        let page = self.use_cases.outputs.revisions(&user, id, page).await.map_err(status)?;
        let pagination = Some(convert::pagination(&page));
        let revisions = page.items.into_iter().map(convert::revision).collect();
        Ok(Response::new(pb::ListRevisionsResponse { revisions, pagination }))
    }

    async fn get_context(&self, request: Request<pb::GetContextRequest>) -> Reply<pb::Context> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let id = id("source_id", &r.source_id, SourceId::parse_field)?;
        let context = self.use_cases.outputs.context(&user, id, r.revision).await.map_err(status)?;
        Ok(Response::new(convert::context(context)))
    }

    async fn list_artifacts(
        &self,
        request: Request<pb::ListSourceArtifactsRequest>,
    ) -> Reply<pb::ListArtifactsResponse> {
        let user = self.user(&request).await?;
        let r = request.into_inner();
        let id = id("source_id", &r.source_id, SourceId::parse_field)?;
        let page = convert::page_request(r.page.as_ref())?;
        let page = self.use_cases.outputs.artifacts(&user, id, r.revision, page).await.map_err(status)?;
        let pagination = Some(convert::pagination(&page));
        let artifacts = page.items.into_iter().map(convert::artifact).collect();
        Ok(Response::new(pb::ListArtifactsResponse { artifacts, pagination }))
    }
}
