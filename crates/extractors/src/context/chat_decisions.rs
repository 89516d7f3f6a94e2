//! What a chat exchange decided, and how the decision is worded: what was changed
//! (the commit's subject, else the reply's gist for a bare "go ahead"), the user's
//! words only when they carry the substance, and which user messages decide nothing
//! (a thanks, a confirmation, a pasted reference, a request the next message
//! restated in full).

use super::*;

/// How a user message begins when it confirms what came before.
pub(super) const CONFIRMATIONS: &[&str] = &[
    "that worked",
    "it worked",
    "it works",
    "that works",
    "works now",
    "works great",
    "works perfectly",
    "nice",
    "great",
    "perfect",
    "awesome",
    "excellent",
    "cool",
    "thanks",
    "thank you",
    "thx",
    "looks good",
    "lgtm",
    "all good",
    "tests pass",
];

/// Words that only approve a proposal: the decision is what the reply then did.
pub(super) const APPROVALS: &[&str] = &[
    "go ahead",
    "yes",
    "yep",
    "ok",
    "okay",
    "sure",
    "do it",
    "do that",
    "please do",
    "make that change",
    "make the change",
    "make those changes",
    "sounds good",
    "let's do it",
    "lets do it",
    "proceed",
    "continue",
    "go for it",
];

/// A bare approval or confirmation has at most this many words.
const BARE_WORDS: usize = 6;

fn lowered_words(message: &str) -> String {
    message
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn starts_with_any(words: &str, cues: &[&str]) -> bool {
    cues.iter().any(|cue| words == *cue || words.starts_with(&format!("{cue} ")))
}

/// Whether the message opens by confirming what came before ("nice, that worked!",
/// "thanks", "it works. but the ball is too fast").
pub(super) fn confirms(message: &str) -> bool {
    starts_with_any(&lowered_words(message), CONFIRMATIONS)
}

/// Whether the message is only a confirmation or a thanks: it asks for nothing.
pub(super) fn only_confirms(message: &str) -> bool {
    let words = lowered_words(message);
    words.split(' ').count() <= BARE_WORDS && starts_with_any(&words, CONFIRMATIONS) && !message.contains('?')
}

/// Whether the message only approves what the assistant proposed ("go ahead", "yes
/// do that", "make that change").
pub(super) fn only_approves(message: &str) -> bool {
    let words = lowered_words(message);
    words.split(' ').count() <= BARE_WORDS && starts_with_any(&words, APPROVALS)
}

/// Whether the message is reference text pasted in (an API signature, a class's
/// documentation) rather than an instruction: it opens with a declaration keyword or
/// a qualified name called with typed parameters, and asks nothing.
pub(super) fn pasted_reference(message: &str) -> bool {
    let first_line = message.lines().next().unwrap_or_default().trim();
    let opening = first_line.split_whitespace().next().unwrap_or_default();
    let declares = ["class", "def", "fn", "func", "function", "interface", "struct", "type", "pub"].contains(&opening);
    let head: String = first_line.chars().take(120).collect();
    let signature = head
        .split_once('(')
        .is_some_and(|(name, params)| !name.contains(' ') && name.contains(['.', ':']) && params.contains(": "));
    (declares || signature) && first_line.split_whitespace().count() >= 8 && !message.trim_end().ends_with('?')
}

/// Whether a reply asks the user for details before doing anything ("I need more
/// information about which test cases…", "Please provide…").
pub(super) fn asks_for_details(reply: &str) -> bool {
    const CUES: [&str; 5] =
        ["need more information", "please provide", "could you clarify", "can you clarify", "more details"];
    let lower = prose_of(reply).to_lowercase();
    CUES.iter().any(|cue| lower.contains(cue))
}

/// Marks a decision the user then confirmed worked.
pub(super) const CONFIRMED: &str = " — confirmed working by the user";

/// What an exchange decided, worded by what was changed: the commits' subjects (the
/// user's words added when they carry substance the subjects lack), else for a
/// bare approval the reply's gist, else the request's first paragraph; then the
/// user's own changes committed first, and the values a style or configuration edit
/// set.
pub(super) fn decision(
    user: &str,
    replies: &[&str],
    commits: &[Commit],
    own: &[Commit],
    in_exchange: &[(usize, &ArtifactDraft)],
) -> String {
    let subjects = |commits: &[Commit]| {
        commits.iter().map(|c| format!("{} (commit {})", subject(&c.message), c.id)).collect::<Vec<_>>().join("; ")
    };
    let mut decision = if !commits.is_empty() {
        let mut text = subjects(commits);
        if carries_substance(user) && !covers(&text, user) {
            let _ = write!(text, " — asked: \"{}\"", shorten(&first_paragraph(user), MAX_ITEM_CHARS / 2));
        }
        text
    } else if only_approves(user)
        && let Some(gist) = replies.iter().find_map(|r| reply_gist(r))
    {
        shorten(&gist, MAX_ITEM_CHARS)
    } else {
        shorten(&first_paragraph(user), MAX_ITEM_CHARS)
    };
    // What the user had changed by hand was committed first: not this request's
    // work, but a reader needs to know that commit exists.
    if !own.is_empty() {
        let _ = write!(decision, "; the user's own changes committed as {}", subjects(own));
    }
    // The values a style or configuration edit set (a colour, a size, a flag) are
    // what a reader of the decision needs, and they live in the edit, not in the
    // prose. A code edit's added lines are logic, not values: left out.
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
    decision
}

/// A commit message's subject, without the `aider: ` its author tag adds.
fn subject(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    line.strip_prefix("aider:").map_or(line, str::trim).trim_end_matches('.').to_owned()
}

/// Whether the user's words say something the commit may not: not a bare approval
/// or confirmation, not pasted reference text, not an error message passed on.
fn carries_substance(user: &str) -> bool {
    let opening: Vec<String> = user.split_whitespace().take(8).map(str::to_lowercase).collect();
    let reports_error =
        opening.iter().any(|w| ["error", "error:", "failed", "traceback", "exception"].contains(&w.as_str()));
    !(only_approves(user) || only_confirms(user) || pasted_reference(user) || reports_error)
}

/// Whether `text` already holds most (seven tenths) of the request's content words.
fn covers(text: &str, user: &str) -> bool {
    const FILLER: [&str; 12] =
        ["that", "this", "with", "from", "into", "them", "then", "also", "please", "could", "would", "should"];
    let text = text.to_lowercase();
    let words: Vec<String> = first_paragraph(user)
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .map(str::to_lowercase)
        .filter(|w| w.len() >= 4 && !FILLER.contains(&w.as_str()))
        .collect();
    let held = words.iter().filter(|w| text.contains(w.as_str())).count();
    held * 10 >= words.len() * 7
}
