//! The MCP server handler: tools (through rmcp's tool router), resources with
//! subscriptions (the legacy `resources/subscribe` and the 2026-07-28
//! `subscriptions/listen`), and the `pack_context` prompt. Each call resolves its
//! user, calls one use case through `tools`/`resources`, and converts the answer.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use ctxd_domain::{Error, model::User, services::UseCases};
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    handler::server::{router::tool::ToolRouter, tool::ToolCallContext},
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Extensions, GetPromptRequestParams,
        GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult, ListResourceTemplatesResult,
        ListResourcesResult, PaginatedRequestParams, Prompt, PromptArgument, PromptMessage, ReadResourceRequestParams,
        ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
        ResourceUpdatedNotificationParam, Role, ServerCapabilities, ServerConfig, SubscribeRequestParams,
        SubscriptionFilter, UnsubscribeRequestParams,
    },
    service::{RequestContext, SubscriptionContext},
    tool, tool_handler, tool_router,
};
use tokio_util::sync::CancellationToken;

use crate::{
    args::Parameters,
    errors,
    resources::{self, CONTENT_TEMPLATE, CONTEXT_TEMPLATE, ResourceUri},
    tools::{self, ToolOutput},
};

/// Who the calls of a session act for.
#[derive(Debug, Clone)]
pub enum Identity {
    /// Streamable HTTP: each request was let in by the access gate, which left the
    /// user in the request's extensions.
    PerRequest,
    /// stdio: the user named on the command line (a local process the user started).
    Fixed(User),
}

/// One MCP session's handler.
#[derive(Clone)]
pub struct CtxdMcp {
    use_cases: UseCases,
    identity: Identity,
    /// Ends subscriptions when the server stops.
    stopping: CancellationToken,
    /// Legacy `resources/subscribe` watches of this session, by URI.
    subscriptions: Arc<Mutex<HashMap<String, CancellationToken>>>,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for CtxdMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtxdMcp").field("identity", &self.identity).finish_non_exhaustive()
    }
}

/// The prompt's name.
pub const PACK_CONTEXT: &str = "pack_context";

/// What ctxd tells a client about itself when it connects.
const INSTRUCTIONS: &str = "ctxd keeps compact, refreshing context of web pages, files and pasted AI \
    conversations. `list_spaces` first; `list_sources` and `search_artifacts` find what is there; \
    `get_context` reads a source's compact context (summary, key points, decisions, open questions), \
    `get_content` its full markdown; `add_source` registers a URL or pasted text and returns its \
    context; `refresh_source` fetches a URL again.";

impl CtxdMcp {
    pub fn new(use_cases: UseCases, identity: Identity, stopping: CancellationToken) -> Self {
        Self { use_cases, identity, stopping, subscriptions: Arc::default(), tool_router: Self::tool_router() }
    }

    /// A handler for a new session: the same use cases, subscriptions of its own.
    pub fn for_session(&self) -> Self {
        Self { subscriptions: Arc::default(), ..self.clone() }
    }

    fn user(&self, extensions: &Extensions) -> Result<User, ErrorData> {
        match &self.identity {
            Identity::Fixed(user) => Ok(user.clone()),
            Identity::PerRequest => extensions
                .get::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<User>())
                .cloned()
                .ok_or_else(|| errors::protocol(Error::Unauthenticated(ctxd_domain::services::access::MISSING))),
        }
    }

    /// Runs one tool for the caller and converts its answer.
    async fn run<F, Fut>(&self, extensions: &Extensions, tool: F) -> Result<CallToolResult, ErrorData>
    where
        F: FnOnce(UseCases, User) -> Fut,
        Fut: Future<Output = ctxd_domain::Result<ToolOutput>>,
    {
        let user = self.user(extensions)?;
        match tool(self.use_cases.clone(), user).await {
            Ok(ToolOutput { text, structured }) => {
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                result.structured_content = Some(structured);
                Ok(result)
            }
            Err(error) => errors::tool_result(error),
        }
    }

    /// Starts a watch of `uri` that calls `notify` on each change of its source's
    /// outputs, until `stop` or the server stops.
    fn spawn_watch<N, Fut>(&self, user: User, uri: ResourceUri, stop: CancellationToken, mut notify: N)
    where
        N: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send,
    {
        let use_cases = self.use_cases.clone();
        let stopping = self.stopping.clone();
        tokio::spawn(async move {
            let watch = resources::watch_outputs(&use_cases, &user, uri.source, &mut notify);
            tokio::select! {
                result = watch => if let Err(error) = result {
                    tracing::debug!(%error, "a resource subscription ended");
                },
                () = stop.cancelled() => {}
                () = stopping.cancelled() => {}
            }
        });
    }
}

