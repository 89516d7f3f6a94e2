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
    "that fixed it",
    "fixed it",
    "that did it",
    "that did the trick",
    "that solved it",
    "it's working",
    "working now",
    "all green",
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
    // A bare "fix it" names no fix: what the reply changed does.
    "fix it",
    "fix them",
    "fix that",
    "fix this",
    "fix those",
    "please fix",
];

/// A bare approval (or a pick of an option) has at most this many words.
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

/// A confirmation that goes on to report what it measured ("That fixed it, CI is
/// green now and down to 9 minutes. Thanks!") still only confirms, up to this many
/// words, when none of its sentences asks for anything.
const REPORT_WORDS: usize = 30;

/// Whether the message opens by confirming what came before ("nice, that worked!",
/// "thanks", "it works. but the ball is too fast"), and reports no failure ("tests
/// pass locally but CI fails" confirms nothing).
pub(super) fn confirms(message: &str) -> bool {
    let words = lowered_words(message);
    // "ok, that worked", "yes it works": an approval's word before the confirmation.
    let after_filler = ["ok ", "okay ", "yes ", "yep ", "yeah ", "alright ", "so "]
        .iter()
        .find_map(|filler| words.strip_prefix(filler))
        .unwrap_or(&words);
    starts_with_any(after_filler, CONFIRMATIONS) && !reports_failure(message)
}

/// Whether the message is only a confirmation or a thanks: it asks for nothing.
pub(super) fn only_confirms(message: &str) -> bool {
    let count = lowered_words(message).split(' ').count();
    confirms(message) && !message.contains('?') && count <= REPORT_WORDS && !asks_in_clauses(message)
}

/// Whether any clause of the message's sentences asks for something: "thanks, use
/// the copy version" asks after its comma.
fn asks_in_clauses(message: &str) -> bool {
    clauses(message).any(|clause| requests(&clause))
}

/// The clauses of a message's sentences, split at commas, semicolons and dashes.
fn clauses(message: &str) -> impl Iterator<Item = String> {
    sentences_of(message).into_iter().flat_map(|s| s.split([',', ';', '—']).map(str::to_owned).collect::<Vec<_>>())
}

/// `message` after the thanks or confirmation it opens with, up to the first
/// sentence or clause break ("thanks, use the copy version" -> "use the copy
/// version"); the whole message when it opens otherwise or is nothing more.
fn after_thanks(message: &str) -> &str {
    let Some(at) = message.find([',', '.', '!', ';', '—']) else { return message };
    let (head, rest) = message.split_at(at);
    let rest = rest.trim_start_matches([',', '.', '!', ';', '—', ' ', '\n']);
    if rest.is_empty() || !confirms(head) { message } else { rest }
}

/// How a sentence opens when it asks for something to be done: a verb of doing, a
/// polite request, or what comes next ("now", "also", "but"). The list errs on the
/// side of asking: a sentence it misses reads as a report, and a report decides
/// nothing.
const REQUEST_VERBS: &str = "add make change remove delete use try update fix implement write create move rename \
     switch replace refactor put set keep drop let's lets please can could would will now \
     next also then but however instead convert build run show explain give help do don't \
     dont go include handle support return split merge call wrap extract generate modify \
     adjust increase decrease reduce limit allow avoid ensure find check look investigate \
     debug figure tell test verify review read print log clean optimize optimise improve \
     simplify rewrite port translate document describe list compare analyze analyse \
     install deploy configure enable disable revert undo restore format sort filter parse \
     load save send fetch commit push bump upgrade downgrade pin mock skip ignore stop \
     start restart apply fill complete finish continue proceed consider think suggest \
     propose recommend plan design draft summarize summarise annotate lint clarify answer \
     solve resolve get bring turn should";

/// Phrases that open a request ("I want …", "we should …").
const REQUEST_PHRASES: &[&str] =
    &["i want", "i need", "i'd like", "we need", "we want", "we should", "you should", "it should"];

