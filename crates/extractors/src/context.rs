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

use crate::{count_tokens, textrank};

/// Extractive context: same input, byte-identical output.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractiveContextExtractor;

#[async_trait::async_trait]
impl ContextExtractor for ExtractiveContextExtractor {
    fn version(&self) -> &'static str {
        "extractive-8"
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

const DECISION_CUES: &[&str] = &[
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

fn is_decision(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    DECISION_CUES.iter().any(|cue| lower.contains(cue)) && !lower.ends_with('?')
}

const QUESTION_SECTIONS: &[&str] =
    &["open question", "questions", "unresolved", "tbd", "to be decided", "open issues", "todo", "next steps"];
const OPEN_CUES: &[&str] =
    &["tbd", "to be decided", "open question", "not yet decided", "undecided", "unclear whether"];

/// A document's context: title, outline, TextRank summary and key points, cue-based
/// decisions and open questions, and the artifact list.
fn document_context(document: &Document, artifacts: &[ArtifactDraft]) -> ContextDraft {
    let blocks = blocks(&document.markdown);
    let headings: Vec<&Block> = blocks.iter().filter(|b| b.heading.is_some()).collect();
    let title = document
        .title
        .clone()
        .or_else(|| headings.first().map(|h| h.text.clone()))
        .or_else(|| blocks.first().map(|b| shorten(&b.text, 80)));
    let outline: Vec<String> = headings
        .iter()
        .take(MAX_OUTLINE)
        .map(|h| format!("{}{}", "  ".repeat(h.heading.unwrap_or(1).saturating_sub(1) as usize), h.text))
        .collect();

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

/// The top sentences for the summary (in document order) and the next ones as key
/// points, among those `eligible` by index.
fn summary_and_key_points(texts: &[String], eligible: impl Fn(usize) -> bool) -> (Option<String>, Vec<String>) {
    let ranked: Vec<usize> = textrank::rank(texts)
        .into_iter()
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

/// Openings of sentences that carry no content of their own: apologies and thanks.
const FILLER_OPENINGS: &[&str] = &["i apologize", "i apologise", "apologies", "sorry", "thank you", "thanks"];

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

fn section_list(out: &mut String, heading: &str, items: &[String], numbered: bool) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {heading}\n");
    for (i, item) in items.iter().enumerate() {
        if numbered {
            let _ = writeln!(out, "{}. {item}", i + 1);
        } else {
            // Outline entries carry their depth as leading spaces: nest the bullets.
            let depth = item.len() - item.trim_start().len();
            let _ = writeln!(out, "{}- {}", " ".repeat(depth), item.trim_start());
        }
    }
    out.push('\n');
}

fn artifact_list(out: &mut String, artifacts: &[ArtifactDraft]) {
    out.push_str(&ArtifactDraft::pointers(artifacts));
}

/// aider's commands that can add their output to the chat for the model to read.
const OUTPUT_COMMANDS: &[&str] = &["/run", "/test", "/lint", "/web"];

/// aider's slash commands that are not conversation turns.
const COMMANDS: &[&str] = &[
    "/add",
    "/drop",
    "/clear",
    "/diff",
    "/run",
    "/tokens",
    "/help",
    "/ls",
    "/commit",
    "/lint",
    "/test",
    "/web",
    "/read-only",
    "/map",
    "/settings",
    "/paste",
    "/voice",
    "/reset",
    "/exit",
    "/quit",
    "/git",
    "/copy",
    "/editor",
];

const INTERROGATIVES: &[&str] = &[
    "what", "why", "how", "is", "are", "can", "could", "does", "do", "should", "would", "which", "where", "when",
    "who", "will", "did", "any", "was",
];

fn is_question(text: &str) -> bool {
    let last = textrank::sentences(text).pop().unwrap_or_default();
    let first_word = text.split_whitespace().next().unwrap_or_default().to_lowercase();
    last.ends_with('?') || INTERROGATIVES.contains(&first_word.trim_matches(|c: char| !c.is_alphanumeric()))
}

/// The reply's closing question when it asks the user to choose (it starts with
/// which/what/how/where/when/who): not a yes/no offer, however politely put.
fn trailing_choice_question(reply: &str) -> Option<String> {
    let last = textrank::sentences(&prose_of(reply)).pop()?;
    let first = last.split_whitespace().next()?.to_lowercase();
    let choice = ["which", "what", "how", "where", "when", "who"].contains(&first.as_str());
    (last.ends_with('?') && choice).then_some(last)
}

/// Whether a user message reads as an answer to a question just asked: short, or
/// opening with a pick ("1", "the first", "yes", "go with", "option B", ...).
fn answers(message: &str) -> bool {
    const PICKS: [&str; 16] = [
        "yes", "no", "ok", "okay", "sure", "go", "let's", "lets", "option", "the", "first", "second", "both", "either",
        "start", "begin",
    ];
    let first = message.split_whitespace().next().unwrap_or_default().to_lowercase();
    let first = first.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'');
    message.split_whitespace().count() <= 12 || PICKS.contains(&first) || first.chars().all(|c| c.is_ascii_digit())
}

/// A user wondering why something happens, without necessarily asking.
const PUZZLEMENT_CUES: &[&str] = &[
    "seems weird",
    "is weird",
    "weird that",
    "strange that",
    "seems odd",
    "odd that",
    "i wonder why",
    "not sure why",
    "surprising that",
    "don't understand why",
    "do not understand why",
];

/// Whether a reply's prose gives a reason.
fn explains(reply: &str) -> bool {
    const REASONS: [&str; 8] =
        ["because", "due to", "the reason", "this happens", "caused by", "is expected", "explains", "this is why"];
    let prose = prose_of(reply).to_lowercase();
    REASONS.iter().any(|reason| prose.contains(reason))
}

const POLITE_CLOSERS: &[&str] = &[
    "would you like",
    "do you want",
    "shall i",
    "should i",
    "let me know",
    "is there anything",
    "anything else",
    "would it help",
    "do you need",
    "can i help",
];

/// One user message and what followed it until the next one.
struct Exchange<'a> {
    user: String,
    /// Times the same message was sent (retries after errors).
    sent: u32,
    replies: Vec<&'a str>,
    tool: Vec<&'a str>,
    first_turn: u32,
    last_turn: u32,
}

/// A chat's context: decisions from the user's instructions (with the commits that
/// carried them out), open questions from unanswered questions and the assistant's
/// last unanswered ones, one line per exchange, and the artifact list.
fn chat_context(document: &Document, artifacts: &[ArtifactDraft]) -> ContextDraft {
    let lines: Vec<&str> = document.markdown.lines().collect();
    let turn_text = |index: usize| {
        let turn = &document.turns[index];
        // Skip the `**Role:**` label line.
        let from = (turn.start_line as usize).min(lines.len());
        let to = (turn.end_line as usize).min(lines.len());
        lines[from..to].join("\n")
    };
    let texts: Vec<String> = (0..document.turns.len()).map(turn_text).collect();

    let mut exchanges: Vec<Exchange<'_>> = Vec::new();
    for (i, turn) in document.turns.iter().enumerate() {
        let number = i as u32 + 1;
        match turn.role {
            Role::User => {
                let text = texts[i].trim().to_owned();
                match exchanges.last_mut() {
                    // The same message again after only errors: a retry, not a new question.
                    Some(last) if last.user == text && last.replies.is_empty() => {
                        last.sent += 1;
                        last.last_turn = number;
                    }
                    _ => exchanges.push(Exchange {
                        user: text,
                        sent: 1,
                        replies: Vec::new(),
                        tool: Vec::new(),
                        first_turn: number,
                        last_turn: number,
                    }),
                }
            }
            Role::Assistant => {
                if let Some(last) = exchanges.last_mut() {
                    last.replies.push(&texts[i]);
                    last.last_turn = number;
                }
            }
            Role::Tool => {
                if let Some(last) = exchanges.last_mut() {
                    last.tool.push(&texts[i]);
                    last.last_turn = number;
                }
            }
            Role::System => {}
        }
    }

    let mut decisions = Vec::new();
    let mut open_questions = Vec::new();
    let mut conversation = Vec::new();
    for (index, exchange) in exchanges.iter().enumerate() {
        let (own, commits): (Vec<Commit>, Vec<Commit>) =
            exchange.tool.iter().flat_map(|t| commits_in(t)).partition(|c| c.users_own);
        let command = exchange.user.split_whitespace().next().unwrap_or_default();
        if command == "/undo" {
            let removed: Vec<String> = exchange.tool.iter().flat_map(|t| removed_in(t)).collect();
            let what = if removed.is_empty() { "the last commit".to_owned() } else { removed.join(", ") };
            decisions.push(format!("Undid {what}"));
            continue;
        }
        if command == "/model" {
            let model = exchange.user.trim_start_matches("/model").trim();
            decisions.push(format!("Switched the model to {model}"));
            continue;
        }
        // `/run`, `/test` and friends put their output in the chat: the reply to it is
        // a real exchange (it reads the result), though not a decision.
        let reads_output = OUTPUT_COMMANDS.contains(&command) && !exchange.replies.is_empty();
        if command.starts_with('/') && !reads_output && (COMMANDS.contains(&command) || !exchange.user.contains(' ')) {
            continue;
        }
        let user = request(&exchange.user);
        let question = is_question(user);
        let in_exchange: Vec<(usize, &ArtifactDraft)> = artifacts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.provenance.turn.is_some_and(|t| (exchange.first_turn..=exchange.last_turn).contains(&t)))
            .collect();
        let refs: Vec<String> = in_exchange.iter().map(|(i, _)| ArtifactDraft::reference(*i)).collect();
        let mut gist = exchange.replies.iter().find_map(|r| reply_gist(r)).unwrap_or_default();
        // Results tend to come last ("so the answer is 1/3", "219 errors remain"):
        // keep the exchange's concluding sentence when it carries a value.
        if let Some(conclusion) = exchange.replies.last().and_then(|r| reply_conclusion(r))
            && !gist.contains(conclusion.trim_end_matches(['.', '!']))
        {
            let _ = write!(gist, " … {conclusion}");
        }

        // The user stopped the reply and sent the request again with a change: the
        // later message is what was decided.
        let superseded = commits.is_empty()
            && interrupted(exchange)
            && exchanges.get(index + 1).is_some_and(|next| restates(user, &next.user));
        // Running something decides nothing (its result is in the conversation line),
        // and a question nothing was committed for is no decision either.
        let decided = !(reads_output || superseded || (question && commits.is_empty()));
        // A request the Decisions section quotes whole is only recalled here.
        let quoted_whole = decided && {
            let first = first_paragraph(user);
            let bare = |text: &str| text.replace(['`', '*'], "");
            first.chars().count() <= MAX_ITEM_CHARS
                && bare(&first) == bare(&user.split_whitespace().collect::<Vec<_>>().join(" "))
        };
        let limit = if quoted_whole { RECALLED_CHARS } else { 400 };
        let mut line = format!("**User:** {}", shorten(user, limit).replace('\n', " "));
        if exchange.sent > 1 {
            let _ = write!(line, " (sent {} times)", exchange.sent);
        }
        if !gist.is_empty() {
            let _ = write!(line, " → **Assistant:** {gist}");
        }
        if !refs.is_empty() {
            let _ = write!(line, " [{}]", refs.join(", "));
        }
        if !commits.is_empty() {
            let ids: Vec<&str> = commits.iter().map(|c| c.id.as_str()).collect();
            let _ = write!(line, " (commit {})", ids.join(", "));
        }
        conversation.push(line);

        if !decided {
            if question && !reads_output && !superseded && exchange.replies.is_empty() {
                open_questions.push(format!("{} (no answer)", shorten(user, MAX_ITEM_CHARS)));
            }
        } else {
            let mut decision = shorten(&first_paragraph(user), MAX_ITEM_CHARS);
            let listed = |commits: &[Commit]| {
                commits.iter().map(|c| format!("{} {}", c.id, c.message)).collect::<Vec<_>>().join("; ")
            };
            // What the user had changed by hand was committed first: not this
            // request's work, but a reader needs to know that commit exists.
            match (commits.is_empty(), own.is_empty()) {
                (false, true) => write!(decision, " (commit {})", listed(&commits)),
                (false, false) => write!(
                    decision,
                    " (commit {}; the user's own changes committed first as {})",
                    listed(&commits),
                    listed(&own)
                ),
                (true, false) => write!(decision, " (the user's own changes committed as {})", listed(&own)),
                (true, true) => Ok(()),
            }
            .expect("writing to a String");
            // The values a style or configuration edit set (a colour, a size, a flag)
            // are what a reader of the decision needs, and they live in the edit, not
            // in the prose. A code edit's added lines are logic, not values: left out.
            let mut changed: Vec<(&str, Option<&str>)> = Vec::new();
            let sets_values = |a: &ArtifactDraft| a.language.as_deref().is_some_and(|l| VALUE_LANGUAGES.contains(&l));
            for line in in_exchange.iter().filter(|(_, a)| sets_values(a)).flat_map(|(_, a)| added_lines(&a.content)) {
                if changed.len() < MAX_CHANGED_LINES && !changed.iter().any(|(l, _)| *l == line.0) {
                    changed.push(line);
                }
            }
            if !changed.is_empty() {
                let list: Vec<String> = changed
                    .iter()
                    .map(|(line, was)| match was {
                        Some(was) => format!("`{}` (was `{}`)", shorten(line, 80), shorten(was, 60)),
                        None => format!("`{}`", shorten(line, 80)),
                    })
                    .collect();
                let _ = write!(decision, " — sets {}", list.join(", "));
            }
            decisions.push(decision);
        }
        // Questions the assistant asked at the very end and nobody answered.
        if index + 1 == exchanges.len()
            && let Some(last) = exchange.replies.last()
        {
            for sentence in textrank::sentences(&prose_of(last)) {
                let lower = sentence.to_lowercase();
                if sentence.ends_with('?') && !POLITE_CLOSERS.iter().any(|p| lower.contains(p)) {
                    open_questions.push(shorten(&sentence, MAX_ITEM_CHARS));
                }
            }
        }
        // Puzzlement the user voiced ("it seems weird that it always converges from
        // below") is a question, open until some later reply explains something.
        for sentence in textrank::sentences(&prose_of(user)) {
            let lower = sentence.to_lowercase();
            if PUZZLEMENT_CUES.iter().any(|cue| lower.contains(cue))
                && !exchanges[index..].iter().flat_map(|e| &e.replies).any(|reply| explains(reply))
            {
                open_questions.push(format!("{} (not explained)", shorten(&sentence, MAX_ITEM_CHARS)));
            }
        }
        // A choice the assistant asked for ("Which area should I tackle first?") that
        // the user's next message passed over for something else stays open.
        if let (Some(last), Some(next)) = (exchange.replies.last(), exchanges.get(index + 1))
            && let Some(choice) = trailing_choice_question(last)
            && !answers(&next.user)
        {
            open_questions.push(format!("{} (not answered)", shorten(&choice, MAX_ITEM_CHARS)));
        }
    }
    open_questions.extend(unfinished_at_the_end(&exchanges, artifacts));
    open_questions.extend(commands_left_unreported(&exchanges));
    let decisions = dedup(decisions.into_iter());
    let open_questions = dedup(open_questions.into_iter());

