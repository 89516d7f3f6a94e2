//! aider chat histories (`.aider.chat.history.md`) and aider's website transcripts.
//!
//! aider writes every line the user typed as `#### text  ` and its own output as
//! `> text  ` (both with two trailing spaces, a markdown line break); the model's
//! reply is plain markdown. The trailing spaces are what tell a user line from a
//! `####` heading in a reply, and what ends a reply that was cut off inside a code
//! fence.

use ctxd_domain::model::Role;

use super::{Chat, Message};
use crate::markdown::Fences;

const SESSION_START: &str = "# aider chat started at";
const WEBSITE_BLOCK: &str = "<div class=\"chat-transcript\"";

/// Slash commands whose text is echoed on the next user line as the real message.
const ECHOING: &[&str] = &["/ask", "/code", "/architect", "/context"];

pub fn parse(text: &str) -> Option<Chat> {
    let lines: Vec<&str> = if text.contains(WEBSITE_BLOCK) {
        website_lines(text)
    } else if text.lines().any(|l| l.starts_with(SESSION_START)) || looks_like_aider(text) {
        text.lines().collect()
    } else {
        return None;
    };
    let mut parser = Parser::default();
    for line in lines {
        parser.line(line);
    }
    parser.flush();
    Some(Chat { title: None, messages: parser.messages })
}

/// Without the session header: at least one user line and one aider output line.
fn looks_like_aider(text: &str) -> bool {
    let mut user = false;
    let mut tool = false;
    for line in text.lines() {
        user |= is_user_line(line, false, Some(Role::Assistant));
        tool |= line.starts_with("> ") && line.ends_with("  ");
        if user && tool {
            return true;
        }
    }
    false
}

/// The lines inside `<div class="chat-transcript">` blocks: the website pages put
/// their introduction outside them.
fn website_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with(WEBSITE_BLOCK) {
            inside = true;
        } else if inside && trimmed == "</div>" {
            inside = false;
        } else if inside {
            out.push(line);
        }
    }
    out
}

/// A user line: `####` with aider's two trailing spaces, or (when an editor trimmed
/// them) a `####` line right after aider's output or another user line, where a
/// reply's heading cannot be.
fn is_user_line(line: &str, in_code: bool, after: Option<Role>) -> bool {
    let marked = line.starts_with("#### ") || line == "####";
    marked && (line.ends_with("  ") || (!in_code && after != Some(Role::Assistant)))
}

fn is_tool_line(line: &str, in_code: bool) -> bool {
    line.starts_with('>') && (!in_code || line.ends_with("  ") || line.trim_end() == ">")
}

#[derive(Default)]
struct Parser {
    messages: Vec<Message>,
    role: Option<Role>,
    lines: Vec<String>,
    fences: Fences,
    previous_blank: bool,
}

impl Parser {
    fn line(&mut self, line: &str) {
        if line.starts_with(SESSION_START) {
            self.flush();
            return;
        }
        let in_code = self.role == Some(Role::Assistant) && self.fences.in_code();
        let (role, content) = if is_user_line(line, in_code, self.role) {
            (Role::User, line.strip_prefix("####").unwrap_or(line).trim().to_owned())
        } else if is_tool_line(line, in_code) {
            (
                Role::Tool,
                line.strip_prefix("> ").or_else(|| line.strip_prefix('>')).unwrap_or(line).trim_end().to_owned(),
            )
        } else if line.trim().is_empty() {
            self.previous_blank = true;
            if self.role.is_some() {
                self.lines.push(String::new());
            }
            return;
        } else if self.role == Some(Role::Tool) && !self.previous_blank && line.ends_with("  ") {
            // A lazy continuation of aider's output block.
            (Role::Tool, line.trim_end().to_owned())
        } else {
            (Role::Assistant, line.to_owned())
        };
        self.previous_blank = false;
        if self.role != Some(role) {
            self.flush();
            self.role = Some(role);
        }
        if role == Role::Assistant {
            self.fences.feed(line);
        }
        self.lines.push(content);
    }

    fn flush(&mut self) {
        let Some(role) = self.role.take() else { return };
        self.fences = Fences::default();
        let lines = std::mem::take(&mut self.lines);
        let text = lines.join("\n").trim_matches('\n').to_owned();
        let texts = if role == Role::User {
            split_at_commands(&text).iter().map(|message| drop_echoed_command(message)).collect()
        } else {
            vec![text]
        };
        // A retry or a second user line after aider's output extends nothing: each
        // user block is its own message.
        for text in texts.into_iter().filter(|t| !t.trim().is_empty()) {
            self.messages.push(Message::new(role, text));
        }
    }
}

/// `/clear`, `/add x`: a slash command, not a path such as `/home/me/x`.
fn is_command(line: &str) -> bool {
    let word = line.split_whitespace().next().unwrap_or_default();
    word.len() > 1 && word.starts_with('/') && word[1..].chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

/// A user block as the separate inputs it holds: a slash command is one line of its
/// own, so a command that printed nothing (`/clear`) is not the start of the message
/// typed after it. An echoing command (`/ask x`) keeps the echo line that follows.
fn split_at_commands(text: &str) -> Vec<String> {
    let mut messages: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        let after_plain_command = messages.last().and_then(|m| m.first()).is_some_and(|first| {
            is_command(first) && !ECHOING.contains(&first.split_whitespace().next().unwrap_or_default())
        });
        match messages.last_mut() {
            Some(message) if !is_command(line) && (!after_plain_command || line.trim().is_empty()) => {
                message.push(line);
            }
            _ => messages.push(vec![line]),
        }
    }
    messages.into_iter().map(|m| m.join("\n").trim_matches('\n').to_owned()).collect()
}

