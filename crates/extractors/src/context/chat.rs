//! A chat's context: the exchanges collected from the turns, decisions from the user's
//! instructions with the commits that carried them out, open questions, one line per
//! exchange, values a style or configuration edit settled on.

use super::*;

/// One user message and what followed it until the next one.
pub(super) struct Exchange<'a> {
    pub(super) user: String,
    /// Times the same message was sent (retries after errors).
    pub(super) sent: u32,
    pub(super) replies: Vec<&'a str>,
    pub(super) tool: Vec<&'a str>,
    pub(super) first_turn: u32,
    pub(super) last_turn: u32,
}

/// A chat's context: decisions from the user's instructions (with the commits that
/// carried them out), open questions from unanswered questions and the assistant's
/// last unanswered ones, one line per exchange, and the artifact list. Three steps:
/// the turns are collected into exchanges, each exchange is classified (what it
/// decided, what it left open, its line in the conversation), and the findings are
/// rendered with the summary, key points and files.
pub(super) fn chat_context(document: &Document, artifacts: &[ArtifactDraft]) -> ContextDraft {
    let lines: Vec<&str> = document.markdown.lines().collect();
    let turn_text = |index: usize| {
        let turn = &document.turns[index];
        // Skip the `**Role:**` label line.
        let from = (turn.start_line as usize).min(lines.len());
        let to = (turn.end_line as usize).min(lines.len());
        lines[from..to].join("\n")
    };
    let texts: Vec<String> = (0..document.turns.len()).map(turn_text).collect();
    let exchanges = collect(document, &texts);
    let findings = classify(&exchanges, artifacts);
    render(document, &texts, &exchanges, findings, artifacts)
}

/// What the exchanges of a chat come to.
struct Findings {
    decisions: Vec<String>,
    open_questions: Vec<String>,
    /// One line per exchange.
    conversation: Vec<String>,
}

/// The user messages of a chat, each with the replies and tool output that followed
/// it; a message sent again after only errors counts once.
fn collect<'a>(document: &Document, texts: &'a [String]) -> Vec<Exchange<'a>> {
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

    exchanges
}