    // Summary and key points from the prose of user and assistant turns.
    let mut sentences = Vec::new();
    let mut from_assistant = Vec::new();
    for (i, turn) in document.turns.iter().enumerate() {
        if matches!(turn.role, Role::User | Role::Assistant) {
            for sentence in textrank::sentences(&prose_of(&texts[i])) {
                from_assistant.push(turn.role == Role::Assistant);
                sentences.push(sentence);
            }
        }
    }
    let (summary, mut key_points) = summary_and_key_points(&sentences, |i| from_assistant[i]);
    // A key point the conversation list already quotes would be said twice.
    key_points.retain(|point| !conversation.iter().chain(&decisions).any(|line| line.contains(point.as_str())));
    let title = document.title.clone().or_else(|| exchanges.first().map(|e| shorten(&first_paragraph(&e.user), 80)));

    let mut content = String::new();
    if let Some(title) = &title {
        let _ = writeln!(content, "# {title}\n");
    }
    let users = exchanges.len();
    let _ = writeln!(content, "A conversation of {} turns ({users} user messages).\n", document.turns.len());
    if let Some(summary) = &summary {
        let _ = writeln!(content, "{summary}\n");
    }
    section_list(&mut content, "Decisions", &decisions, true);
    section_list(&mut content, "Open questions", &open_questions, false);
    section_list(&mut content, "Key points", &key_points, false);
    section_list(&mut content, "Conversation", &conversation, true);
    let mut files =
        files_mentioned(document.turns.iter().zip(&texts).filter(|(t, _)| t.role != Role::Tool).map(|(_, x)| x));
    for file in
        document.turns.iter().zip(&texts).filter(|(t, _)| t.role == Role::Tool).flat_map(|(_, x)| files_edited(x))
    {
        // aider prints absolute paths for files given outside the repository root;
        // one already named relative to it is the same file.
        if !files.iter().any(|known| *known == file || file.ends_with(&format!("/{known}"))) {
            files.push(file);
        }
    }
    if !files.is_empty() {
        let _ = writeln!(content, "## Files mentioned\n\n{}\n", files.join(", "));
    }
    artifact_list(&mut content, artifacts);
    ContextDraft {
        content: content.trim_end().to_owned() + "\n",
        title,
        summary,
        outline: Vec::new(),
        key_points,
        decisions,
        open_questions,
        ..ContextDraft::default()
    }
}

