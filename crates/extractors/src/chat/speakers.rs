//! Pasted conversations with speaker markers at the start of a line: `User:`,
//! `Assistant:`, `You said:`, `ChatGPT said:`, `Human:`, `## Prompt:`, `**Claude:**`
//! and the like, in any case, optionally as a heading or in bold.

use ctxd_domain::model::Role;

use super::{Chat, Message};
use crate::markdown::Fences;

const USER: &[&str] = &["user", "you", "you said", "human", "me", "prompt"];
const ASSISTANT: &[&str] =
    &["assistant", "chatgpt", "chatgpt said", "claude", "claude said", "ai", "gemini", "copilot", "response", "model"];
const SYSTEM: &[&str] = &["system"];

/// The marker's role and the text after it on the same line.
fn marker(line: &str) -> Option<(Role, &str)> {
    let heading = line.starts_with('#');
    let stripped = line.trim_start_matches(['#', ' ', '*', '_']);
    let label_end = stripped.find([':', '*', '_']).unwrap_or(stripped.len());
    let label = stripped[..label_end].trim();
    if label.is_empty() || label.len() > 16 {
        return None;
    }
    let after = &stripped[label_end..];
    let has_colon = after.trim_start_matches(['*', '_']).starts_with(':') || after.starts_with(':');
    // `## User` alone on a line is a marker; `User` alone is a word.
    if !(has_colon || (heading && after.trim_matches(['*', '_', ' ']).is_empty())) {
        return None;
    }
    let lower = label.to_lowercase();
    let role = if USER.contains(&lower.as_str()) {
        Role::User
    } else if ASSISTANT.contains(&lower.as_str()) {
        Role::Assistant
    } else if SYSTEM.contains(&lower.as_str()) {
        Role::System
    } else {
        return None;
    };
    let rest = after.trim_start_matches(['*', '_']).trim_start_matches(':').trim_start_matches(['*', '_']).trim();
    Some((role, rest))
}

pub fn parse(text: &str) -> Option<Chat> {
    // The first marker must open the text (a title line or two may come first), or
    // an ordinary document that happens to say "Response:" would be read as a chat.
    let first = text.lines().filter(|l| !l.trim().is_empty()).take(3).position(|l| marker(l).is_some())?;
    let title = (first > 0)
        .then(|| text.lines().find(|l| !l.trim().is_empty()).map(|l| l.trim_start_matches('#').trim().to_owned()))
        .flatten();

    let mut messages = Vec::new();
    let mut current: Option<(Role, Vec<&str>)> = None;
    let mut fences = Fences::default();
    for line in text.lines() {
        if !fences.in_code()
            && let Some((role, rest)) = marker(line)
        {
            if let Some((role, lines)) = current.take() {
                messages.push(Message::new(role, lines.join("\n").trim_matches('\n').to_owned()));
            }
            current = Some((role, if rest.is_empty() { Vec::new() } else { vec![rest] }));
            continue;
        }
        fences.feed(line);
        // Lines before the first marker are the title area.
        if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some((role, lines)) = current {
        messages.push(Message::new(role, lines.join("\n").trim_matches('\n').to_owned()));
    }
    Some(Chat { title, messages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speaker_markers_in_their_common_spellings_start_turns() {
        assert_eq!(marker("User: hi"), Some((Role::User, "hi")));
        assert_eq!(marker("You said:"), Some((Role::User, "")));
        assert_eq!(marker("ChatGPT said:"), Some((Role::Assistant, "")));
        assert_eq!(marker("**Human:** hello"), Some((Role::User, "hello")));
        assert_eq!(marker("## Response:"), Some((Role::Assistant, "")));
        assert_eq!(marker("### Assistant"), Some((Role::Assistant, "")));
        assert_eq!(marker("Assistant"), None, "a bare word is not a marker");
        assert_eq!(marker("Note: user input"), None);
        assert_eq!(marker("Users: many"), None);
    }

    #[test]
    fn pasted_text_becomes_ordered_turns() {
        let text = "Choosing a queue\n\nUser: Should we use Redis or Postgres for the queue?\n\nAssistant: Postgres, with SKIP LOCKED:\n\n```sql\nUser: not a marker inside code\n```\n\nUser: Let's go with Postgres.\n";
        let chat = parse(text).unwrap();
        assert_eq!(chat.title.as_deref(), Some("Choosing a queue"));
        let roles: Vec<Role> = chat.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
        assert!(chat.messages[1].text.contains("User: not a marker inside code"));
        assert_eq!(chat.messages[2].text, "Let's go with Postgres.");
    }

    #[test]
    fn a_document_that_only_mentions_a_marker_later_is_not_a_chat() {
        assert!(parse("# Report\n\nIntro.\n\nMore intro.\n\nResponse: 200 OK\n").is_none());
    }
}
