//! SpecStory exports of Cursor/VS Code agent chats: `_**User**_` and `_**Assistant**_`
//! lines start turns, `---` lines separate segments, and one assistant turn is split
//! into many segments around tool calls (merged back here).

use ctxd_domain::model::Role;

use super::{Chat, Message};

fn role_of(line: &str) -> Option<Role> {
    match line.trim() {
        "_**User**_" => Some(Role::User),
        "_**Assistant**_" => Some(Role::Assistant),
        _ => None,
    }
}

pub fn parse(text: &str) -> Option<Chat> {
    let lines: Vec<&str> = text.lines().collect();
    let first_turn = lines.iter().position(|l| role_of(l).is_some())?;
    let title = lines[..first_turn]
        .iter()
        .filter_map(|l| l.strip_prefix("## "))
        .find(|t| t.trim() != "SpecStory")
        .map(|t| t.trim().to_owned());

    let mut messages: Vec<Message> = Vec::new();
    let mut role = None;
    let mut current: Vec<&str> = Vec::new();
    let flush = |messages: &mut Vec<Message>, role: Option<Role>, current: &mut Vec<&str>| {
        let Some(role) = role else { return };
        let text = current.join("\n").trim_matches('\n').to_owned();
        current.clear();
        if text.trim().is_empty() {
            return;
        }
        match messages.last_mut() {
            // Segments of one assistant turn, split around tool calls. Two user
            // segments in a row are two messages (a question sent again).
            Some(last) if last.role == role && role == Role::Assistant => {
                last.text.push_str("\n\n");
                last.text.push_str(&text);
            }
            _ => messages.push(Message::new(role, text)),
        }
    };
    // The markers are whole lines that SpecStory writes between segments; fences in
    // the exported replies are often unbalanced (3- and 4-backtick ones mixed), so a
    // marker line always starts a turn, and an unclosed block is closed when rendering.
    for (i, line) in lines.iter().enumerate().skip(first_turn) {
        if let Some(next) = role_of(line) {
            flush(&mut messages, role, &mut current);
            role = Some(next);
            continue;
        }
        if line.trim() == "---" && separates_segments(&lines[i + 1..]) {
            continue;
        }
        current.push(line);
    }
    flush(&mut messages, role, &mut current);
    Some(Chat { title, messages })
}

/// A `---` is a segment separator when the next non-blank line starts a turn (or
/// nothing follows); otherwise it is a rule inside a message.
fn separates_segments(rest: &[&str]) -> bool {
    rest.iter().find(|l| !l.trim().is_empty()).is_none_or(|l| role_of(l).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_of_one_turn_are_merged_and_separators_dropped() {
        let text = "## SpecStory\n\n## Fixing profiles (1/20/2025, 9:10:00 AM)\n\n_**User**_\n\nWhy does saving B change A?\n\n---\n\n_**Assistant**_\n\nLet me look.\n\n---\n\n_**Assistant**_\n\n````\n_**User**_ inside a fence\n```ts\nx()\n```\n````\n\nA rule inside a reply:\n\n---\n\nmore\n\n---\n\n_**User**_\n\nThanks\n";
        let chat = parse(text).unwrap();
        assert_eq!(chat.title.as_deref(), Some("Fixing profiles (1/20/2025, 9:10:00 AM)"));
        assert_eq!(chat.messages.len(), 3);
        assert_eq!(chat.messages[0], Message::new(Role::User, "Why does saving B change A?"));
        let reply = &chat.messages[1].text;
        assert!(reply.starts_with("Let me look.\n\n````"), "{reply}");
        assert!(reply.contains("_**User**_ inside a fence"));
        assert!(reply.contains("A rule inside a reply:\n\n---\n\nmore"), "{reply}");
        assert_eq!(chat.messages[2].text, "Thanks");
    }
}