/// What a user message asks, without the `/ask` or `/code` that picks aider's mode.
fn request(message: &str) -> &str {
    message.trim_start_matches("/ask").trim_start_matches("/code").trim()
}

/// Whether the user stopped the exchange's reply: aider prints `^C` when it is
/// interrupted, and a reply cut off mid-block leaves its code fence open.
fn interrupted(exchange: &Exchange<'_>) -> bool {
    let unclosed = |reply: &str| {
        let mut fences = crate::markdown::Fences::default();
        reply.lines().for_each(|line| {
            fences.feed(line);
        });
        fences.in_code()
    };
    exchange.tool.iter().any(|t| t.contains("^C")) || exchange.replies.last().is_some_and(|r| unclosed(r))
}

/// Words a message must have for a near copy of it to count as its restatement.
const RESTATED_MIN_WORDS: usize = 5;

/// Tenths of a message's words a later one must repeat to restate it.
const RESTATED_TENTHS: usize = 8;

/// Whether `later` restates `message`, as a user does who interrupts a reply and
/// sends the request again with a change.
fn restates(message: &str, later: &str) -> bool {
    let words = |text: &str| -> std::collections::HashSet<String> {
        text.split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (mine, theirs) = (words(message), words(request(later)));
    mine.len() >= RESTATED_MIN_WORDS && mine.intersection(&theirs).count() * 10 >= mine.len() * RESTATED_TENTHS
}

/// Work the conversation leaves visibly unfinished: the last problems a reply
/// reported ("219 errors in 31 files") when no later reply reports them fixed, and a
/// final request whose replies only announced the work ("Let me create …") without
/// producing anything.
fn unfinished_at_the_end(exchanges: &[Exchange<'_>], artifacts: &[ArtifactDraft]) -> Vec<String> {
    let mut open = Vec::new();
    let replies: Vec<&str> = exchanges.iter().flat_map(|e| e.replies.iter().copied()).collect();
    let last_problem = replies.iter().enumerate().rev().find_map(|(i, reply)| {
        textrank::sentences(&prose_of(reply)).into_iter().find(|s| reports_problems(s)).map(|s| (i, s))
    });
    if let Some((at, sentence)) = last_problem {
        let fixed = replies[at + 1..].iter().any(|reply| {
            let lower = prose_of(reply).to_lowercase();
            RESOLVED_CUES.iter().any(|cue| lower.contains(cue))
        });
        if !fixed {
            open.push(format!("Still unresolved at the end: {}", shorten(&sentence, MAX_ITEM_CHARS)));
        }
    }
    if let Some(last) = exchanges.last()
        && !last.user.starts_with('/')
        && !is_question(&last.user)
        && let Some(reply) = last.replies.iter().rev().find(|r| !prose_of(r).trim().is_empty())
    {
        let closing = textrank::sentences(&prose_of(reply)).pop().unwrap_or_default().to_lowercase();
        let announces =
            ["let me ", "i'll ", "i will ", "now i'll ", "next, i'll "].iter().any(|a| closing.starts_with(a))
                || closing.ends_with(':');
        let produced = artifacts.iter().any(|a| {
            a.provenance.turn.is_some_and(|t| (last.first_turn..=last.last_turn).contains(&t))
                && a.content.trim() != "undefined"
        });
        if announces && !produced {
            open.push(format!(
                "{} (not done when the conversation ends)",
                shorten(&first_paragraph(&last.user), MAX_ITEM_CHARS)
            ));
        }
    }
    open
}

/// Shell commands a reply shows as one-line code blocks (`npm run test`), each with
/// the prose that follows it in the reply, code left out.
fn command_blocks(reply: &str) -> Vec<(String, String)> {
    const SHELL_FENCES: &[&str] = &["", "bash", "sh", "shell", "console", "zsh"];
    let lines: Vec<&str> = reply.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(language) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let Some(close) = (i + 1..lines.len()).find(|&j| lines[j].trim_start().starts_with("```")) else { break };
        let body: Vec<&str> = lines[i + 1..close].iter().map(|l| l.trim()).filter(|l| !l.is_empty()).collect();
        if let [command] = body.as_slice()
            && SHELL_FENCES.contains(&language.trim())
            && command.contains(' ')
            && command.starts_with(|c: char| c.is_ascii_lowercase())
        {
            let command = command.trim_start_matches("$ ").to_owned();
            found.push((command, prose_of(&lines[close + 1..].join("\n"))));
        }
        i = close + 1;
    }
    found
}

/// Whether `prose` mentions the outcome of `command`: a part of its last word
/// ("check-types" → "type", "lint") appears in it.
fn mentions_result_of(command: &str, prose: &str) -> bool {
    let prose = prose.to_lowercase();
    let last = command.split_whitespace().last().unwrap_or_default().to_lowercase();
    last.split(['-', '_', ':', '/', '.'])
        .map(|part| part.strip_suffix('s').filter(|p| p.len() >= 4).unwrap_or(part))
        .filter(|part| part.len() >= 4)
        .any(|part| prose.contains(part))
}

/// The commands of the first list of them the assistant gave (a plan such as "run
/// these checks: …") that the conversation visibly leaves without a result: run
/// later but with no reply mentioning what came of them the last time they ran, or
/// never run while others from the list were. Nothing when no command of the list
/// was run: a list nobody acted on is a suggestion, not unfinished work.
fn commands_left_unreported(exchanges: &[Exchange<'_>]) -> Option<String> {
    let blocks: Vec<Vec<(String, String)>> = exchanges.iter().map(|e| command_blocks(&e.replies.join("\n"))).collect();
    let planned_at = blocks.iter().position(|b| {
        let mut distinct: Vec<&str> = b.iter().map(|(c, _)| c.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        distinct.len() >= 2
    })?;
    let mut plan: Vec<&str> = Vec::new();
    for (command, _) in &blocks[planned_at] {
        if !plan.contains(&command.as_str()) {
            plan.push(command);
        }
    }
    let mut unreported = Vec::new();
    let mut never_run = Vec::new();
    for command in &plan {
        // The prose after the command's last run, up to the next user message.
        let last_run = blocks[planned_at + 1..].iter().flatten().rev().find(|(c, _)| c == command);
        match last_run {
            None => never_run.push(format!("`{command}`")),
            Some((_, after)) if !mentions_result_of(command, after) => unreported.push(format!("`{command}`")),
            Some(_) => {}
        }
    }
    if never_run.len() == plan.len() || (unreported.is_empty() && never_run.is_empty()) {
        return None;
    }
    let mut parts = Vec::new();
    if !unreported.is_empty() {
        parts.push(format!("run with no result reported: {}", unreported.join(", ")));
    }
    if !never_run.is_empty() {
        parts.push(format!("never run: {}", never_run.join(", ")));
    }
    Some(format!("Commands from the plan {}.", parts.join("; ")))
}

/// Replies saying a reported problem is gone.
const RESOLVED_CUES: &[&str] = &[
    "0 errors",
    "no errors",
    "no type errors",
    "all tests pass",
    "tests pass",
    "passes now",
    "all fixed",
    "fixed all",
];

/// A sentence reporting a count of problems: "Found 219 errors in 31 files".
fn reports_problems(sentence: &str) -> bool {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    words.windows(2).any(|pair| {
        let count = pair[0].trim_start_matches('(');
        let noun = pair[1].to_lowercase();
        count.parse::<u32>().is_ok_and(|n| n > 0)
            && ["error", "errors", "failure", "failures", "failed", "failing"]
                .contains(&noun.trim_end_matches([',', '.', ')', ':']))
    })
}

/// Files aider's output says it put in the chat or edited ("Added x to the chat",
/// "Applied edit to x"): the files a coding session worked on, even when nobody named
/// them in prose.
fn files_edited(tool: &str) -> Vec<String> {
    tool.lines()
        .filter_map(|line| {
            let line = line.trim();
            line.strip_prefix("Applied edit to ")
                .or_else(|| line.strip_prefix("Added ").and_then(|rest| rest.strip_suffix(" to the chat")))
                .filter(|file| !file.contains(char::is_whitespace))
                .map(str::to_owned)
        })
        .collect()
}

/// `<datetime>`, `<your-key>`: an angle-bracketed word that is no HTML element.
fn is_placeholder(html: &str) -> bool {
    const ELEMENTS: &[&str] = &[
        "a", "abbr", "b", "br", "code", "del", "details", "div", "em", "hr", "i", "img", "ins", "kbd", "mark", "p",
        "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "u", "var", "wbr",
    ];
    let Some(name) = html.strip_prefix('<').and_then(|h| h.strip_suffix('>')) else { return false };
    let name = name.trim_start_matches('/').trim_end_matches('/');
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        && !ELEMENTS.contains(&name.to_ascii_lowercase().as_str())
}

/// File names the participants wrote in prose (`src/app.ts`, `README.md`), in order
/// of first mention: a coding chat's context should say which files it was about.
fn files_mentioned<'a>(texts: impl Iterator<Item = &'a String>) -> Vec<String> {
    const MAX_FILES: usize = 40;
    let mut seen = Vec::new();
    for text in texts {
        for word in
            prose_of(text).split(|c: char| c.is_whitespace() || matches!(c, '`' | '(' | ')' | ',' | '"' | '\'' | '*'))
        {
            let word = word.trim_end_matches([':', ';', '.', '!', '?']);
            let plausible = crate::symbols::is_file_name(word)
                && !word.contains("://")
                && word.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '/' | '_' | '-' | '<' | '>'));
            if plausible && !seen.iter().any(|s: &String| s == word) && seen.len() < MAX_FILES {
                seen.push(word.to_owned());
            }
        }
    }
    seen
}