/// `/ask question` followed by aider's echo of `question` becomes just the question.
fn drop_echoed_command(text: &str) -> String {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let (Some(first), Some(second)) = (lines.next(), lines.next()) else { return text.to_owned() };
    let Some((command, rest)) = first.split_once(' ') else { return text.to_owned() };
    if ECHOING.contains(&command) && rest.trim() == second.trim() {
        let after_first = text.find(first).map_or(0, |at| at + first.len());
        return text[after_first..].trim_start_matches('\n').to_owned();
    }
    text.to_owned()
}

// aider's vocabulary, as the context extractor reads a session by it.

/// aider's commands that can add their output to the chat for the model to read.
pub(crate) const OUTPUT_COMMANDS: &[&str] = &["/run", "/test", "/lint", "/web"];

/// aider's slash commands that are not conversation turns.
pub(crate) const COMMANDS: &[&str] = &[
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

/// Files aider's output says it put in the chat or edited ("Added x to the chat",
/// "Applied edit to x"): the files a coding session worked on, even when nobody named
/// them in prose.
pub(crate) fn files_edited(tool: &str) -> Vec<String> {
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

/// A commit aider reported, and whether it holds the user's own uncommitted changes,
/// which aider commits ("Committing x before applying edits.") before its edit.
pub(crate) struct Commit {
    pub(crate) id: String,
    pub(crate) message: String,
    pub(crate) users_own: bool,
}

pub(crate) fn commits_in(tool: &str) -> Vec<Commit> {
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
pub(crate) fn removed_in(tool: &str) -> Vec<String> {
    tool.lines()
        .filter_map(|line| line.trim().strip_prefix("Removed: "))
        .map(|rest| format!("commit {}", rest.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HISTORY: &str = "# aider chat started at 2024-08-12 16:00:14

> aider main.py  
> Added main.py to the chat.  

#### /ask should we cache the map?  

####  should we cache the map?  

Yes. Here is how:

#### Design

```python
cache = {}
> not aider output: inside a fence without trailing spaces
> ^C again to exit  

#### ok, do it  

Done:

```python
cache = load()
```

> Applied edit to main.py  
> Commit 1a2b3c4 feat: cache the map  
continued output line  

#### /undo  

> Removed: 1a2b3c4 feat: cache the map  
";

    #[test]
    fn user_lines_tool_output_and_replies_become_turns() {
        let chat = parse(HISTORY).unwrap();
        let roles: Vec<Role> = chat.messages.iter().map(|m| m.role).collect();
        use Role::*;
        assert_eq!(roles, [Tool, User, Assistant, Tool, User, Assistant, Tool, User, Tool]);
        assert_eq!(chat.messages[1].text, "should we cache the map?", "the /ask echo is merged");
        let reply = &chat.messages[2].text;
        assert!(reply.contains("#### Design"), "a heading without trailing spaces stays in the reply: {reply}");
        assert!(reply.contains("> not aider output"), "a quote inside an open fence is code: {reply}");
        assert_eq!(chat.messages[4].text, "ok, do it");
        assert!(chat.messages[6].text.contains("continued output line"), "lazy continuation of output");
        assert_eq!(chat.messages[7].text, "/undo");
    }

    #[test]
    fn website_transcripts_keep_only_the_chat_blocks() {
        let page = "---\nparent: Examples\n---\n\n# Title\n\nIntro prose.\n\n<div class=\"chat-transcript\" markdown=\"1\">\n> $ aider  \n\n#### make it blue  \n\nSure:\n\n```css\nbody { color: blue; }\n```\n\n> Applied edit  \n</div>\n<div class=\"chat-transcript\" markdown=\"1\">\n#### now a trimmed line without the trailing spaces\n\nDone.\n</div>\n";
        let chat = parse(page).unwrap();
        assert_eq!(chat.messages.len(), 6);
        assert_eq!(chat.messages[4], Message::new(Role::User, "now a trimmed line without the trailing spaces"));
        assert_eq!(chat.messages[1], Message::new(Role::User, "make it blue"));
        assert!(chat.messages[2].text.starts_with("Sure:"));
        assert!(chat.messages.iter().all(|m| !m.text.contains("Intro prose")));
    }

    #[test]
    fn a_command_that_printed_nothing_does_not_swallow_the_next_message() {
        let history = "# aider chat started at 2024-08-12 16:00:14\n\n#### /clear  \n\n#### put the token in analytics  \n\nDone.\n\n#### /ask why?  \n\n####  why?  \n\nBecause.\n";
        let chat = parse(history).unwrap();
        let messages: Vec<(Role, &str)> = chat.messages.iter().map(|m| (m.role, m.text.as_str())).collect();
        assert_eq!(
            messages,
            [
                (Role::User, "/clear"),
                (Role::User, "put the token in analytics"),
                (Role::Assistant, "Done."),
                (Role::User, "why?"),
                (Role::Assistant, "Because.")
            ]
        );
        assert_eq!(split_at_commands("/home/me/notes.md is wrong\nfix it"), ["/home/me/notes.md is wrong\nfix it"]);
    }

    #[test]
    fn other_markdown_is_not_taken_for_aider() {
        assert!(parse("# Notes\n\n#### A heading\n\n> a quote\n").is_none());
    }
}