#[tool_router]
impl CtxdMcp {
    #[tool(description = "List your spaces (the folders sources live in), newest first, with their ids.")]
    async fn list_spaces(
        &self,
        Parameters(args): Parameters<tools::PageArgs>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&extensions, |use_cases, user| async move { tools::list_spaces(&use_cases, &user, args).await }).await
    }

    #[tool(description = "List the sources of a space (pinned first, newest first), optionally only those of a \
                          collection, status or type, with status, revision and token counts.")]
    async fn list_sources(
        &self,
        Parameters(args): Parameters<tools::ListSourcesArgs>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&extensions, |use_cases, user| async move { tools::list_sources(&use_cases, &user, args).await }).await
    }

    #[tool(description = "Search the artifacts (code, schemas, diagrams, tables, commands) of a space's sources \
                          by words, kind and language.")]
    async fn search_artifacts(
        &self,
        Parameters(args): Parameters<tools::SearchArtifactsArgs>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&extensions, |use_cases, user| async move { tools::search_artifacts(&use_cases, &user, args).await })
            .await
    }

    #[tool(description = "Read a source's compact context: summary, key points, decisions, open questions and \
                          token counts, for the current revision or a given one.")]
    async fn get_context(
        &self,
        Parameters(args): Parameters<tools::GetContextArgs>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&extensions, |use_cases, user| async move { tools::get_context(&use_cases, &user, args).await }).await
    }

    #[tool(description = "Read a source's full normalized markdown, or a range of its lines.")]
    async fn get_content(
        &self,
        Parameters(args): Parameters<tools::GetContentArgs>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&extensions, |use_cases, user| async move { tools::get_content(&use_cases, &user, args).await }).await
    }

    #[tool(description = "Read one artifact (a code block, schema, diagram, table or command) by its id.")]
    async fn get_artifact(
        &self,
        Parameters(args): Parameters<tools::GetArtifactArgs>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&extensions, |use_cases, user| async move { tools::get_artifact(&use_cases, &user, args).await }).await
    }

    #[tool(description = "Add a source to a space: a URL to fetch or pasted text (a chat transcript, markdown, \
                          HTML). Waits for the first run (up to wait_seconds) and returns its context, or the \
                          run's status if it is still going.")]
    async fn add_source(
        &self,
        Parameters(args): Parameters<tools::AddSourceArgs>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&extensions, |use_cases, user| async move { tools::add_source(&use_cases, &user, args).await }).await
    }

    #[tool(description = "Fetch a URL or FILE source again (cheaply: nothing is re-extracted when nothing \
                          changed). Waits for the run (up to wait_seconds) and returns the new context, or the \
                          run's status.")]
    async fn refresh_source(
        &self,
        Parameters(args): Parameters<tools::RefreshSourceArgs>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&extensions, |use_cases, user| async move { tools::refresh_source(&use_cases, &user, args).await })
            .await
    }

    #[tool(description = "A source's status, its last run (outcome, attempts, error, next attempt) and its \
                          latest revisions.")]
    async fn source_status(
        &self,
        Parameters(args): Parameters<tools::SourceArgs>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&extensions, |use_cases, user| async move { tools::source_status(&use_cases, &user, args).await })
            .await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CtxdMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_prompts()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("ctxd", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // rmcp's own answer ("tool not found") does not say which tools there are.
        if self.tool_router.get(&request.name).is_none() {
            let known: Vec<String> =
                self.tool_router.list_all().into_iter().map(|tool| tool.name.into_owned()).collect();
            let message = format!("unknown tool {:?}; ctxd's tools are {}", request.name, known.join(", "));
            return Err(ErrorData::invalid_params(message, None));
        }
        self.tool_router.call(ToolCallContext::new(self, request, context)).await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let user = self.user(&context.extensions)?;
        let cursor = request.and_then(|r| r.cursor);
        let (listed, next) =
            resources::list(&self.use_cases, &user, cursor.as_deref()).await.map_err(errors::protocol)?;
        let items = listed
            .into_iter()
            .map(|l| Resource::new(l.uri, l.name).with_description(l.description).with_mime_type(l.mime_type))
            .collect();
        let mut result = ListResourcesResult::with_all_items(items);
        result.next_cursor = next;
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(CONTEXT_TEMPLATE, "source context")
                .with_description("A source's compact context, as markdown")
                .with_mime_type("text/markdown"),
            ResourceTemplate::new(CONTENT_TEMPLATE, "source content")
                .with_description("A source's normalized markdown")
                .with_mime_type("text/markdown"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let user = self.user(&context.extensions)?;
        let uri = parse_uri(&request.uri)?;
        let text = resources::read(&self.use_cases, &user, uri).await.map_err(errors::protocol)?;
        let contents = ResourceContents::text(text, request.uri).with_mime_type("text/markdown");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    #[allow(deprecated, reason = "the legacy subscription serves clients before 2026-07-28")]
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let user = self.user(&context.extensions)?;
        let uri = parse_uri(&request.uri)?;
        // Another user's source, or none: the same answer as a read.
        self.use_cases.sources.get(&user, uri.source).await.map_err(errors::protocol)?;
        let stop = CancellationToken::new();
        if let Some(previous) = self.lock_subscriptions().insert(request.uri.clone(), stop.clone()) {
            previous.cancel();
        }
        let peer = context.peer.clone();
        let address = request.uri;
        self.spawn_watch(user, uri, stop, move || {
            let peer = peer.clone();
            let address = address.clone();
            async move { peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(address)).await.is_ok() }
        });
        Ok(())
    }

    #[allow(deprecated, reason = "the legacy subscription serves clients before 2026-07-28")]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if let Some(stop) = self.lock_subscriptions().remove(&request.uri) {
            stop.cancel();
        }
        Ok(())
    }

    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        // Updates of ctxd's own resources; which sources the caller may watch is
        // checked when the subscription starts.
        let uris = requested
            .resource_subscriptions
            .as_ref()
            .map(|uris| uris.iter().filter(|uri| ResourceUri::parse(uri).is_some()).cloned().collect());
        let mut accepted = SubscriptionFilter::new();
        accepted.resource_subscriptions = uris;
        Some(accepted)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let user = self.user(&context.request_context().extensions)?;
        let stop = CancellationToken::new();
        for address in context.accepted().resource_subscriptions.clone().unwrap_or_default() {
            let Some(uri) = ResourceUri::parse(&address) else { continue };
            if self.use_cases.sources.get(&user, uri.source).await.is_err() {
                // Not the caller's: nothing will ever be said about it.
                continue;
            }
            let sink = context.sink().clone();
            self.spawn_watch(user.clone(), uri, stop.clone(), move || {
                let sink = sink.clone();
                let address = address.clone();
                async move { sink.notify_resource_updated(address).await.is_ok() }
            });
        }
        tokio::select! {
            () = context.cancelled() => {}
            () = self.stopping.cancelled() => {}
        }
        stop.cancel();
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let arguments = vec![
            PromptArgument::new("source_ids")
                .with_description(
                    "The sources whose contexts to pack (ids separated by commas or spaces); a \
                                   composition packs its members",
                )
                .with_required(true),
        ];
        let prompt = Prompt::new(
            PACK_CONTEXT,
            Some("The contexts of chosen sources in one message, with token counts"),
            Some(arguments),
        );
        Ok(ListPromptsResult::with_all_items(vec![prompt]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if request.name != PACK_CONTEXT {
            return Err(ErrorData::invalid_params(
                format!("unknown prompt {:?}; ctxd has {PACK_CONTEXT}", request.name),
                None,
            ));
        }
        let user = self.user(&context.extensions)?;
        let raw = request
            .arguments
            .as_ref()
            .and_then(|arguments| arguments.get("source_ids"))
            .and_then(|value| value.as_str())
            .ok_or_else(|| {
                ErrorData::invalid_params("source_ids: required (ids separated by commas or spaces)", None)
            })?;
        let packed = tools::pack_context(&self.use_cases, &user, raw).await.map_err(errors::protocol)?;
        let result = GetPromptResult::new(vec![PromptMessage::new_text(Role::User, packed.text)])
            .with_description(packed.description);
        Ok(result.into())
    }
}

impl CtxdMcp {
    fn lock_subscriptions(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        // A poisoned map only means a panic elsewhere; the tokens are still valid.
        self.subscriptions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn parse_uri(uri: &str) -> Result<ResourceUri, ErrorData> {
    ResourceUri::parse(uri).ok_or_else(|| {
        ErrorData::resource_not_found(
            format!("no such resource {uri:?}: ctxd's are {CONTEXT_TEMPLATE} and {CONTENT_TEMPLATE}"),
            None,
        )
    })
}