/// The prose of a message: its blocks outside code, one per line.
fn prose_of(text: &str) -> String {
    blocks(text).into_iter().filter(|b| b.heading.is_none()).map(|b| b.text).collect::<Vec<_>>().join("\n")
}

fn first_paragraph(text: &str) -> String {
    let prose = prose_of(text);
    let first = prose.lines().next().unwrap_or(text);
    first.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first sentence or two of a reply, up to about 240 characters.
fn reply_gist(reply: &str) -> Option<String> {
    let prose = prose_of(reply);
    let mut gist = String::new();
    for sentence in textrank::sentences(&prose) {
        if !gist.is_empty() && gist.chars().count() + sentence.chars().count() > 240 {
            break;
        }
        if !gist.is_empty() {
            gist.push(' ');
        }
        gist.push_str(&sentence);
        if gist.chars().count() > 120 {
            break;
        }
    }
    (!gist.is_empty()).then(|| shorten(&gist, 240))
}

/// The last sentence of a reply that states something concrete: a number, a file
/// or identifier (`a_b`, `x.ts`, `a/b`), or an explicit conclusion ("So …",
/// "Therefore …"). Questions and offers are not conclusions.
fn reply_conclusion(reply: &str) -> Option<String> {
    const CUES: [&str; 7] = ["so ", "therefore", "thus", "in summary", "overall", "the result", "this gives"];
    let sentences = textrank::sentences(&prose_of(reply));
    let concrete = |sentence: &str| {
        sentence.split_whitespace().any(|word| {
            let word = word.trim_matches(|c: char| !c.is_alphanumeric());
            word.chars().any(|c| c.is_ascii_digit())
                || (word.len() > 2 && (word.contains('_') || word.contains('.') || word.contains('/')))
        })
    };
    let last = sentences.len().checked_sub(1)?;
    let at = (last.saturating_sub(5)..=last).rev().find(|&i| {
        let sentence = &sentences[i];
        let lower = sentence.to_lowercase();
        !sentence.ends_with('?')
            && !POLITE_CLOSERS.iter().any(|p| lower.contains(p))
            && (concrete(sentence) || CUES.iter().any(|cue| lower.starts_with(cue)))
    })?;
    // A reply that ends on a list of values ("B01003_001E: Total population",
    // "B25077_001E: Median value …") concludes with its last two items, not one.
    let short_value = |s: &str| concrete(s) && s.contains(':') && s.chars().count() <= 100;
    match at.checked_sub(1).map(|i| &sentences[i]) {
        Some(before) if short_value(before) && short_value(&sentences[at]) => {
            Some(shorten(&format!("{before}; {}", sentences[at]), 200))
        }
        _ => Some(shorten(&sentences[at], 200)),
    }
}

/// `Commit 1a2b3c4 message` lines in aider's output.
/// At most this many changed lines are quoted per decision.
const MAX_CHANGED_LINES: usize = 3;

/// Languages whose edits set values rather than logic: styles, markup, configuration.
const VALUE_LANGUAGES: &[&str] = &[
    "css",
    "scss",
    "sass",
    "less",
    "html",
    "xml",
    "json",
    "yaml",
    "yml",
    "toml",
    "ini",
    "properties",
    "env",
    "dotenv",
];

/// The lines an edit adds: the new side of `<<<<<<< SEARCH|ORIGINAL … =======
/// … >>>>>>> REPLACE|UPDATED` hunks or the `+` lines of a unified diff, leaving out
/// lines the same edit removes (moved or re-indented lines are not changes) and
/// lines without a letter or digit (braces). A block that is not an edit adds none.
fn added_lines(code: &str) -> Vec<(&str, Option<&str>)> {
    #[derive(PartialEq)]
    enum Side {
        Outside,
        Old,
        New,
    }
    let mut side = Side::Outside;
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for line in code.lines() {
        if line.starts_with("<<<<<<<") {
            side = Side::Old;
        } else if line.starts_with("=======") && side == Side::Old {
            side = Side::New;
        } else if line.starts_with(">>>>>>>") {
            side = Side::Outside;
        } else {
            match side {
                Side::Old => removed.push(line.trim()),
                Side::New => added.push(line.trim()),
                Side::Outside => {
                    if let Some(rest) = line.strip_prefix('+').filter(|_| !line.starts_with("+++")) {
                        added.push(rest.trim());
                    } else if let Some(rest) = line.strip_prefix('-').filter(|_| !line.starts_with("---")) {
                        removed.push(rest.trim());
                    }
                }
            }
        }
    }
    added.retain(|line| line.chars().any(char::is_alphanumeric) && !removed.contains(line));
    added.into_iter().map(|line| (line, replaced_value(line, &removed))).collect()
}

/// The value an added `key: value` (or `key = value`) line replaced: the value of a
/// removed line with the same key ("border: 0.1rem solid #159957;" for "border: 0.1rem
/// solid #155799;"). What a setting was is part of the decision to change it.
fn replaced_value<'a>(added: &str, removed: &[&'a str]) -> Option<&'a str> {
    fn key_of(line: &str) -> Option<(&str, &str)> {
        let at = line.find([':', '='])?;
        let key = line[..at].trim();
        (!key.is_empty() && key.len() <= 40).then_some((key, &line[at + 1..]))
    }
    let (key, value) = key_of(added)?;
    removed.iter().find_map(|line| {
        let (old_key, old_value) = key_of(line)?;
        (old_key == key && old_value.trim() != value.trim()).then(|| old_value.trim())
    })
}

