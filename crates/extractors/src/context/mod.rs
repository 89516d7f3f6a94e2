//! The default context extractor: deterministic and offline. It ranks sentences with
//! TextRank for the summary and key points, finds decisions and open questions (by
//! cue phrases in documents; by following the turns in a chat), points at every
//! artifact, and renders the compact markdown a person pastes into a new chat.

use std::fmt::Write as _;

use ctxd_domain::{
    model::{ArtifactDraft, ContextDraft, Document, DocumentFormat, Role},
    ports::ContextExtractor,
};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::{
    chat::aider::{COMMANDS, Commit, OUTPUT_COMMANDS, commits_in, files_edited, removed_in},
    count_tokens, textrank,
};

mod chat;
mod chat_cues;
mod chat_decisions;
mod chat_open;
mod document;
mod render;

use self::{chat::*, chat_cues::*, chat_decisions::*, chat_open::*, document::*, render::*};

/// Extractive context: same input, byte-identical output.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractiveContextExtractor;

#[async_trait::async_trait]
impl ContextExtractor for ExtractiveContextExtractor {
    fn version(&self) -> &'static str {
        // 9: a web page's context names its kind ("Page type: forum").
        // 10: a chat's last reply that asks for something without a question mark
        // ("Please provide …", "I couldn't find …") leaves an open question.
        // 11: a sentence written more than once is ranked once (a thread's quoted
        // posts filled its summary with one sentence three times); a document's
        // outline nests by the headings above each, not by their level; ad labels
        // and edit stamps are not summary material.
        // 12: a failure the user reports decides nothing, unless a later message
        // confirms the reply's fix (then that fix is the decision); a thanks that
        // reports results only confirms, and picks no option the assistant offered;
        // a bare approval is worded by the proposal when its reply only leads in
        // ("Here is the migration:"), a pick of a listed option by that option; code
        // introduced "for reference" is reference; a request put as a question and
        // carried out is a decision; a problem reported last and unanswered is open.
        "extractive-12"
    }

    async fn extract(&self, document: &Document, artifacts: &[ArtifactDraft]) -> ContextDraft {
        self.draft(document, artifacts)
    }

    fn count_tokens(&self, text: &str) -> u64 {
        count_tokens(text)
    }
}

impl ExtractiveContextExtractor {
    /// The context, synchronously (the extraction is pure CPU).
    pub fn draft(&self, document: &Document, artifacts: &[ArtifactDraft]) -> ContextDraft {
        let mut draft = if document.format == DocumentFormat::Chat && !document.turns.is_empty() {
            chat_context(document, artifacts)
        } else {
            document_context(document, artifacts)
        };
        draft.original_tokens = count_tokens(&document.markdown);
        draft.context_tokens = count_tokens(&draft.content);
        draft
    }
}

const SUMMARY_SENTENCES: usize = 3;
const KEY_POINTS: usize = 7;
const MAX_ITEM_CHARS: usize = 300;

/// How much of a request the conversation list repeats when Decisions quotes it whole.
const RECALLED_CHARS: usize = 100;
const MAX_OUTLINE: usize = 60;

/// A block of prose (paragraph, list item or heading) outside code.
#[derive(Debug)]
struct Block {
    text: String,
    line: u32,
    heading: Option<u8>,
}

/// The prose blocks of `markdown` with their first line.
fn blocks(markdown: &str) -> Vec<Block> {
    let line_starts: Vec<usize> = std::iter::once(0).chain(markdown.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset) as u32;
    let mut out = Vec::new();
    let mut stack: Vec<(String, u32, Option<u8>)> = Vec::new();
    let mut in_code = false;
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_) | Tag::Table(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock | TagEnd::Table) => in_code = false,
            Event::Start(Tag::Paragraph | Tag::Item) => stack.push((String::new(), line_of(range.start), None)),
            Event::Start(Tag::Heading { level, .. }) => {
                stack.push((String::new(), line_of(range.start), Some(level as u8)));
            }
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::Heading(_)) => {
                if let Some((text, line, heading)) = stack.pop() {
                    let text = crate::math::plain(&text).split_whitespace().collect::<Vec<_>>().join(" ");
                    if !text.is_empty() {
                        out.push(Block { text, line, heading });
                    }
                }
            }
            Event::Text(text) | Event::Code(text) if !in_code => {
                if let Some((current, _, _)) = stack.last_mut() {
                    // Markdown reads `\(` as an escaped `(` (the text starts after the
                    // backslash); put the backslash back so LaTeX math delimiters survive
                    // to `math::plain`.
                    if markdown[..range.start].ends_with('\\') && text.starts_with(['(', ')', '[', ']']) {
                        current.push('\\');
                    }
                    current.push_str(&text);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((current, _, _)) = stack.last_mut() {
                    current.push(' ');
                }
            }
            // `profile-<datetime>.md`: markdown reads `<datetime>` as an HTML tag, but in
            // prose people type it as a placeholder, which a context must keep.
            Event::InlineHtml(html) if !in_code && is_placeholder(&html) => {
                if let Some((current, _, _)) = stack.last_mut() {
                    current.push_str(&html);
                }
            }
            _ => {}
        }
    }
    // Items are closed after the paragraphs inside them; keep reading order.
    out.sort_by_key(|b| b.line);
    out.dedup_by(|b, a| a.line == b.line && a.text.ends_with(&b.text));
    out
}

fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    // Cut at a word boundary when one is near.
    let cut = match cut.rfind(' ') {
        Some(at) if at > max * 3 / 4 => cut[..at].to_owned(),
        _ => cut,
    };
    format!("{}…", cut.trim_end())
}

/// The top sentences for the summary (in document order) and the next ones as key
/// points, among those `eligible` by index.
///
/// A sentence written more than once (a forum post quoted by its replies, a label on
/// every card) is ranked once, as its first copy: copies would vote for each other
/// in TextRank's graph and could fill the summary with one sentence twice.
fn summary_and_key_points(texts: &[String], eligible: impl Fn(usize) -> bool) -> (Option<String>, Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    let firsts: Vec<usize> = (0..texts.len()).filter(|&i| seen.insert(texts[i].to_lowercase())).collect();
    let unique: Vec<String> = firsts.iter().map(|&i| texts[i].clone()).collect();
    let ranked: Vec<usize> = textrank::rank(&unique)
        .into_iter()
        .map(|at| firsts[at])
        .filter(|&i| {
            eligible(i)
                && texts[i].split_whitespace().count() >= 4
                && texts[i].chars().count() <= 400
                && !is_filler(&texts[i])
        })
        .collect();
    let mut summary_ids: Vec<usize> = ranked.iter().copied().take(SUMMARY_SENTENCES).collect();
    summary_ids.sort_unstable();
    let summary = summary_ids.iter().map(|&i| texts[i].as_str()).collect::<Vec<_>>().join(" ");
    let mut key_ids: Vec<usize> = ranked.iter().copied().skip(SUMMARY_SENTENCES).take(KEY_POINTS).collect();
    key_ids.sort_unstable();
    let key_points = key_ids.iter().map(|&i| shorten(&texts[i], MAX_ITEM_CHARS)).collect();
    ((!summary.is_empty()).then_some(summary), key_points)
}

/// Openings of sentences that carry no content of their own: apologies and thanks, and
/// a page's labels around its content (an ad's "Advertisement - Members don't see this
/// ad" above a forum post, a post's "Last edited: Jul 25, 2024").
const FILLER_OPENINGS: &[&str] = &[
    "i apologize",
    "i apologise",
    "apologies",
    "sorry",
    "thank you",
    "thanks",
    "advertisement",
    "sponsored",
    "last edited",
];

/// Openings of a sentence ending in a colon that only announce what follows.
const INTRODUCER_OPENINGS: &[&str] = &[
    "here",
    "now",
    "let's",
    "let me",
    "first",
    "next",
    "then",
    "finally",
    "i'll",
    "i will",
    "we'll",
    "we can",
    "to do this",
    "to implement",
    "you can",
    "below",
];

/// A sentence that says nothing by itself: an apology or thanks, or one that only
/// announces what follows it ("Here are the changes:", "Now, let's update main.py:",
/// "…the following:"), which a summary or key point would quote without the thing
/// announced. A colon after a statement of its own ("Start with a TTL of 5 minutes:")
/// keeps the sentence.
fn is_filler(sentence: &str) -> bool {
    let lower = sentence.trim().to_lowercase();
    // A list number or bold marker before the words ("2. Now, let's ...").
    let words = lower.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | ')' | '*' | ' '));
    // A whole word or words: "now" is not "nowadays", "here" not "hereby".
    let opens_with = |opening: &&str| {
        words.strip_prefix(*opening).is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric()))
    };
    let announces = lower.ends_with(':')
        && (INTRODUCER_OPENINGS.iter().any(opens_with)
            || lower.contains("the following")
            || lower.contains("as follows"));
    announces || FILLER_OPENINGS.iter().any(opens_with)
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|i| seen.insert(i.to_lowercase())).collect()
}

#[cfg(test)]
mod tests;
