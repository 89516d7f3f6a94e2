//! A document's context: outline, TextRank summary and key points, decisions and open
//! questions found by cue phrases and question sections.

use super::*;

pub(super) const DECISION_CUES: &[&str] = &[
    "we'll use",
    "we will use",
    "we'll go with",
    "we will go with",
    "let's go with",
    "let's use",
    "lets go with",
    "decided",
    "decision:",
    "we chose",
    "we choose",
    "going with",
    "settled on",
    "agreed to",
    "we agreed",
    "final choice",
    "we opted",
    "opted for",
    "will be used",
    "we use ",
    "instead of",
];

/// The headings as an outline, each indented two spaces per heading above it that
/// it sits under: a page that goes from `#` to `####` nests one step, not three.
fn outline_of(headings: &[&Block]) -> Vec<String> {
    let mut open: Vec<u8> = Vec::new();
    headings
        .iter()
        .take(MAX_OUTLINE)
        .map(|heading| {
            let level = heading.heading.unwrap_or(1);
            while open.last().is_some_and(|&above| above >= level) {
                open.pop();
            }
            let line = format!("{}{}", "  ".repeat(open.len()), heading.text);
            open.push(level);
            line
        })
        .collect()
}

pub(super) fn is_decision(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    DECISION_CUES.iter().any(|cue| lower.contains(cue)) && !lower.ends_with('?')
}

pub(super) const QUESTION_SECTIONS: &[&str] =
    &["open question", "questions", "unresolved", "tbd", "to be decided", "open issues", "todo", "next steps"];

pub(super) const OPEN_CUES: &[&str] =
    &["tbd", "to be decided", "open question", "not yet decided", "undecided", "unclear whether"];

/// A document's context: title, outline, TextRank summary and key points, cue-based
/// decisions and open questions, and the artifact list.
pub(super) fn document_context(document: &Document, artifacts: &[ArtifactDraft]) -> ContextDraft {
    let blocks = blocks(&document.markdown);
    let headings: Vec<&Block> = blocks.iter().filter(|b| b.heading.is_some()).collect();
    let title = document
        .title
        .clone()
        .or_else(|| headings.first().map(|h| h.text.clone()))
        .or_else(|| blocks.first().map(|b| shorten(&b.text, 80)));
    let outline = outline_of(&headings);

    // Sentences with the heading they sit under.
    let mut sentences = Vec::new();
    let mut section = String::new();
    for block in &blocks {
        if block.heading.is_some() {
            section = block.text.to_lowercase();
            continue;
        }
        for sentence in textrank::sentences(&block.text) {
            sentences.push((sentence, section.clone()));
        }
    }
    let texts: Vec<String> = sentences.iter().map(|(s, _)| s.clone()).collect();
    let (summary, key_points) = summary_and_key_points(&texts, |_| true);

    let decisions = dedup(texts.iter().filter(|s| is_decision(s)).map(|s| shorten(s, MAX_ITEM_CHARS)));
    let open_questions = dedup(
        sentences
            .iter()
            .filter(|(s, section)| {
                let lower = s.to_lowercase();
                let in_questions = QUESTION_SECTIONS.iter().any(|q| section.contains(q));
                (in_questions && (lower.ends_with('?') || !is_decision(s)))
                    || OPEN_CUES.iter().any(|c| lower.contains(c))
            })
            .map(|(s, _)| shorten(s, MAX_ITEM_CHARS)),
    );

    let mut content = String::new();
    if let Some(title) = &title {
        let _ = writeln!(content, "# {title}\n");
    }
    // The kind of web page tells a reader what the content is made of (a thread's
    // posts, a shop's items) before they read it.
    if let Some(page_type) = document.page_type {
        let _ = writeln!(content, "Page type: {page_type}\n");
    }
    if let Some(summary) = &summary {
        let _ = writeln!(content, "{summary}\n");
    }
    if outline.len() >= 3 {
        section_list(&mut content, "Outline", &outline, false);
    }
    section_list(&mut content, "Key points", &key_points, false);
    section_list(&mut content, "Decisions", &decisions, false);
    section_list(&mut content, "Open questions", &open_questions, false);
    artifact_list(&mut content, artifacts);
    ContextDraft {
        content: content.trim_end().to_owned() + "\n",
        title,
        summary,
        outline,
        key_points,
        decisions,
        open_questions,
        ..ContextDraft::default()
    }
}
