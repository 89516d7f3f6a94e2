//! The console's pages as maud templates: one layout, one function per page. Every
//! value is escaped by maud; markdown goes through `markdown::to_html`.

use axum::http::StatusCode;
use ctxd_domain::{
    Error, FieldError,
    ids::CollectionId,
    model::{ApiKey, Artifact, ArtifactKind, CollectionNode, Context, Postback, Run, Source, Space},
    services::{ListedRevision, RevisionDiff, console::ConsoleSession},
};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::{diff::split, highlight, markdown};

fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A rendered page.
pub type Page = axum::response::Html<String>;

/// The page frame: header with navigation (when signed in), main content.
pub fn layout(title: &str, session: Option<&ConsoleSession>, source: Option<&str>, content: Markup) -> Page {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ctxd" }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body data-source=[source] {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "ctxd" }
                    @if let Some(session) = session {
                        nav aria-label="Main" {
                            a href="/spaces" { "Spaces" }
                            a href="/keys" { "API keys" }
                            a href="/docs/" { "API docs" }
                            span.muted { (session.user.name) }
                            form.inline method="post" action="/sign-out" {
                                input type="hidden" name="csrf" value=(session.csrf);
                                button.secondary type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main { (content) }
            }
        }
    };
    axum::response::Html(page.into_string())
}

fn csrf(session: &ConsoleSession) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// The errors of `field`, shown next to it.
fn field_errors(errors: &[FieldError], field: &str) -> Markup {
    html! {
        @for error in errors.iter().filter(|e| e.field == field) {
            p.field-error id={ (field) "-error" } { (error.message) }
        }
    }
}

fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(text) = text { p.notice.error role="alert" { (text) } } }
}