/// Whether a sentence asks for something (see [`REQUEST_VERBS`]), or says how
/// things should be ("the command is wrong, it should be -p 8080:8080").
pub(super) fn requests(sentence: &str) -> bool {
    const WANTS: [&str; 5] = [" should ", " instead", " needs to ", " must ", " has to "];
    let words = lowered_words(sentence);
    let first = words.split(' ').next().unwrap_or_default();
    REQUEST_VERBS.split_whitespace().any(|verb| verb == first)
        || starts_with_any(&words, REQUEST_PHRASES)
        || WANTS.iter().any(|cue| format!(" {words} ").contains(cue))
}

/// The sentences of a message's prose (its code left out).
fn sentences_of(message: &str) -> Vec<String> {
    textrank::sentences(&prose_of(message))
}

/// Whether the message reports that something failed: an error, a failing test, a
/// crash. "No errors" and "no longer fails" report none.
pub(super) fn reports_failure(message: &str) -> bool {
    const FAILURES: &[&str] = &[
        "fails",
        "failed",
        "failing",
        "failure",
        "error:",
        "errors:",
        "an error",
        "the error",
        "this error",
        "same error",
        "doesn't work",
        "does not work",
        "not working",
        "isn't working",
        "stopped working",
        "broke",
        "crash",
        "exception",
        "traceback",
        "panicked",
        "still wrong",
        "is wrong",
        "still takes",
        "still slow",
        "still get",
        "still see",
        "still happens",
        "still broken",
        "still not",
        "still doesn't",
        "too slow",
        "takes too long",
        "hangs",
        "freezes",
        "times out",
        "timed out",
    ];
    const NONE: [&str; 5] = ["no error", "0 error", "without error", "no longer", "zero error"];
    let lower = message.to_lowercase();
    FAILURES.iter().any(|cue| lower.contains(cue)) && !NONE.iter().any(|cue| lower.contains(cue))
}

/// Whether the message only reports a problem (an error passed on, a test that
/// fails) and asks for nothing: what is then done about it is the decision, not the
/// report.
pub(super) fn only_reports_failure(message: &str) -> bool {
    reports_failure(message) && !message.contains('?') && !asks_in_clauses(message)
}

/// Whether the message asks to run something (tests, a build, a check): running
/// decides nothing, as aider's `/run` does not; its result is in the conversation.
pub(super) fn asks_to_run(message: &str) -> bool {
    const RUNS: [&str; 5] = ["run", "rerun", "re-run", "execute", "please run"];
    let words = lowered_words(after_thanks(message));
    words.split(' ').count() <= BARE_WORDS && starts_with_any(&words, &RUNS)
}

/// Whether the message asks to take the last change back ("that broke the tests,
/// revert it", "undo that").
pub(super) fn asks_to_revert(message: &str) -> bool {
    const REVERTS: [&str; 7] = ["revert", "undo", "roll back", "rollback", "go back to", "put back", "restore"];
    clauses(message).any(|clause| starts_with_any(&lowered_words(&clause), &REVERTS))
}

/// Whether the message only approves what the assistant proposed ("go ahead", "yes
/// do that", "make that change").
pub(super) fn only_approves(message: &str) -> bool {
    let words = lowered_words(after_thanks(message));
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
    let opens_with_code = (declares || signature) && first_line.split_whitespace().count() >= 8;
    // Or a line or two that only introduce it ("Here is our enqueue function's
    // signature, for reference:") above code that is most of the message, or that
    // say it is for reference.
    const CUES: [&str; 4] = ["for reference", "for context", "fyi", "for your information"];
    let prose = prose_of(message);
    let (prose_chars, chars) = (prose.chars().count(), message.chars().count());
    let lower = prose.to_lowercase();
    let introduced = (prose_chars * 2 < chars || (prose_chars < chars && CUES.iter().any(|c| lower.contains(c))))
        && !message.contains('?')
        && !sentences_of(message).iter().any(|s| requests(s));
    (opens_with_code && !message.trim_end().ends_with('?')) || introduced
}

/// Whether a reply asks the user for details before doing anything ("I need more
/// information about which test cases…", "Please provide…").
pub(super) fn asks_for_details(reply: &str) -> bool {
    const CUES: [&str; 5] =
        ["need more information", "please provide", "could you clarify", "can you clarify", "more details"];
    let lower = prose_of(reply).to_lowercase();
    CUES.iter().any(|cue| lower.contains(cue))
}

