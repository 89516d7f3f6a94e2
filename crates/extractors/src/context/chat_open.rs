//! What a chat leaves open: questions nobody answered, choices the user passed
//! over, attempts undone or reverted with nothing since, problems still reported at
//! the end, and commands that ran without a result.

use super::*;

/// What the exchange at `index` leaves open: the assistant's closing questions, and
/// requests it put as statements, when it is the last; puzzlement the user voiced that
/// no later reply explains; a choice the assistant asked for that the user's next
/// message passed over.
pub(super) fn left_open(exchanges: &[Exchange<'_>], index: usize, user: &str) -> Vec<String> {
    let exchange = &exchanges[index];
    let mut open_questions = Vec::new();
    // Questions the assistant asked at the very end and nobody answered.
    if index + 1 == exchanges.len()
        && let Some(last) = exchange.replies.last()
    {
        let sentences = textrank::sentences(&prose_of(last));
        let mut at = 0;
        while let Some(sentence) = sentences.get(at) {
            at += 1;
            let lower = sentence.to_lowercase();
            let polite = POLITE_CLOSERS.iter().any(|p| lower.contains(p));
            if sentence.ends_with('?') {
                if !polite || offers_options(sentence) {
                    open_questions.push(shorten(sentence, MAX_ITEM_CHARS));
                }
            } else if leaves_with_user(sentence) {
                // A request put as statements is a question too: the sentences that
                // make it, and the one after that tells the user what to do, are one.
                let mut item = sentence.clone();
                let statement_that = |n: &&String, cue: fn(&str) -> bool| !n.ends_with('?') && cue(n);
                while let Some(next) = sentences.get(at).filter(|n| statement_that(n, leaves_with_user)) {
                    item.push(' ');
                    item.push_str(next);
                    at += 1;
                }
                if let Some(next) = sentences.get(at).filter(|n| statement_that(n, addresses_user)) {
                    item.push(' ');
                    item.push_str(next);
                    at += 1;
                }
                open_questions.push(format!("{} (not answered)", shorten(&item, MAX_ITEM_CHARS)));
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
    // A choice the assistant asked for ("Which area should I tackle first?", "Would
    // you like A or B?") that the user's next message passed over for something
    // else stays open.
    if let (Some(last), Some(next)) = (exchange.replies.last(), exchanges.get(index + 1))
        && let Some(choice) = trailing_choice_question(last).or_else(|| trailing_offer_of_options(last))
        && !answers(&next.user, &choice)
    {
        open_questions.push(format!("{} (not answered)", shorten(&choice, MAX_ITEM_CHARS)));
    }
    open_questions
}

/// A question the exchange before `index` answered with an attempt (code in its
/// reply) that the user at `index` asked to revert, when no later reply attempts
/// anything again: the question is open, as after aider's `/undo`.
pub(super) fn reverted_question(exchanges: &[Exchange<'_>], index: usize) -> Option<String> {
    let attempt = &exchanges[index.checked_sub(1)?];
    let tried = |e: &Exchange<'_>| e.replies.iter().any(|r| r.contains("```"));
    let asked = request(&attempt.user);
    let answered_later = exchanges[index + 1..].iter().any(tried);
    (is_question(asked) && tried(attempt) && !answered_later)
        .then(|| format!("{} (the attempt was reverted, no answer since)", shorten(asked, MAX_ITEM_CHARS)))
}

/// The question an `/undo` at `index` leaves unanswered: the user asked it, the
/// answer was an attempt (a commit), the attempt was undone, and nothing was
/// committed after.
pub(super) fn undone_question(exchanges: &[Exchange<'_>], index: usize) -> Option<String> {
    let committed = |e: &Exchange<'_>| e.tool.iter().any(|t| commits_in(t).iter().any(|c| !c.users_own));
    let attempt = exchanges[..index].iter().rev().find(|e| committed(e))?;
    let asked = request(&attempt.user);
    let answered_later = exchanges[index + 1..].iter().any(committed);
    (is_question(asked) && !answered_later)
        .then(|| format!("{} (the attempt was undone, no answer since)", shorten(asked, MAX_ITEM_CHARS)))
}

/// Work the conversation leaves visibly unfinished: the last problems a reply
/// reported ("219 errors in 31 files") when nothing later resolved them (no later
/// reply reports them fixed, no later exchange changed anything, the user did not
/// confirm it works), and a final request whose replies only announced the work
/// ("Let me create …") without producing anything.
pub(super) fn unfinished_at_the_end(exchanges: &[Exchange<'_>], artifacts: &[ArtifactDraft]) -> Vec<String> {
    let mut open = Vec::new();
    let replies: Vec<(usize, &str)> =
        exchanges.iter().enumerate().flat_map(|(i, e)| e.replies.iter().map(move |r| (i, *r))).collect();
    let last_problem = replies.iter().enumerate().rev().find_map(|(at, (_, reply))| {
        textrank::sentences(&prose_of(reply)).into_iter().find(|s| reports_problems(s)).map(|s| (at, s))
    });
    if let Some((at, sentence)) = last_problem {
        let exchange = replies[at].0;
        let reported_fixed = replies[at + 1..].iter().any(|(_, reply)| {
            let lower = prose_of(reply).to_lowercase();
            RESOLVED_CUES.iter().any(|cue| lower.contains(cue))
        });
        let later = &exchanges[exchange + 1..];
        // A change: a commit, or without commits to go by, a reply that opens by
        // saying it changed something ("Fixed the off-by-one …"). Code shown later is
        // not enough: a session that goes on to other work shows code too.
        let changes = |e: &Exchange<'_>| {
            e.tool.iter().any(|t| !commits_in(t).is_empty()) || e.replies.iter().any(|r| says_it_changed(r))
        };
        let changed_later = later.iter().any(changes);
        let confirmed_later = later.iter().any(|e| confirms(request(&e.user)));
        if !(reported_fixed || changed_later || confirmed_later) {
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
pub(super) fn command_blocks(reply: &str) -> Vec<(String, String)> {
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
pub(super) fn mentions_result_of(command: &str, prose: &str) -> bool {
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
pub(super) fn commands_left_unreported(exchanges: &[Exchange<'_>]) -> Option<String> {
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
