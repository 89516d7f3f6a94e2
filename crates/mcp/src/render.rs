//! The text an assistant reads: markdown renderings of spaces, sources, contexts and
//! artifacts, compact and with the ids a next tool call needs.

use std::fmt::Write;

use ctxd_domain::{
    model::{Artifact, Context, Source, Space},
    services::ListedRevision,
};

pub fn spaces(spaces: &[Space], total: u64) -> String {
    let mut text = format!("{total} space(s).\n");
    for space in spaces {
        let _ = write!(text, "\n- {} (id `{}`)", space.name, space.id);
        if let Some(description) = &space.description {
            let _ = write!(text, ": {description}");
        }
    }
    text
}

fn name_of(source: &Source) -> String {
    source.name.clone().unwrap_or_else(|| match &source.input {
        ctxd_domain::model::SourceInput::Uri { url } => url.to_string(),
        other => other.source_type().as_str().to_lowercase(),
    })
}

pub fn sources(sources: &[Source], total: u64) -> String {
    let mut text = format!("{total} source(s).\n");
    for source in sources {
        let _ = write!(text, "\n- {}", status_line(source));
    }
    text
}

/// One line: name, id, type, status, revision and token counts.
pub fn status_line(source: &Source) -> String {
    let mut line = format!(
        "{} (id `{}`, {}): {}",
        name_of(source),
        source.id,
        source.input.source_type().as_str(),
        source.status.as_str()
    );
    if let Some(revision) = source.revision {
        let _ = write!(line, ", revision {revision}");
    }
    if let (Some(original), Some(context)) = (source.stats.original_tokens, source.stats.context_tokens) {
        let _ = write!(line, ", {context} context tokens from {original}");
    }
    if let Some(message) = &source.message {
        let _ = write!(line, " ({message})");
    }
    line
}

pub fn status(source: &Source, revisions: &[ListedRevision]) -> String {
    let mut text = status_line(source);
    if let Some(run) = &source.last_run {
        let _ = write!(text, "\nLast run: {} {}", run.kind.as_str(), run.status.as_str());
        if let Some(outcome) = run.outcome {
            let _ = write!(text, " ({})", outcome.as_str());
        }
        let _ = write!(text, ", attempt {}", run.attempt);
        if let Some(error) = &run.error {
            let _ = write!(text, ", error: {error}");
        }
        if let Some(at) = run.retry_at {
            let _ = write!(text, ", next attempt at {}", at.to_rfc3339());
        }
    }
    if !revisions.is_empty() {
        text.push_str("\nRevisions:");
        for listed in revisions {
            let revision = &listed.revision;
            let _ = write!(text, "\n- {} fetched {}", revision.number, revision.fetched_at.to_rfc3339());
            if !listed.content_available {
                text.push_str(" (content no longer kept)");
            }
        }
    }
    text
}

/// A context as markdown: title, summary, key points, decisions, open questions, the
/// compact content, and the token counts.
pub fn context(source: &Source, context: &Context) -> String {
    let draft = &context.draft;
    let mut text = format!("# {}\n", draft.title.clone().unwrap_or_else(|| name_of(source)));
    let _ = write!(
        text,
        "\nFrom {} (source `{}`), revision {}: {} context tokens from {} original",
        name_of(source),
        source.id,
        context.revision,
        draft.context_tokens,
        draft.original_tokens
    );
    // A short text's context can come out longer than the text; no ratio then.
    if let Some(ratio) = draft.compression_ratio().filter(|ratio| *ratio > 1.0) {
        let _ = write!(text, " ({ratio}x smaller)");
    }
    text.push('\n');
    if let Some(summary) = &draft.summary {
        let _ = write!(text, "\n## Summary\n\n{summary}\n");
    }
    for (heading, items) in
        [("Key points", &draft.key_points), ("Decisions", &draft.decisions), ("Open questions", &draft.open_questions)]
    {
        if !items.is_empty() {
            let _ = write!(text, "\n## {heading}\n\n");
            for item in items {
                let _ = writeln!(text, "- {item}");
            }
        }
    }
    if !draft.content.is_empty() {
        let _ = write!(text, "\n## Context\n\n{}\n", draft.content);
    }
    text
}

pub fn artifact(artifact: &Artifact) -> String {
    let draft = &artifact.draft;
    let mut text = format!(
        "{} `{}` from source `{}` (revision {})",
        draft.kind.as_str(),
        artifact.id,
        artifact.source_id,
        artifact.revision
    );
    if let Some(title) = &draft.title {
        let _ = write!(text, ": {title}");
    }
    let fence = if draft.content.contains("```") { "````" } else { "```" };
    let _ = write!(text, "\n\n{fence}{}\n{}\n{fence}", draft.language.as_deref().unwrap_or(""), draft.content);
    text
}

pub fn artifacts(artifacts: &[Artifact], total: u64) -> String {
    let mut text = format!("{total} artifact(s) found.");
    for found in artifacts {
        text.push_str("\n\n");
        text.push_str(&artifact(found));
    }
    text
}