pub fn sign_in(error: Option<&str>, next: &str) -> Page {
    layout(
        "Sign in",
        None,
        None,
        html! {
            h1 { "Sign in to ctxd" }
            (notice(error))
            form.panel method="post" action="/sign-in" {
                input type="hidden" name="next" value=(next);
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="off" required;
                p.muted {
                    "The key " code { "ctxd serve" } " printed on its first start (also in "
                    code { "ctxd-data/first-api-key" } "), or one made with " code { "ctxd keys create" } "."
                }
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub fn badge(source: &Source) -> Markup {
    let status = source.status.as_str();
    html! { span class={ "badge " (status) } data-watch=(source.id) { (status) } }
}

fn source_name(source: &Source) -> String {
    source.name.clone().unwrap_or_else(|| match &source.input {
        ctxd_domain::model::SourceInput::Uri { url } => url.to_string(),
        other => format!("{} source", other.source_type().as_str().to_lowercase()),
    })
}

/// Values a form is shown again with after a refusal.
#[derive(Debug, Default)]
pub struct FormState {
    pub values: std::collections::HashMap<String, String>,
    pub errors: Vec<FieldError>,
    pub message: Option<String>,
}

impl FormState {
    fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }
}

pub fn spaces(session: &ConsoleSession, spaces: &[Space], total: u64, form: &FormState) -> Page {
    layout(
        "Spaces",
        Some(session),
        None,
        html! {
            h1 { "Spaces" }
            @if spaces.is_empty() {
                p { "No spaces yet. A space holds sources (pages, files, conversations) and their context." }
            } @else {
                p.muted { (total) " space(s)" }
                ul {
                    @for space in spaces {
                        li {
                            a href={ "/spaces/" (space.id) } { (space.name) }
                            @if let Some(description) = &space.description { " — " span.muted { (description) } }
                        }
                    }
                }
            }
            h2 { "New space" }
            (notice(form.message.as_deref()))
            form.panel method="post" action="/spaces" {
                (csrf(session))
                label for="name" { "Name" }
                input #name type="text" name="name" value=(form.value("name")) required
                    aria-describedby="name-error";
                (field_errors(&form.errors, "name"))
                label for="description" { "Description (optional)" }
                input #description type="text" name="description" value=(form.value("description"));
                (field_errors(&form.errors, "description"))
                p { button type="submit" { "Create space" } }
            }
        },
    )
}

pub struct SpaceView<'a> {
    pub space: &'a Space,
    pub sources: &'a [Source],
    pub total: u64,
    pub status: &'a str,
    pub kind: &'a str,
    pub collections: &'a [CollectionNode],
    /// The collection the list is filtered to.
    pub collection: Option<CollectionId>,
    /// Whether deleted sources are listed too.
    pub deleted: bool,
}

/// The collection tree as nested lists, each a filter link.
fn tree(space: &Space, nodes: &[CollectionNode], current: Option<CollectionId>) -> Markup {
    html! {
        ul {
            @for node in nodes {
                li {
                    @let id = node.collection.id;
                    a href={ "/spaces/" (space.id) "?collection=" (id) } aria-current=[(current == Some(id)).then_some("page")] {
                        (node.collection.name)
                    }
                    @if !node.children.is_empty() { (tree(space, &node.children, current)) }
                }
            }
        }
    }
}

/// Every collection of the tree, depth-first, with its depth.
fn flatten(nodes: &[CollectionNode], depth: usize, out: &mut Vec<(usize, CollectionId, String)>) {
    for node in nodes {
        out.push((depth, node.collection.id, node.collection.name.clone()));
        flatten(&node.children, depth + 1, out);
    }
}

fn collection_options(nodes: &[CollectionNode], selected: &str) -> Markup {
    let mut all = Vec::new();
    flatten(nodes, 0, &mut all);
    html! {
        option value="" { "none" }
        @for (depth, id, name) in &all {
            option value=(id) selected[selected == id.to_string()] { ("\u{a0}\u{a0}".repeat(*depth)) (name) }
        }
    }
}

pub fn space(session: &ConsoleSession, view: &SpaceView<'_>, form: &FormState) -> Page {
    let space = view.space;
    let statuses = ["", "PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELED"];
    let kinds = ["", "URI", "CONTENT", "FILE", "COMPOSITION"];
    layout(
        &space.name,
        Some(session),
        None,
        html! {
            p { a href="/spaces" { "← Spaces" } }
            h1 { (space.name) }
            @if let Some(description) = &space.description { p.muted { (description) } }
            form.actions method="get" action={ "/spaces/" (space.id) "/search" } role="search" {
                label for="q" { "Search artifacts" }
                input #q type="text" name="q";
                button.secondary type="submit" { "Search" }
            }
            h2 { "Collections" }
            @if view.collections.is_empty() {
                p.muted { "No collections: sources can be grouped into a tree of them." }
            } @else {
                nav aria-label="Collections" {
                    (tree(space, view.collections, view.collection))
                    @if view.collection.is_some() { p { a href={ "/spaces/" (space.id) } { "All sources" } } }
                }
            }
            details {
                summary { "New collection" }
                form.panel method="post" action={ "/spaces/" (space.id) "/collections" } {
                    (csrf(session))
                    label for="collection-name" { "Name" }
                    input #collection-name type="text" name="name" value=(form.value("collection_name")) required
                        aria-describedby="collection_name-error";
                    (field_errors(&form.errors, "collection_name"))
                    label for="collection-parent" { "Inside" }
                    select #collection-parent name="parent" { (collection_options(view.collections, "")) }
                    (field_errors(&form.errors, "collection_parent_id"))
                    p { button.secondary type="submit" { "Create collection" } }
                }
            }
            h2 { "Sources" }
            form.actions method="get" action={ "/spaces/" (space.id) } {
                @if let Some(collection) = view.collection { input type="hidden" name="collection" value=(collection); }
                label for="status" { "Status" }
                select #status name="status" {
                    @for status in statuses {
                        option value=(status) selected[view.status == status] { @if status.is_empty() { "any" } @else { (status) } }
                    }
                }
                label for="type" { "Type" }
                select #type name="type" {
                    @for kind in kinds {
                        option value=(kind) selected[view.kind == kind] { @if kind.is_empty() { "any" } @else { (kind) } }
                    }
                }
                label.inline { input type="checkbox" name="deleted" value="1" checked[view.deleted]; " deleted too" }
                button.secondary type="submit" { "Filter" }
            }
            @if view.sources.is_empty() {
                p { "No sources here yet: add a web page or paste a conversation below." }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr { th { "Source" } th { "Type" } th { "Status" } th { "Revision" } th { "Tokens" } } }
                        tbody {
                            @for source in view.sources {
                                tr {
                                    td {
                                        @if source.pinned { span.muted { "pinned · " } }
                                        @if source.is_deleted() {
                                            (source_name(source)) " "
                                            form.inline method="post" action={ "/sources/" (source.id) "/restore" } {
                                                (csrf(session))
                                                button.secondary type="submit" { "Restore" }
                                            }
                                        } @else {
                                            a href={ "/sources/" (source.id) } { (source_name(source)) }
                                        }
                                    }
                                    td { (source.input.source_type().as_str()) }
                                    td { (badge(source)) }
                                    td data-watch-revision=(source.id) {
                                        @if let Some(revision) = source.revision { (revision) } @else { "–" }
                                    }
                                    td {
                                        @if let (Some(o), Some(c)) = (source.stats.original_tokens, source.stats.context_tokens) {
                                            (c) " / " (o)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p.muted { (view.total) " source(s)" }
            }
            h2 { "Add a source" }
            (notice(form.message.as_deref()))
            form.panel method="post" action={ "/spaces/" (space.id) "/sources" } {
                (csrf(session))
                label for="url" { "Web page URL" }
                input #url type="url" name="url" value=(form.value("url")) placeholder="https://…"
                    aria-describedby="url-error";
                (field_errors(&form.errors, "url"))
                div data-upload hidden {
                label for="file" { "…or upload a file (PDF, HTML, markdown, text, a chat export)" }
                input #file type="file" data-csrf=(session.csrf) aria-describedby="file-error";
                input type="hidden" name="file_key";
                p.muted data-upload-status aria-live="polite" {}
            }
            (field_errors(&form.errors, "file"))
            label for="text" { "…or paste text (a chat transcript, markdown, HTML)" }
                textarea #text name="text" aria-describedby="text-error" { (form.value("text")) }
                (field_errors(&form.errors, "text"))
                @let live: Vec<&Source> = view.sources.iter().filter(|s| !s.is_deleted()).collect();
        @if !live.is_empty() {
            fieldset {
                legend { "…or compose a new source from these (in this order)" }
                @for source in &live {
                    label { input type="checkbox" name="member" value=(source.id); " " (source_name(source)) }
                }
                (field_errors(&form.errors, "member"))
            }
        }
        label for="source-collection" { "Collection" }
        select #source-collection name="collection" { (collection_options(view.collections, form.value("collection"))) }
        (field_errors(&form.errors, "collection"))
        label for="source-name" { "Name (optional)" }
                input #source-name type="text" name="name" value=(form.value("name"));
                (field_errors(&form.errors, "name"))
                label for="interval" { "Refresh every (seconds, optional, URLs only)" }
                input #interval type="number" min="60" name="refresh_interval_seconds"
                    value=(form.value("refresh_interval_seconds")) aria-describedby="refresh_interval_seconds-error";
                (field_errors(&form.errors, "refresh_interval_seconds"))
                label for="postback" { "Postback URL (optional)" }
                input #postback type="url" name="postback_url" value=(form.value("postback_url"));
                (field_errors(&form.errors, "postback_url"))
                p { button type="submit" { "Add source" } }
            }
            h2 { "Space settings" }
            form.panel method="post" action={ "/spaces/" (space.id) "/rename" } {
                (csrf(session))
                label for="rename" { "Name" }
                input #rename type="text" name="name" value=(space.name) required;
                label for="redescribe" { "Description" }
                input #redescribe type="text" name="description" value=(space.description.as_deref().unwrap_or(""));
                p { button.secondary type="submit" { "Save" } }
            }
            form method="post" action={ "/spaces/" (space.id) "/delete" } {
                (csrf(session))
                button.danger type="submit" { "Delete this space and its sources" }
            }
        },
    )
}

pub struct SourceView<'a> {
    pub source: &'a Source,
    pub context: Option<&'a Context>,
    pub artifacts: &'a [Artifact],
    pub runs: &'a [Run],
    pub revisions: &'a [ListedRevision],
    pub content: Option<&'a str>,
    pub postbacks: &'a [Postback],
}

fn action(session: &ConsoleSession, source: &Source, name: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action={ "/sources/" (source.id) "/" (name) } {
            (csrf(session))
            button class=(class) type="submit" { (label) }
        }
    }
}

pub fn source(session: &ConsoleSession, view: &SourceView<'_>) -> Page {
    let source = view.source;
    let initial = format!(
        "{}:{}",
        source.status.as_str(),
        source.last_run.as_ref().map(|r| r.id.to_string()).unwrap_or_default()
    );
    let id = source.id.to_string();
    layout(
        &source_name(source),
        Some(session),
        Some(&id),
        html! {
            p { a href={ "/spaces/" (source.space_id) } { "← Space" } }
            h1 { (source_name(source)) }
            p {
                span class={ "badge " (source.status.as_str()) } data-watch=(source.id) data-initial=(initial) {
                    (source.status.as_str())
                }
                " " (source.input.source_type().as_str())
                @if let Some(revision) = source.revision { " · revision " (revision) }
                @if let ctxd_domain::model::SourceInput::Uri { url } = &source.input { " · " a href=(url.as_str()) rel="noopener noreferrer" { (url.as_str()) } }
            }
            @if let Some(message) = &source.message { p.notice.error role="alert" { (message) } }
            @if let Some(run) = &source.last_run {
                @if let Some(at) = run.retry_at {
                    p.notice { "Attempt " (run.attempt) " failed: " (run.error.as_deref().unwrap_or("")) ". Next attempt at " (time(at)) "." }
                }
            }
            div.actions {
                (action(session, source, "refresh", "Refresh", ""))
                form.inline method="post" action={ "/sources/" (source.id) "/reprocess" } {
                    (csrf(session))
                    input type="hidden" name="flags" value="1";
                    label.inline { input type="checkbox" name="context" checked; " context" }
                    label.inline { input type="checkbox" name="artifacts" checked; " artifacts" }
                    button.secondary type="submit" { "Reprocess" }
                }
                (action(session, source, "cancel", "Cancel", "secondary"))
                (action(session, source, "pin", if source.pinned { "Unpin" } else { "Pin" }, "secondary"))
                (action(session, source, "delete", "Delete", "danger"))
            }
            @if source.input.source_type() == ctxd_domain::model::SourceType::Content {
                details {
                    summary { "Continue this conversation (fast-forward)" }
                    form.panel method="post" action={ "/sources/" (source.id) "/fast-forward" } {
                        (csrf(session))
                        label for="continued" { "The whole conversation so far, continued" }
                        textarea #continued name="text" required {}
                        p { button.secondary type="submit" { "Fast-forward" } }
                    }
                }
            }
            h2 { "Context" }
            @if let Some(context) = view.context {
                (context_panel(context))
            } @else {
                p.muted { "No context yet." }
            }
            h2 { "Artifacts (" (view.artifacts.len()) ")" }
            @for artifact in view.artifacts { (artifact_panel(artifact)) }
            h2 { "Runs" }
            div.table-wrap {
                table {
                    thead { tr { th { "Kind" } th { "Status" } th { "Outcome" } th { "Queued" } th { "Phases" } th { "Fetch" } th { "Normalize" } th { "Context" } th { "Artifacts" } } }
                    tbody {
                        @for run in view.runs {
                            tr {
                                td { (run.kind.as_str()) }
                                td { (run.status.as_str()) @if let Some(error) = &run.error { br; span.muted { (error) } } }
                                td { (run.outcome.map_or("–", |o| o.as_str())) }
                                td { (time(run.queued_at)) }
                                td { (phases(run)) }
                                td { (ms(run.timings.fetch)) } td { (ms(run.timings.normalize)) }
                                td { (ms(run.timings.context)) } td { (ms(run.timings.artifacts)) }
                            }
                        }
                    }
                }
            }
            h2 { "Revisions" }
            ul {
                @for listed in view.revisions {
                    li {
                        "Revision " (listed.revision.number) " · " (time(listed.revision.fetched_at))
                        @if listed.revision.number > 1 && listed.content_available {
                            " · " a href={ "/sources/" (source.id) "/diff?to=" (listed.revision.number) } { "diff with the previous" }
                        }
                        @if !listed.content_available { span.muted { " (content no longer kept)" } }
                    }
                }
            }
            @if !view.postbacks.is_empty() {
                h2 { "Postback deliveries" }
                div.table-wrap {
                    table {
                        thead { tr { th { "Webhook id" } th { "Status" } th { "Attempts" } th { "Last answer" } } }
                        tbody {
                            @for postback in view.postbacks {
                                tr {
                                    td { code { (postback.id) } }
                                    td { (postback.status.as_str()) }
                                    td { (postback.attempts) }
                                    td { (postback.last_status_code.map(|c| c.to_string()).unwrap_or_default()) " " (postback.last_error.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(content) = view.content {
                h2 { "Content" }
                details {
                    summary { "The normalized markdown" }
                    pre { code { (content) } }
                }
            }
        },
    )
}

/// A run's phases as one bar, each phase as wide as its share of the run's time.
fn phases(run: &Run) -> Markup {
    let t = &run.timings;
    let parts = [("fetch", t.fetch), ("normalize", t.normalize), ("context", t.context), ("artifacts", t.artifacts)];
    let total: u64 = parts.iter().filter_map(|(_, ms)| *ms).sum();
    let label: Vec<String> = parts.iter().filter_map(|(name, ms)| ms.map(|ms| format!("{name} {ms} ms"))).collect();
    html! {
        @if total > 0 {
            div.phases role="img" aria-label=(label.join(", ")) {
                @for (name, ms) in parts {
                    @if let Some(ms) = ms.filter(|ms| *ms > 0) {
                        span class=(name) style={ "width: " (ms * 100 / total) "%" } {}
                    }
                }
            }
        }
    }
}

fn ms(value: Option<u64>) -> String {
    value.map_or_else(|| "–".to_owned(), |ms| format!("{ms} ms"))
}

fn context_panel(context: &Context) -> Markup {
    let draft = &context.draft;
    let share = match (draft.original_tokens, draft.context_tokens) {
        (0, _) => 100,
        (original, compact) => (compact.saturating_mul(100) / original).min(100),
    };
    html! {
        div.panel {
            p {
                (draft.context_tokens) " context tokens from " (draft.original_tokens) " original"
                @if let Some(ratio) = draft.compression_ratio() { " (ratio " (ratio) ")" }
            }
            div.bar role="img" aria-label={ "The context is " (share) "% of the original's tokens" } {
                span style={ "width: " (share) "%" } {}
            }
            @if let Some(summary) = &draft.summary { h3 { "Summary" } p { (summary) } }
            @for (heading, items) in [("Key points", &draft.key_points), ("Decisions", &draft.decisions), ("Open questions", &draft.open_questions)] {
                @if !items.is_empty() {
                    h3 { (heading) }
                    ul { @for item in items { li { (item) } } }
                }
            }
            details {
                summary { "The whole context" }
                div { (PreEscaped(markdown::to_html(&draft.content))) }
            }
        }
    }
}

fn artifact_panel(artifact: &Artifact) -> Markup {
    let draft = &artifact.draft;
    let id = format!("artifact-{}", artifact.id);
    html! {
        div.panel {
            p {
                strong { (draft.kind.as_str()) }
                @if let Some(language) = &draft.language { " · " (language) }
                @if let Some(title) = &draft.title { " · " (title) }
                " " button.secondary type="button" data-copy=(id) hidden { "Copy" }
            }
            @if draft.kind == ArtifactKind::Table {
                div.table-wrap { (PreEscaped(markdown::to_html(&draft.content))) }
                pre hidden { code #(id) { (draft.content) } }
            } @else {
                @if let Some(highlighted) = highlight::to_html(&draft.content, draft.language.as_deref()) {
                    pre { code #(id) { (PreEscaped(highlighted)) } }
                } @else {
                    pre { code #(id) { (draft.content) } }
                }
            }
        }
    }
}

pub fn diff(session: &ConsoleSession, source: &Source, diff: &RevisionDiff, side_by_side: bool) -> Page {
    let base = format!("/sources/{}/diff?to={}&from={}", source.id, diff.to, diff.from);
    layout(
        "Diff",
        Some(session),
        None,
        html! {
            p { a href={ "/sources/" (source.id) } { "← " (source_name(source)) } }
            h1 { "Revision " (diff.from) " → " (diff.to) }
            @if !diff.changed { p { "The markdown did not change." } }
            p {
                @if side_by_side { a href=(base) { "Unified view" } } @else { a href={ (base) "&view=split" } { "Side-by-side view" } }
            }
            @if side_by_side {
                div.table-wrap {
                    table.diff {
                        thead { tr { th { "Revision " (diff.from) } th { "Revision " (diff.to) } } }
                        tbody {
                            @for row in split(&diff.unified) {
                                tr {
                                    td class=[(!row.same && row.old.is_some()).then_some("del")] { pre { (row.old.as_deref().unwrap_or("")) } }
                                    td class=[(!row.same && row.new.is_some()).then_some("add")] { pre { (row.new.as_deref().unwrap_or("")) } }
                                }
                            }
                        }
                    }
                }
            } @else {
                pre.diff {
                    @for line in diff.unified.lines() {
                        @let class = if line.starts_with("@@") { "hunk" } else if line.starts_with('+') { "add" } else if line.starts_with('-') { "del" } else { "" };
                        span class=(class) { (line) } "\n"
                    }
                }
            }
        },
    )
}

pub fn search(session: &ConsoleSession, space: &Space, query: &str, found: &[Artifact], total: u64) -> Page {
    layout(
        "Search",
        Some(session),
        None,
        html! {
            p { a href={ "/spaces/" (space.id) } { "← " (space.name) } }
            h1 { "Artifacts matching “" (query) "”" }
            p.muted { (total) " found" }
            @for artifact in found {
                p { a href={ "/sources/" (artifact.source_id) } { "From this source" } }
                (artifact_panel(artifact))
            }
        },
    )
}

pub fn keys(session: &ConsoleSession, keys: &[ApiKey], issued: Option<&str>, form: &FormState) -> Page {
    layout(
        "API keys",
        Some(session),
        None,
        html! {
            h1 { "API keys" }
            @if let Some(secret) = issued {
                div.notice.ok role="status" {
                    p { "Your new key. Copy it now: it is shown only once." }
                    pre { code #new-key { (secret) } }
                    button.secondary type="button" data-copy="new-key" hidden { "Copy" }
                }
            }
            div.table-wrap {
                table {
                    thead { tr { th { "Name" } th { "Key" } th { "Created" } th { "Expires" } th { "State" } th {} } }
                    tbody {
                        @for key in keys {
                            tr {
                                td { (key.name.as_deref().unwrap_or("–")) }
                                td { code { (key.key_prefix) "…" } }
                                td { (time(key.created_at)) }
                                td { (key.expiration_date.map_or_else(|| "never".to_owned(), time)) }
                                td { @if key.revoked_at.is_some() { "revoked" } @else { "active" } }
                                td {
                                    @if key.revoked_at.is_none() {
                                        form.inline method="post" action={ "/keys/" (key.id) "/revoke" } {
                                            (csrf(session))
                                            button.danger type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "New key" }
            (notice(form.message.as_deref()))
            form.panel method="post" action="/keys" {
                (csrf(session))
                label for="key-name" { "Name (optional)" }
                input #key-name type="text" name="name" value=(form.value("name"));
                (field_errors(&form.errors, "name"))
                p { button type="submit" { "Create key" } }
            }
        },
    )
}

pub fn error_page(status: StatusCode, error: &Error) -> Page {
    let title = status.canonical_reason().unwrap_or("Error");
    layout(
        title,
        None,
        None,
        html! {
            h1 { (title) }
            p { (error.public_message()) }
            @for detail in error.details() { p.field-error { (detail.field) ": " (detail.message) } }
            p { a href="/spaces" { "Back to your spaces" } }
        },
    )
}
