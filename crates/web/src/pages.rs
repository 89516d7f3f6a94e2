//! The console's pages as maud templates: one layout, one function per page. Every
//! value is escaped by maud; markdown goes through `markdown::to_html`.

use axum::http::StatusCode;
use ctxd_domain::{
    Error, FieldError,
    ids::CollectionId,
    model::{ApiKey, Artifact, CollectionNode, Source, Space},
    services::{RevisionDiff, console::ConsoleSession},
};
use maud::{DOCTYPE, Markup, html};

use crate::diff::split;

pub(crate) fn time(at: chrono::DateTime<chrono::Utc>) -> String {
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

pub(crate) fn csrf(session: &ConsoleSession) -> Markup {
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

pub(crate) fn source_name(source: &Source) -> String {
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
                (crate::source_page::artifact_panel(artifact))
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
