//! The words that tell a chat's turns apart: questions, answers, picks, puzzlement,
//! explanations, polite closers, problems reported and problems resolved.

use super::*;

pub(super) const INTERROGATIVES: &[&str] = &[
    "what", "why", "how", "is", "are", "can", "could", "does", "do", "should", "would", "which", "where", "when",
    "who", "will", "did", "any", "was",
];

pub(super) fn is_question(text: &str) -> bool {
    let last = textrank::sentences(text).pop().unwrap_or_default();
    let first_word = text.split_whitespace().next().unwrap_or_default().to_lowercase();
    last.ends_with('?') || INTERROGATIVES.contains(&first_word.trim_matches(|c: char| !c.is_alphanumeric()))
}

/// The reply's closing question when it asks the user to choose (it starts with
/// which/what/how/where/when/who): not a yes/no offer, however politely put.
pub(super) fn trailing_choice_question(reply: &str) -> Option<String> {
    let last = textrank::sentences(&prose_of(reply)).pop()?;
    let first = last.split_whitespace().next()?.to_lowercase();
    let choice = ["which", "what", "how", "where", "when", "who"].contains(&first.as_str());
    (last.ends_with('?') && choice).then_some(last)
}

/// Whether a closing question offers alternatives to pick from ("Would you like me
/// to build the CLI or the web version?", "… option 1 or option 2?"): then it is a
/// choice left to the user, however politely put.
pub(super) fn offers_options(sentence: &str) -> bool {
    // An offer to do "any" more, or to "proceed", names no alternative to pick.
    const GENERIC: [&str; 7] =
        ["anything", "any ", "let me know", "if you need", "need help", "something else", "proceed"];
    let lower = sentence.to_lowercase();
    lower.ends_with('?')
        && (lower.contains(" or ") || lower.contains("which "))
        && !GENERIC.iter().any(|generic| lower.contains(generic))
}

/// The reply's closing question when it is a polite offer of alternatives (see
/// [`offers_options`]).
pub(super) fn trailing_offer_of_options(reply: &str) -> Option<String> {
    let last = textrank::sentences(&prose_of(reply)).pop()?;
    offers_options(&last).then_some(last)
}

/// Whether a user message reads as an answer to `question`, just asked: it opens
/// with a pick ("1", "the first", "yes", "go with", "option B", ...), or it is
/// short and states something ("Postgres 15") or names something the question
/// offered ("FAQ first"). A thanks or "that worked!" picks nothing, and a short
/// request about something else ("make the header sticky") passes the question over.
pub(super) fn answers(message: &str, question: &str) -> bool {
    if only_confirms(message) {
        return false;
    }
    const PICKS: [&str; 20] = [
        "yes", "no", "ok", "okay", "sure", "go", "let's", "lets", "option", "the", "first", "second", "both", "either",
        "start", "begin", "please", "sounds", "neither", "all",
    ];
    /// Words of a question that offer nothing to pick.
    const ASKING: [&str; 16] = [
        "would", "like", "want", "should", "which", "what", "next", "then", "with", "this", "that", "your", "have",
        "more", "also", "them",
    ];
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric() && c != '\'')
            .map(str::to_lowercase)
            .filter(|w| !w.is_empty())
            .collect()
    };
    let said = words(message);
    let first = said.first().map(String::as_str).unwrap_or_default();
    if PICKS.contains(&first) || (!first.is_empty() && first.chars().all(|c| c.is_ascii_digit())) {
        return true;
    }
    let offered: Vec<String> =
        words(question).into_iter().filter(|w| w.chars().count() >= 3 && !ASKING.contains(&w.as_str())).collect();
    // A short statement answers ("Postgres 15" to "Which database?"); a short
    // request answers only when it names something offered.
    said.len() <= 12 && (said.iter().any(|w| offered.contains(w)) || !requests(message))
}

/// Whether a sentence of a reply leaves something with the user without asking a
/// question: it asks them to supply or settle something ("Please provide the contents
/// of `game_manager.js`", "I need more information about which tests you mean") or
/// says the assistant could not find what it was told to use ("I couldn't find the
/// `tool_error()` method in the provided code"). A conditional offer ("If you need
/// more changes, please provide the details") leaves nothing.
pub(super) fn leaves_with_user(sentence: &str) -> bool {
    const ASKS: [&str; 14] = [
        "please provide",
        "please share",
        "please paste",
        "please send",
        "please clarify",
        "please specify",
        "please confirm",
        "could you provide",
        "could you share",
        "could you clarify",
        "can you provide",
        "can you share",
        "need more information",
        "need to see",
    ];
    const GAPS: [&str; 7] = [
        "couldn't find",
        "could not find",
        "wasn't able to find",
        "was not able to find",
        "unable to find",
        "couldn't locate",
        "could not locate",
    ];
    let lower = sentence.to_lowercase();
    !lower.starts_with("if ") && ASKS.iter().chain(&GAPS).any(|cue| lower.contains(cue))
}

/// Whether a sentence speaks to the user ("You may need to create this method").
pub(super) fn addresses_user(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    lower.starts_with("you ") || lower.contains(" you ")
}

/// A user wondering why something happens, without necessarily asking.
pub(super) const PUZZLEMENT_CUES: &[&str] = &[
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
pub(super) fn explains(reply: &str) -> bool {
    const REASONS: [&str; 8] =
        ["because", "due to", "the reason", "this happens", "caused by", "is expected", "explains", "this is why"];
    let prose = prose_of(reply).to_lowercase();
    REASONS.iter().any(|reason| prose.contains(reason))
}

pub(super) const POLITE_CLOSERS: &[&str] = &[
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

/// Replies saying a reported problem is gone.
pub(super) const RESOLVED_CUES: &[&str] = &[
    "0 errors",
    "no errors",
    "no type errors",
    "all tests pass",
    "tests pass",
    "passes now",
    "all fixed",
    "fixed all",
];

/// Whether a reply opens by saying it changed something ("Fixed the off-by-one…",
/// "I changed parse_range to…").
pub(super) fn says_it_changed(reply: &str) -> bool {
    const CHANGED: [&str; 12] = [
        "fixed",
        "changed",
        "updated",
        "corrected",
        "replaced",
        "rewrote",
        "i fixed",
        "i changed",
        "i updated",
        "i've fixed",
        "i've changed",
        "i've updated",
    ];
    let lower = prose_of(reply).trim_start().to_lowercase();
    CHANGED.iter().any(|cue| lower.starts_with(&format!("{cue} ")))
}

/// A sentence reporting a count of problems: "Found 219 errors in 31 files".
pub(super) fn reports_problems(sentence: &str) -> bool {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    words.windows(2).any(|pair| {
        let count = pair[0].trim_start_matches('(');
        let noun = pair[1].to_lowercase();
        count.parse::<u32>().is_ok_and(|n| n > 0)
            && ["error", "errors", "failure", "failures", "failed", "failing"]
                .contains(&noun.trim_end_matches([',', '.', ')', ':']))
    })
}

/// Whether `user` is a short statement answering the question `before`'s last reply
/// closed with: at most six words, asking for nothing, not a thanks.
pub(super) fn is_detail_for(before: Option<&Exchange<'_>>, user: &str) -> bool {
    let asked = before
        .and_then(|e| e.replies.last())
        .and_then(|r| textrank::sentences(&prose_of(r)).pop())
        .is_some_and(|last| last.ends_with('?'));
    asked
        && user.split_whitespace().count() <= 6
        && !user.contains('?')
        && !requests(user)
        && !confirms(user)
        && !only_reports_failure(user)
}
