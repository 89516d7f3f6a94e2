//! The source page: its status and actions, context, artifacts, runs, revisions,
//! postback deliveries and content (the largest page, kept apart from the others).

use ctxd_domain::{
    model::{Artifact, ArtifactKind, Context, Postback, Run, Source},
    services::{ListedRevision, console::ConsoleSession},
};
use maud::{Markup, PreEscaped, html};

use crate::{
    highlight, markdown,
    pages::{Page, csrf, layout, source_name, time},
};

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

pub(crate) fn artifact_panel(artifact: &Artifact) -> Markup {
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