/// Decisions, open questions and the conversation line of every exchange.
fn classify(exchanges: &[Exchange<'_>], artifacts: &[ArtifactDraft]) -> Findings {
    let mut decisions: Vec<String> = Vec::new();
    let mut open_questions = Vec::new();
    let mut conversation = Vec::new();
    let changed_anything = |exchange: &Exchange<'_>| exchange.tool.iter().any(|t| !commits_in(t).is_empty());
    for (index, exchange) in exchanges.iter().enumerate() {
        let (own, commits): (Vec<Commit>, Vec<Commit>) =
            exchange.tool.iter().flat_map(|t| commits_in(t)).partition(|c| c.users_own);
        let command = exchange.user.split_whitespace().next().unwrap_or_default();
        if command == "/undo" {
            let removed: Vec<String> = exchange.tool.iter().flat_map(|t| removed_in(t)).collect();
            let what = if removed.is_empty() { "the last commit".to_owned() } else { removed.join(", ") };
            decisions.push(format!("Undid {what}"));
            open_questions.extend(undone_question(exchanges, index));
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
        let proposal = index.checked_sub(1).and_then(|i| exchanges[i].replies.last().copied());
        // "Could you make it keep the last 14?" answered is a request carried out.
        let asked = !exchange.replies.is_empty() && polite_request(user).is_some();
        let question = is_question(user) && !asked;
        // "Nice, that worked!" decides nothing new: it verifies the decision before it.
        if confirms(user)
            && let Some(last) = decisions.last_mut()
            && !last.ends_with(CONFIRMED)
        {
            last.push_str(CONFIRMED);
        }
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
        // Running something decides nothing (its result is in the conversation line)
        // unless the reply to its output committed a change, and a question nothing
        // was committed for is no decision either.
        // Nor does a thanks, reference text pasted in, or a request whose reply only
        // asked for details that the next message gave and that one carried out.
        let unchanged = commits.is_empty() && own.is_empty();
        let clarified = exchange.replies.iter().any(|r| asks_for_details(r))
            && exchanges.get(index + 1).is_some_and(changed_anything);
        // A failure reported, answered, and then confirmed fixed: the reply's fix is
        // what was decided. Reported alone, a failure decides nothing.
        let report = unchanged && only_reports_failure(user);
        let fix = exchanges
            .get(index + 1)
            .filter(|next| report && confirms(request(&next.user)))
            .and_then(|_| exchange.replies.iter().find_map(|r| reply_gist(r)));
        let noise =
            unchanged && (only_confirms(user) || pasted_reference(user) || report || asks_to_run(user) || clarified);
        // A short statement answering the question the last reply closed with
        // ("Which database are you using?" "Postgres 15") is a detail of the
        // decision before it, not one of its own.
        let detail = unchanged
            && !exchange.replies.is_empty()
            && is_detail_for(exchanges[..index].last(), user)
            && !only_approves(user)
            && picked_option(user, proposal).is_none();
        if detail && let Some(last) = decisions.last_mut() {
            let at = last.find(CONFIRMED).unwrap_or(last.len());
            last.insert_str(at, &format!(" ({})", user.trim().trim_end_matches('.')));
        }
        let decided = !((reads_output && unchanged) || superseded || noise || detail || (question && unchanged));
        let decision = match fix {
            Some(fix) => Some(shorten(&fix, MAX_ITEM_CHARS)),
            None => decided.then(|| decision(user, &exchange.replies, proposal, &commits, &own, &in_exchange)),
        };
        // A request the Decisions section quotes whole is only recalled here.
        let quoted_whole = decision.as_ref().is_some_and(|decision| {
            let first = first_paragraph(user);
            let bare = |text: &str| text.replace(['`', '*'], "");
            first.chars().count() <= MAX_ITEM_CHARS
                && bare(&first) == bare(&user.split_whitespace().collect::<Vec<_>>().join(" "))
                && decision.starts_with(&first)
        });
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

        match decision {
            Some(decision) => {
                // "Actually, switch the session store to Redis instead" replaces the
                // decision about the session store before it.
                if let Some(earlier) = replaced_by(&decisions, user) {
                    decisions[earlier].push_str(REPLACED);
                }
                decisions.push(decision);
            }
            None if question && !reads_output && !superseded && exchange.replies.is_empty() => {
                open_questions.push(format!("{} (no answer)", shorten(user, MAX_ITEM_CHARS)));
            }
            // A problem the user reported last, that nobody answered, is unresolved.
            None if report && exchange.replies.is_empty() && index + 1 == exchanges.len() => {
                open_questions.push(format!("{} (no answer)", shorten(user, MAX_ITEM_CHARS)));
            }
            None => {}
        }
        open_questions.extend(left_open(exchanges, index, user));
        if unchanged && asks_to_revert(user) {
            open_questions.extend(reverted_question(exchanges, index));
        }
    }
    open_questions.extend(unfinished_at_the_end(exchanges, artifacts));
    open_questions.extend(commands_left_unreported(exchanges));
    Findings {
        decisions: dedup(decisions.into_iter()),
        open_questions: dedup(open_questions.into_iter()),
        conversation,
    }
}

/// The context's markdown and fields: title, summary and key points from the prose,
/// the findings' sections, the files the session named or edited, the artifacts.
fn render(
    document: &Document,
    texts: &[String],
    exchanges: &[Exchange<'_>],
    findings: Findings,
    artifacts: &[ArtifactDraft],
) -> ContextDraft {
    let Findings { decisions, open_questions, conversation } = findings;
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
    // A key point the conversation list already quotes would be said twice; a
    // question put to the user is answered in the conversation or open, not a point.
    key_points.retain(|point| {
        !point.ends_with('?') && !conversation.iter().chain(&decisions).any(|line| line.contains(point.as_str()))
    });
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
    long_section_list(&mut content, "Decisions", &decisions, true);
    section_list(&mut content, "Open questions", &open_questions, false);
    section_list(&mut content, "Key points", &key_points, false);
    long_section_list(&mut content, "Conversation", &conversation, true);
    let mut files =
        files_mentioned(document.turns.iter().zip(texts).filter(|(t, _)| t.role != Role::Tool).map(|(_, x)| x));
    for file in
        document.turns.iter().zip(texts).filter(|(t, _)| t.role == Role::Tool).flat_map(|(_, x)| files_edited(x))
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
    long_artifact_list(&mut content, artifacts);
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
pub(super) fn request(message: &str) -> &str {
    message.trim_start_matches("/ask").trim_start_matches("/code").trim()
}

/// Whether the user stopped the exchange's reply: aider prints `^C` when it is
/// interrupted, and a reply cut off mid-block leaves its code fence open.
pub(super) fn interrupted(exchange: &Exchange<'_>) -> bool {
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
pub(super) const RESTATED_MIN_WORDS: usize = 5;

/// Tenths of a message's words a later one must repeat to restate it.
pub(super) const RESTATED_TENTHS: usize = 8;

/// Whether `later` restates `message`, as a user does who interrupts a reply and
/// sends the request again with a change.
pub(super) fn restates(message: &str, later: &str) -> bool {
    let words = |text: &str| -> std::collections::HashSet<String> {
        text.split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (mine, theirs) = (words(message), words(request(later)));
    mine.len() >= RESTATED_MIN_WORDS && mine.intersection(&theirs).count() * 10 >= mine.len() * RESTATED_TENTHS
}

/// `<datetime>`, `<your-key>`: an angle-bracketed word that is no HTML element.
pub(super) fn is_placeholder(html: &str) -> bool {
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
pub(super) fn files_mentioned<'a>(texts: impl Iterator<Item = &'a String>) -> Vec<String> {
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

/// The prose of a message: its blocks outside code, one per line, without the
/// captions above what tools wrote.
pub(super) fn prose_of(text: &str) -> String {
    let prose = blocks(text).into_iter().filter(|b| b.heading.is_none() && !crate::chat::is_caption(&b.text));
    prose.map(|b| b.text).collect::<Vec<_>>().join("\n")
}

pub(super) fn first_paragraph(text: &str) -> String {
    let prose = prose_of(text);
    let first = prose.lines().next().unwrap_or(text);
    first.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first sentence or two of a reply, up to about 240 characters.
pub(super) fn reply_gist(reply: &str) -> Option<String> {
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
pub(super) fn reply_conclusion(reply: &str) -> Option<String> {
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
pub(super) const MAX_CHANGED_LINES: usize = 3;

/// Languages whose edits set values rather than logic: styles, markup, configuration.
pub(super) const VALUE_LANGUAGES: &[&str] = &[
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
pub(super) fn added_lines(code: &str) -> Vec<(&str, Option<&str>)> {
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
pub(super) fn replaced_value<'a>(added: &str, removed: &[&'a str]) -> Option<&'a str> {
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