/// A commit aider reported, and whether it holds the user's own uncommitted changes,
/// which aider commits ("Committing x before applying edits.") before its edit.
struct Commit {
    id: String,
    message: String,
    users_own: bool,
}

fn commits_in(tool: &str) -> Vec<Commit> {
    let mut commits = Vec::new();
    let mut after_committing = false;
    for line in tool.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("Commit ") {
            let (id, message) = rest.split_once(' ').unwrap_or((rest, ""));
            if id.len() >= 7 && id.len() <= 40 && id.chars().all(|c| c.is_ascii_hexdigit()) {
                let (id, message) = (id.to_owned(), message.trim().to_owned());
                commits.push(Commit { id, message, users_own: after_committing });
            }
        }
        after_committing = line.starts_with("Committing ") && line.ends_with("before applying edits.");
    }
    commits
}

/// Commits an `/undo` removed, from `Removed: 1a2b3c4 message` lines.
fn removed_in(tool: &str) -> Vec<String> {
    tool.lines()
        .filter_map(|line| line.trim().strip_prefix("Removed: "))
        .map(|rest| format!("commit {}", rest.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{Chat, Message, render};

    fn chat(messages: &[(Role, &str)]) -> Document {
        render(&Chat {
            title: Some("Queue design".into()),
            messages: messages.iter().map(|(r, t)| Message::new(*r, *t)).collect(),
        })
    }

    /// The context of `doc` with the artifacts found in it, as the pipeline drafts it.
    fn drafted(doc: &Document) -> ContextDraft {
        ExtractiveContextExtractor.draft(doc, &crate::artifacts::extract(doc))
    }

    #[test]
    fn chat_decisions_follow_instructions_commits_and_undos() {
        use Role::*;
        let doc = chat(&[
            (User, "Should the queue live in Redis or Postgres?"),
            (Assistant, "Postgres is enough: SKIP LOCKED gives safe claims. Redis adds a second store."),
            (User, "Use Postgres with SKIP LOCKED for the queue."),
            (Assistant, "Done:\n\n```sql\nSELECT id FROM runs FOR UPDATE SKIP LOCKED;\n```"),
            (Tool, "Applied edit to queue.sql\nCommit 1a2b3c4 feat: claim runs with SKIP LOCKED"),
            (User, "/undo"),
            (Tool, "Removed: 1a2b3c4 feat: claim runs with SKIP LOCKED"),
            (User, "/model gpt-4o"),
            (User, "How long should the lease be?"),
        ]);
        let artifacts = crate::artifacts::extract(&doc);
        let draft = ExtractiveContextExtractor.draft(&doc, &artifacts);
        assert_eq!(
            draft.decisions,
            [
                "Use Postgres with SKIP LOCKED for the queue. (commit 1a2b3c4 feat: claim runs with SKIP LOCKED)",
                "Undid commit 1a2b3c4 feat: claim runs with SKIP LOCKED",
                "Switched the model to gpt-4o",
            ]
        );
        assert_eq!(draft.open_questions, ["How long should the lease be? (no answer)"]);
        assert_eq!(draft.title.as_deref(), Some("Queue design"));
        let content = &draft.content;
        assert!(content.contains("- A1 CODE sql"), "a pointer to every artifact: {content}");
        assert!(content.contains("[A1]"), "the exchange points at its artifact: {content}");
        assert!(content.contains("Should the queue live in Redis or Postgres? → **Assistant:** Postgres is enough"));
        assert!(draft.context_tokens > 0 && draft.original_tokens > 0);
        assert_eq!(ExtractiveContextExtractor.draft(&doc, &artifacts), draft, "deterministic");
    }

    #[test]
    fn the_conversation_only_recalls_a_request_that_decisions_quote_whole() {
        use Role::*;
        let request = "wrap the analytics stuff in an Analytics object and pass that around, then I don't have to \
                       check whether tracking is on at every call site";
        let question = "what would it take to make the analytics module usable from the web ui as well as from \
                        the command line, and is that worth doing now?";
        let doc = chat(&[(User, request), (Assistant, "Done."), (User, question), (Assistant, "Not much.")]);
        let draft = drafted(&doc);
        assert_eq!(draft.decisions, [request]);
        assert!(
            draft.content.contains(
                "1. **User:** wrap the analytics stuff in an Analytics object and pass that around, then I don't \
                 have to check… → **Assistant:** Done."
            ),
            "{}",
            draft.content
        );
        assert!(draft.content.contains(&format!("2. **User:** {question} →")), "{}", draft.content);
    }

    #[test]
    fn the_users_own_changes_aider_commits_before_its_edit_are_named_as_such() {
        use Role::*;
        let doc = chat(&[
            (User, "add a force_refresh arg to get_repo_map"),
            (Assistant, "Certainly! Here is the change."),
            (
                Tool,
                "Committing aider/repomap.py before applying edits.\nCommit bcd6257 feat: Add last_map attribute\n\
                 Applied edit to aider/repomap.py\nCommit 551804c feat: add force_refresh arg",
            ),
            (User, "now add a --map-refresh switch"),
            (Assistant, "The edit did not apply."),
            (Tool, "Committing aider/main.py before applying edits.\nCommit 1234abc fix: user edits"),
        ]);
        assert_eq!(
            drafted(&doc).decisions,
            [
                "add a force_refresh arg to get_repo_map (commit 551804c feat: add force_refresh arg; the user's own \
                 changes committed first as bcd6257 feat: Add last_map attribute)",
                "now add a --map-refresh switch (the user's own changes committed as 1234abc fix: user edits)",
            ]
        );
    }

    #[test]
    fn an_instruction_sent_again_with_a_change_before_any_commit_is_decided_by_the_later_one() {
        use Role::*;
        let doc = chat(&[
            (User, "add a /map command that runs get_repo_map with `force_refresh`"),
            (Tool, "^C again to exit"),
            (Assistant, "Certainly! I'll add a `/map` command.\n\n```python\ndef cmd_map(self, args):\n"),
            (User, "add a /map-refresh command that runs get_repo_map with `force_refresh`"),
            (Assistant, "Certainly! I'll add a `/map-refresh` command."),
            (Tool, "Commit 17335b1 feat: Add /map-refresh command"),
            (User, "add a test for the command"),
            (Assistant, "Here is a test."),
            (User, "add a test for the parser as well"),
            (Assistant, "Here is another."),
        ]);
        let draft = drafted(&doc);
        assert_eq!(
            draft.decisions,
            [
                "add a /map-refresh command that runs get_repo_map with force_refresh (commit 17335b1 feat: Add \
                 /map-refresh command)",
                "add a test for the command",
                "add a test for the parser as well",
            ],
            "the interrupted /map request is superseded; two different requests both stand"
        );
        assert!(draft.content.contains("**User:** add a /map command"), "the exchange stays in the conversation");
    }

    #[test]
    fn a_request_phrased_as_a_question_that_was_committed_is_a_decision_and_a_run_result_is_kept() {
        use Role::*;
        let doc = chat(&[
            (User, "can you add a summary table?"),
            (Assistant, "Sure:\n\n```python\nprint(df.describe())\n```"),
            (Tool, "Applied edit to getdata.py\nCommit 2f4fcd4 aider: print a summary table"),
            (User, "/run python3 getdata.py"),
            (Tool, "Correlation: 0.16020298445808737\nAdd the output to the chat? y"),
            (Assistant, "The script works. The correlation between density and prices is 0.1602."),
            (User, "/add notes.md"),
        ]);
        let draft = drafted(&doc);
        assert_eq!(draft.decisions, ["can you add a summary table? (commit 2f4fcd4 aider: print a summary table)"]);
        assert!(draft.open_questions.is_empty(), "{:?}", draft.open_questions);
        let content = &draft.content;
        assert!(content.contains("**User:** /run python3 getdata.py → **Assistant:**"), "{content}");
        assert!(content.contains("0.1602"), "the result the reply read out is kept: {content}");
        assert!(!content.contains("/add notes.md"), "a bare command is not an exchange: {content}");
    }

    #[test]
    fn problems_left_at_the_end_and_a_final_request_only_announced_stay_open() {
        use Role::*;
        let doc = chat(&[
            (User, "re-run the type check"),
            (Assistant, "Ran it. Found 219 errors in 31 files."),
            (User, "write a log of this session to log.md"),
            (Assistant, "You're right. Let me create a more accurate log:"),
            (Assistant, "```\nundefined\n```"),
        ]);
        let draft = drafted(&doc);
        assert_eq!(
            draft.open_questions,
            [
                "Still unresolved at the end: Found 219 errors in 31 files.",
                "write a log of this session to log.md (not done when the conversation ends)"
            ]
        );

        let done = chat(&[
            (User, "re-run the type check"),
            (Assistant, "Found 3 errors in 1 file."),
            (User, "fix them"),
            (Assistant, "Fixed. The check now reports 0 errors."),
        ]);
        assert!(drafted(&done).open_questions.is_empty());
    }

    #[test]
    fn retries_are_one_question_and_the_assistants_last_real_question_stays_open() {
        use Role::*;
        let doc = chat(&[
            (User, "How should the web UI confirm actions?"),
            (Tool, "Overloaded error"),
            (User, "How should the web UI confirm actions?"),
            (
                Assistant,
                "Two options: make confirm async, or queue confirmations. Which approach do you prefer? Would you like me to sketch both?",
            ),
        ]);
        let draft = ExtractiveContextExtractor.draft(&doc, &[]);
        assert_eq!(draft.open_questions, ["Which approach do you prefer?"], "the polite closer is not a question");
        assert!(draft.content.contains("(sent 2 times)"), "{}", draft.content);
        assert!(draft.decisions.is_empty(), "a question is not a decision");
    }

    #[test]
    fn a_choice_the_user_passed_over_stays_open_and_an_answered_one_does_not() {
        use Role::*;
        let asked = "There are 219 type errors left in 31 files. Which area would you like me to tackle first?";
        let passed_over = chat(&[
            (User, "Run the type check."),
            (Assistant, asked),
            (
                User,
                "Write a chronological log of every change made in this conversation and save it to a new markdown file in the workspace.",
            ),
            (Assistant, "Saved the log to profile-updates.md."),
        ]);
        let draft = ExtractiveContextExtractor.draft(&passed_over, &[]);
        assert_eq!(draft.open_questions, ["Which area would you like me to tackle first? (not answered)"]);

        let answered = chat(&[
            (User, "Run the type check."),
            (Assistant, asked),
            (User, "Start with the model definitions."),
            (Assistant, "Fixed the model definitions."),
        ]);
        let draft = ExtractiveContextExtractor.draft(&answered, &[]);
        assert!(draft.open_questions.is_empty(), "{:?}", draft.open_questions);
    }

    #[test]
    fn chat_contexts_list_the_files_mentioned_in_prose_once_each() {
        use Role::*;
        let doc = chat(&[
            (User, "Fix the bug in `src/core/Cline.ts` and update README.md, see https://example.com/a.html."),
            (
                Assistant,
                "I changed src/core/Cline.ts (and its test). Version 1.2 is fine.\n\n```sh\ncat hidden.ts\n```",
            ),
            (Tool, "wrote output.log.txt"),
        ]);
        let draft = ExtractiveContextExtractor.draft(&doc, &[]);
        assert!(draft.content.contains("## Files mentioned\n\nsrc/core/Cline.ts, README.md\n"), "{}", draft.content);
    }

    #[test]
    fn files_aider_edited_and_placeholder_names_are_listed() {
        use Role::*;
        let doc = chat(&[
            (User, "Save the log to profile-<datetime>.md, keep <b>bold</b> text as is"),
            (Assistant, "Done."),
            (
                Tool,
                "Added assets/css/style.css to the chat\nApplied edit to index.html\nApplied edit to /home/me/site/index.html",
            ),
        ]);
        let draft = ExtractiveContextExtractor.draft(&doc, &[]);
        assert!(
            draft.content.contains("## Files mentioned\n\nprofile-<datetime>.md, assets/css/style.css, index.html\n"),
            "{}",
            draft.content
        );
        assert_eq!(
            draft.decisions,
            ["Save the log to profile-<datetime>.md, keep bold text as is"],
            "a placeholder is kept, real HTML tags are not"
        );
    }

    #[test]
    fn an_edit_adds_the_lines_of_its_new_side_that_it_does_not_also_remove() {
        let search_replace = "index.html\n<<<<<<< SEARCH\n  p {\n    color: #159957;\n  }\n=======\n  p {\n    color: #155799;\n    padding: 1rem;\n  }\n>>>>>>> REPLACE\n";
        assert_eq!(added_lines(search_replace), [("color: #155799;", Some("#159957;")), ("padding: 1rem;", None)]);
        let diff = "--- a/x.toml\n+++ b/x.toml\n@@ -1,2 +1,2 @@\n-port = 80\n+port = 8080\n name = \"x\"\n";
        assert_eq!(added_lines(diff), [("port = 8080", Some("80"))]);
        assert!(added_lines("fn main() {\n    println!(\"hi\");\n}\n").is_empty(), "a plain block is not an edit");
    }

    #[test]
    fn a_decision_carried_out_by_a_style_edit_quotes_the_values_it_set() {
        use Role::*;
        let edit = "```css\n<<<<<<< SEARCH\nblockquote { color: #159957; }\n=======\nblockquote { color: #155799; }\n>>>>>>> REPLACE\n```";
        let doc = chat(&[(User, "make the blockquote blue"), (Assistant, edit)]);
        let draft = drafted(&doc);
        assert_eq!(
            draft.decisions,
            ["make the blockquote blue — sets `blockquote { color: #155799; }` (was `#159957; }`)"]
        );
    }

    #[test]
    fn puzzlement_stays_open_until_a_reply_explains_it() {
        use Role::*;
        let puzzled = "Plot a few runs. It seems weird that it always converges from the bottom.";
        let unexplained = chat(&[
            (User, puzzled),
            (Assistant, "Here is the graph. All lines seem to converge from below."),
            (User, "add the mean"),
            (Assistant, "Here is the mean."),
        ]);
        let draft = ExtractiveContextExtractor.draft(&unexplained, &[]);
        assert_eq!(draft.open_questions, ["It seems weird that it always converges from the bottom. (not explained)"]);
        let explained = chat(&[
            (User, puzzled),
            (Assistant, "Here is the graph."),
            (User, "add the mean"),
            (Assistant, "The early average is low because small samples rarely include large distances."),
        ]);
        assert!(ExtractiveContextExtractor.draft(&explained, &[]).open_questions.is_empty());
    }

    #[test]
    fn announcements_and_apologies_are_not_summary_material_but_statements_with_a_colon_are() {
        for filler in [
            "Here are the changes:",
            "2. Now, let's update the main.py file to use this new Analytics object:",
            "The config needs the following:",
            "I apologize for the confusion.",
        ] {
            assert!(is_filler(filler), "{filler}");
        }
        for content in [
            "Start with a TTL of 5 minutes:",
            "The fix is to await the response:",
            "Redis is needed.",
            "Nowadays the cache holds:",
        ] {
            assert!(!is_filler(content), "{content}");
        }
    }

    #[test]
    fn latex_math_in_replies_reads_as_plain_text_in_the_context() {
        use Role::*;
        let doc = chat(&[
            (User, "What is the average distance between x and y?"),
            (Assistant, "The average distance between \\( x \\) and \\( y \\) is \\( \\frac{1}{3} \\)."),
        ]);
        let draft = ExtractiveContextExtractor.draft(&doc, &[]);
        assert!(draft.content.contains("between x and y is 1/3."), "{}", draft.content);
        assert!(!draft.content.contains("frac"), "{}", draft.content);
    }

    #[test]
    fn an_exchange_keeps_the_replys_concrete_conclusion() {
        use Role::*;
        let doc = chat(&[
            (User, "What is the average distance between two uniform variables?"),
            (
                Assistant,
                "Take the expectation of the absolute difference over the unit square, which is the natural way in. \
                 Split the integral at the diagonal, where the absolute value changes its sign. \
                 Both halves are equal by symmetry, so computing one of them and doubling it is enough. \
                 The inner integral is a simple polynomial in the outer variable. \
                 So the expected distance is 1/3. Would you like a simulation?",
            ),
        ]);
        let draft = ExtractiveContextExtractor.draft(&doc, &[]);
        let line = draft.content.lines().find(|l| l.contains("**User:** What is the average")).unwrap();
        assert!(line.contains("Take the expectation"), "the reply's opening: {line}");
        assert!(line.ends_with("… So the expected distance is 1/3."), "and its conclusion: {line}");
        assert!(!line.contains("Would you like"), "offers are not conclusions");
    }

    #[test]
    fn a_reply_ending_on_a_list_of_values_concludes_with_its_last_two() {
        use Role::*;
        let doc = chat(&[
            (User, "which variables do I need?"),
            (
                Assistant,
                "You need population and home values. Use these ACS variables:\n\n\
                 - B01003_001E: Total population\n- B25077_001E: Median home value\n",
            ),
        ]);
        let draft = ExtractiveContextExtractor.draft(&doc, &[]);
        let line = draft.content.lines().find(|l| l.contains("**User:** which variables")).unwrap();
        assert!(
            line.ends_with("… B01003_001E: Total population; B25077_001E: Median home value"),
            "both values of the closing list: {line}"
        );
    }

    #[test]
    fn documents_get_outline_summary_decisions_and_open_questions() {
        let md = "# Storage design\n\nThe service stores sources, runs and revisions. Revisions keep the fetched bytes in the blob store. The database keeps their metadata and hashes.\n\n## Choices\n\nWe decided to use Postgres in production and SQLite for the embedded default. Bananas are not relevant here at all.\n\n## Open questions\n\n- How long should revisions be retained?\n- The purge schedule is TBD.\n";
        let doc = Document::new(md, DocumentFormat::Markdown);
        let draft = ExtractiveContextExtractor.draft(&doc, &[]);
        assert_eq!(draft.title.as_deref(), Some("Storage design"));
        assert_eq!(draft.outline, ["Storage design", "  Choices", "  Open questions"]);
        assert_eq!(draft.decisions, ["We decided to use Postgres in production and SQLite for the embedded default."]);
        assert_eq!(draft.open_questions, ["How long should revisions be retained?", "The purge schedule is TBD."]);
        assert!(draft.summary.as_deref().is_some_and(|s| s.contains("Revisions keep the fetched bytes")));
        assert!(draft.content.starts_with("# Storage design\n\n"));
    }

    #[test]
    fn planned_commands_left_without_a_result_are_open() {
        use Role::*;
        let plan = "Run these checks:\n\n1. **Types**\n```bash\nnpm run check-types\n```\n\
                    2. **Tests**\n```bash\nnpm run test\n```\n3. **Package**\n```bash\nnpm run package\n```";
        let ran = "First the types:\n\n```\nnpm run check-types\n```\n\nNow the tests:\n\n```\nnpm run test\n```\n\n\
                   The type check found 12 type errors in 3 files.";
        let doc =
            chat(&[(User, "Which checks should we run?"), (Assistant, plan), (User, "Go ahead."), (Assistant, ran)]);
        let open = drafted(&doc).open_questions;
        assert!(
            open.contains(
                &"Commands from the plan run with no result reported: `npm run test`; never run: `npm run package`."
                    .to_owned()
            ),
            "{open:?}"
        );

        // Every command run and its outcome told: nothing left open.
        let reported = "```\nnpm run check-types\n```\n\nTypes are clean.\n\n```\nnpm run test\n```\n\nAll tests pass.\n\n\
                        ```\nnpm run package\n```\n\nThe package is built.";
        let doc = chat(&[
            (User, "Which checks should we run?"),
            (Assistant, plan),
            (User, "Go ahead."),
            (Assistant, reported),
        ]);
        assert!(!drafted(&doc).open_questions.iter().any(|q| q.starts_with("Commands")));

        // A list of commands nobody ran is a suggestion, not unfinished work.
        let doc = chat(&[(User, "Which checks should we run?"), (Assistant, plan), (User, "Thanks, that is all.")]);
        assert!(!drafted(&doc).open_questions.iter().any(|q| q.starts_with("Commands")));
    }
}