/// Marks a decision a later one replaced.
pub(super) const REPLACED: &str = " — replaced by a later decision";

/// The earlier decision `user` replaces, when it says so ("actually …", "no, …", "…
/// instead") and shares at least two content words with it: the newest such one not
/// already marked. "Instead of printing all the data, print a summary" replaces how
/// something is printed, not a decision: "instead of" and "rather than" say what
/// the request itself does differently.
pub(super) fn replaced_by(decisions: &[String], user: &str) -> Option<usize> {
    let lower = lowered_words(user);
    let words: Vec<&str> = lower.split(' ').collect();
    let instead = words.iter().enumerate().any(|(at, w)| {
        let next = words.get(at + 1).copied();
        (*w == "instead" && next != Some("of")) || (*w == "rather" && next != Some("than"))
    });
    let replaces =
        instead || lower.starts_with("actually ") || lower.starts_with("no ") || lower.starts_with("scratch that");
    if !replaces {
        return None;
    }
    // Words any two requests share ("should", "show", "make") say nothing of their
    // subject.
    const COMMON: [&str; 24] = [
        "should", "show", "shows", "would", "could", "with", "that", "this", "have", "from", "they", "them", "when",
        "what", "then", "there", "also", "only", "just", "like", "instead", "actually", "make", "want",
    ];
    let content = |text: &str| -> Vec<String> {
        let words = lowered_words(text);
        words.split(' ').filter(|w| w.chars().count() >= 4 && !COMMON.contains(w)).map(str::to_owned).collect()
    };
    let said = content(user);
    decisions.iter().rposition(|decision| {
        !decision.contains(REPLACED) && content(decision).iter().filter(|w| said.contains(w)).count() >= 2
    })
}

/// Marks a decision the user then confirmed worked.
pub(super) const CONFIRMED: &str = " — confirmed working by the user";

