//! Composing a COMPOSITION source from its members: their normalized markdown in
//! order, their artifacts (renumbered, duplicates kept once) and their contexts. A
//! composition is built from what its members already are, never re-extracted, so
//! it says exactly what its members say.

use std::collections::HashMap;

use super::{ArtifactDraft, ContextDraft};

/// One member as the composition sees it.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// What the composition calls the member: its name, else its title.
    pub label: &'a str,
    /// `None` while the member has no content yet; it is listed as missing.
    pub markdown: Option<&'a str>,
    pub context: Option<&'a ContextDraft>,
    /// The member's artifacts, in the order its references (`A1`, `A2`, ...) use.
    pub artifacts: &'a [ArtifactDraft],
}

/// What a composition revision holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub markdown: String,
    pub artifacts: Vec<ArtifactDraft>,
    /// Token counts are left at zero: the caller owns the tokenizer.
    pub context: ContextDraft,
}

/// Between members in the composed markdown.
const SEPARATOR: &str = "\n---\n\n";

/// Composes `members` in order under `title`.
pub fn compose(title: &str, members: &[Member<'_>]) -> Composed {
    let mut markdown = String::new();
    let mut artifacts: Vec<ArtifactDraft> = Vec::new();
    let mut first_of: HashMap<String, usize> = HashMap::new();
    let mut context = ContextDraft { title: Some(title.to_owned()), ..ContextDraft::default() };
    let mut sections = String::new();
    let mut summaries = Vec::new();
    let mut missing = Vec::new();

    for member in members {
        let Some(body) = member.markdown else {
            missing.push(member.label);
            continue;
        };
        if !markdown.is_empty() {
            markdown.push_str(SEPARATOR);
        }
        // Lines before this member's first line shift its artifacts' provenance.
        let offset = u32::try_from(markdown.lines().count()).unwrap_or(u32::MAX);
        markdown.push_str(body.trim_end());
        markdown.push('\n');

        // Where each of the member's references lands in the composition.
        let mut renumber = Vec::with_capacity(member.artifacts.len());
        for artifact in member.artifacts {
            let index = *first_of.entry(artifact.content_hash()).or_insert_with(|| {
                let mut moved = artifact.clone();
                moved.provenance.start_line = moved.provenance.start_line.saturating_add(offset);
                moved.provenance.end_line = moved.provenance.end_line.saturating_add(offset);
                artifacts.push(moved);
                artifacts.len() - 1
            });
            renumber.push(index);
        }

        context.outline.push(member.label.to_owned());
        let Some(part) = member.context else { continue };
        let fix = |text: &str| renumber_references(text, &renumber);
        if let Some(summary) = &part.summary {
            summaries.push(format!("{}: {}", member.label, fix(summary)));
        }
        context.key_points.extend(part.key_points.iter().map(|p| fix(p)));
        context.decisions.extend(part.decisions.iter().map(|d| fix(d)));
        context.open_questions.extend(part.open_questions.iter().map(|q| fix(q)));
        sections.push_str(&format!(
            "## {}\n\n{}\n\n",
            member.label,
            fix(&demote(&without_title_and_pointers(&part.content)))
        ));
    }

    let included = members.len() - missing.len();
    let mut content =
        format!("# {title}\n\nA composition of {included} source{}", if included == 1 { "" } else { "s" });
    if !missing.is_empty() {
        content.push_str(&format!("; not yet available: {}", missing.join(", ")));
    }
    content.push_str(".\n\n");
    content.push_str(&sections);
    content.push_str(&ArtifactDraft::pointers(&artifacts));
    context.content = content.trim_end().to_owned() + "\n";
    context.summary = (!summaries.is_empty()).then(|| summaries.join("\n\n"));
    Composed { markdown, artifacts, context }
}

/// A member's context without its `# title` line (the composition gives it a
/// heading) and without its `## Artifacts` section (the composition lists all
/// artifacts once, renumbered).
fn without_title_and_pointers(content: &str) -> String {
    let mut out = Vec::new();
    let mut skipping = false;
    for (i, line) in content.lines().enumerate() {
        if i == 0 && line.starts_with("# ") {
            continue;
        }
        if line.starts_with('#') {
            skipping = line == "## Artifacts";
        }
        if !skipping {
            out.push(line);
        }
    }
    out.join("\n").trim().to_owned()
}

/// Pushes every heading one level down, so a member's `## Decisions` sits under
/// the composition's `## member` heading. Code fences are left alone.
fn demote(text: &str) -> String {
    let mut fence: Option<&str> = None;
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        let trimmed = line.trim_start();
        match fence {
            Some(marker) if trimmed.starts_with(marker) => fence = None,
            Some(_) => {}
            None if trimmed.starts_with("```") => fence = Some("```"),
            None if trimmed.starts_with("~~~") => fence = Some("~~~"),
            None if line.starts_with('#') && line.len() < 200 => out.push('#'),
            None => {}
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

/// Rewrites `[A3]` to the composition's number for the member's third artifact.
fn renumber_references(text: &str, renumber: &[usize]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("[A") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let target = after[..digits].parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| renumber.get(i));
        match target {
            Some(index) if after[digits..].starts_with(']') => {
                out.push('[');
                out.push_str(&ArtifactDraft::reference(*index));
                out.push(']');
                rest = &after[digits + 1..];
            }
            _ => {
                out.push_str("[A");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