/// What an exchange decided, worded by what was changed: the commits' subjects (the
/// user's words added when they carry substance the subjects lack), else for a
/// pick of a listed option the option as the `proposal` (the reply before) words
/// it, else for a bare approval the reply's gist (or, when that reply only leads
/// into what it shows, "Here is the migration:", the proposal's gist), else the
/// request's first paragraph; then the user's own changes
/// committed first, and the values a style or configuration edit set.
pub(super) fn decision(
    user: &str,
    replies: &[&str],
    proposal: Option<&str>,
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
    } else if let Some(option) = picked_option(user, proposal) {
        shorten(&option, MAX_ITEM_CHARS)
    } else if (only_approves(user) || asks_to_revert(user))
        && let Some(gist) = replies
            .iter()
            .find_map(|r| reply_gist(r))
            .filter(|gist| !leads_in(gist))
            // Only an approval has a proposal before it: before "fix it" or "revert
            // it" is the problem or the change.
            .or_else(|| proposal.filter(|_| approves_a_proposal(user)).and_then(reply_gist))
    {
        // "Fixed the off-by-one in parse_range:" led into its code.
        shorten(gist.trim_end_matches(':'), MAX_ITEM_CHARS)
    } else {
        let paragraph = first_paragraph(user);
        // "thanks! now make it accept fractions" asks to make it accept fractions.
        let request = after_thanks(&paragraph).to_owned();
        shorten(&polite_request(&request).unwrap_or(request), MAX_ITEM_CHARS)
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

/// How a request put as a question opens ("Can you write…", "Could you make it…").
const POLITE_OPENERS: &[&str] = &["can you", "could you", "would you", "will you", "can we", "could we", "please"];

/// Verbs that ask to be told something, not for something to be made: "Can you
/// explain…" is a question.
const INFORMING: &[&str] = &[
    "explain",
    "tell",
    "show",
    "describe",
    "clarify",
    "summarize",
    "summarise",
    "list",
    "help",
    "give",
    "check",
    "look",
    "find",
    "compare",
    "recommend",
    "suggest",
    "think",
    "answer",
    "read",
    "review",
    "consider",
    "verify",
];

/// A request put as a question ("Could you make it keep only the last 14 backups?"),
/// worded as the instruction it is ("Make it keep only the last 14 backups"): a
/// polite opener, then a verb of making. `None` for any other message.
pub(super) fn polite_request(message: &str) -> Option<String> {
    let first = textrank::sentences(message).into_iter().next()?;
    let lower = first.to_lowercase();
    let rest = POLITE_OPENERS.iter().find_map(|opener| {
        let after = lower.strip_prefix(opener)?;
        after.starts_with(' ').then(|| first[opener.len()..].trim_start().trim_start_matches("please ").to_owned())
    })?;
    let verb = rest.split_whitespace().next()?.to_lowercase();
    let makes = REQUEST_VERBS.split_whitespace().any(|v| v == verb) && !INFORMING.contains(&verb.as_str());
    let mut chars = rest.trim_end_matches(['?', '.', '!', ' ']).chars();
    let head = chars.next()?;
    makes.then(|| head.to_uppercase().chain(chars).collect())
}

/// Whether a reply's gist only leads into what follows it ("Here is the migration:",
/// "Sure!"): it says nothing of what was decided. "Fixed the off-by-one in
/// parse_range:" above its code says it.
fn leads_in(gist: &str) -> bool {
    const OPENERS: [&str; 9] =
        ["here", "sure", "ok", "okay", "certainly", "of course", "below", "this is", "the following"];
    let opens = starts_with_any(&lowered_words(gist), &OPENERS);
    (gist.trim_end().ends_with(':') && opens) || gist.split_whitespace().count() <= 3
}

/// Whether the message approves what the reply before proposed (not a bare "fix
/// it", whose reply before is the problem).
fn approves_a_proposal(user: &str) -> bool {
    only_approves(user) && !starts_with_any(&lowered_words(after_thanks(user)), &["fix", "please fix"])
}

/// A commit message's subject, without the `aider: ` its author tag adds.
fn subject(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    line.strip_prefix("aider:").map_or(line, str::trim).trim_end_matches('.').to_owned()
}

/// Whether the user's words say something the commit may not: not a bare approval
/// or confirmation, not pasted reference text, not an error message passed on, not
/// a command whose output the commit answered (`/run go test ./...`).
fn carries_substance(user: &str) -> bool {
    if user.starts_with('/') {
        return false;
    }
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

/// Ordinal words a pick of a listed option may use ("the second one").
const ORDINALS: [&str; 5] = ["first", "second", "third", "fourth", "fifth"];

/// The option a short pick names ("go with option 2", "the second one", "#3", "2")
/// among the numbered list of the reply it answers (`proposal`), worded as that item:
/// the user's words name it, the list says what it is.
pub(super) fn picked_option(user: &str, proposal: Option<&str>) -> Option<String> {
    let words = lowered_words(user);
    let words: Vec<&str> = words.split(' ').collect();
    if words.len() > BARE_WORDS {
        return None;
    }
    let alone = words.len() == 1 || (words.len() == 2 && words[1] == "please");
    let number = words.iter().enumerate().find_map(|(at, word)| {
        let before = at.checked_sub(1).map(|b| words[b]);
        if let Some(n) = word.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()) {
            return Some(n);
        }
        if let Ok(n) = word.parse::<usize>() {
            return (alone || matches!(before, Some("option" | "number"))).then_some(n);
        }
        let ordinal = ORDINALS.iter().position(|o| o == word)? + 1;
        (alone || before == Some("the")).then_some(ordinal)
    })?;
    let lists = numbered_lists(proposal?);
    let item = lists.iter().rev().find_map(|list| list.get(number.checked_sub(1)?))?;
    Some(format!("{item} (option {number})"))
}

/// The numbered lists of a message ("1. Local disk…", "2) S3…"), each a list of its
/// items' text; a line numbered 1 starts a new list.
fn numbered_lists(text: &str) -> Vec<Vec<String>> {
    let mut lists: Vec<Vec<String>> = Vec::new();
    for line in text.lines().map(str::trim_start) {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let Some(item) =
            line.get(digits..).and_then(|rest| rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")))
        else {
            continue;
        };
        if digits == 0 {
            continue;
        }
        let item = item.replace(['*', '`'], "").trim().to_owned();
        match lists.last_mut() {
            Some(list) if &line[..digits] != "1" => list.push(item),
            _ => lists.push(vec![item]),
        }
    }
    lists
}
