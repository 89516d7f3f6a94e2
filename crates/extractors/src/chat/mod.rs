//! Chat transcripts → ordered turns with roles, then one markdown rendering that the
//! extractors read back through [`Document::turns`]. Formats: ChatGPT and Claude
//! exports (JSON), API message lists (OpenAI, Anthropic, Gemini, ShareGPT; JSON or JSON
//! Lines), Claude Code sessions (JSON Lines), aider chat histories, SpecStory/Cursor
//! exports, and pasted text with speaker markers.

pub(crate) mod aider;
mod claude_code;
mod exports;
mod messages;
mod speakers;
mod specstory;

use ctxd_domain::model::{Document, DocumentFormat, Role, Turn};

use crate::markdown;

/// How the chat readers caption an artifact a Claude conversation wrote ("Artifact:
/// Pricing calculator"); artifact extraction takes the title back off it.
pub(crate) const ARTIFACT_CAPTION: &str = "Artifact: ";

/// Whether a paragraph's plain text is one of the captions the readers put above
/// what a tool wrote ([`exports::titled_block`]): "Artifact: …", "File: …",
/// "Analysis", "Ran", "Notebook cell". A caption labels code; it is not prose.
pub(crate) fn is_caption(text: &str) -> bool {
    let text = text.trim();
    let one_line = !text.contains('\n') && !text.ends_with(['.', '?', '!']);
    one_line
        && (text.starts_with(ARTIFACT_CAPTION)
            || text.starts_with("File: ")
            || ["Analysis", "Ran", "Notebook cell"].contains(&text))
}

/// One message of a conversation, its text in markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub text: String,
}

impl Message {
    pub fn new(role: Role, text: impl Into<String>) -> Self {
        Self { role, text: text.into() }
    }
}

/// A parsed conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chat {
    pub title: Option<String>,
    pub messages: Vec<Message>,
}

/// The conversation in `text`, if it is one of the known transcript formats. JSON
/// input is tried as an export, a message list, then a Claude Code session; text is
/// tried as aider, SpecStory, then pasted speaker markers.
pub fn parse(text: &str, json: bool) -> Option<Chat> {
    let chat = if json {
        exports::parse(text).or_else(|| messages::parse(text)).or_else(|| claude_code::parse(text))
    } else {
        aider::parse(text).or_else(|| specstory::parse(text)).or_else(|| speakers::parse(text))
    }?;
    let has_both =
        chat.messages.iter().any(|m| m.role == Role::User) && chat.messages.iter().any(|m| m.role == Role::Assistant);
    has_both.then_some(chat)
}

/// Renders `chat` as markdown, one `**Role:**` label line per message, and records
/// each message's line span as a [`Turn`].
pub fn render(chat: &Chat) -> Document {
    let mut out = String::new();
    let mut line = 1u32;
    let mut turns = Vec::with_capacity(chat.messages.len());
    let push = |out: &mut String, text: &str, line: &mut u32| {
        out.push_str(text);
        *line += text.matches('\n').count() as u32;
    };
    if let Some(title) = &chat.title {
        push(&mut out, &format!("# {title}\n\n"), &mut line);
    }
    for message in &chat.messages {
        let body = markdown::tidy(&close_open_fence(message.text.trim_matches('\n')));
        if body.trim().is_empty() {
            continue;
        }
        let start_line = line;
        push(&mut out, &format!("**{}:**\n\n", label(message.role)), &mut line);
        push(&mut out, &body, &mut line);
        turns.push(Turn { role: message.role, start_line, end_line: line - 1 });
        push(&mut out, "\n", &mut line);
    }
    out.pop();
    Document { markdown: out, format: DocumentFormat::Chat, title: chat.title.clone(), turns, page_type: None }
}

fn label(role: Role) -> &'static str {
    match role {
        Role::User => "User",
        Role::Assistant => "Assistant",
        Role::System => "System",
        Role::Tool => "Tool",
    }
}

/// Appends a closing fence when a message ends inside a code block (a reply cut off
/// mid-block), so the block cannot swallow the next message. CommonMark decides what
/// is open (fences inside list items included), not a line scanner.
fn close_open_fence(text: &str) -> String {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag};
    let last_fenced = Parser::new(text).into_offset_iter().filter_map(|(event, range)| match event {
        Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => Some(range),
        _ => None,
    });
    let Some(range) = last_fenced.last() else { return text.to_owned() };
    let block = &text[range.clone()];
    let reaches_end = text[range.end..].trim().is_empty();
    let opening = block.lines().next().and_then(markdown::fence_of);
    let closing = block.lines().count() > 1
        && block.lines().last().and_then(markdown::fence_of).is_some_and(|(_, _, rest)| rest.trim().is_empty());
    match opening {
        Some((ch, len, _)) if reaches_end && !closing => {
            let indent = markdown::indent(block);
            format!("{}\n{}{}", text.trim_end_matches('\n'), " ".repeat(indent), ch.to_string().repeat(len))
        }
        _ => text.to_owned(),
    }
}

/// A fenced block of `code` in `language`, with a fence longer than any run of
/// backticks inside it.
pub(crate) fn fenced(language: &str, code: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{language}\n{}\n{fence}", code.trim_end_matches('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_labels_turns_and_records_their_line_spans() {
        let chat = Chat {
            title: Some("Plan".into()),
            messages: vec![
                Message::new(Role::User, "How do I list files?"),
                Message::new(Role::Assistant, "Use ls:\n\n```sh\nls -la"),
                Message::new(Role::Tool, "  \n"),
            ],
        };
        let doc = render(&chat);
        assert_eq!(
            doc.markdown,
            "# Plan\n\n**User:**\n\nHow do I list files?\n\n**Assistant:**\n\nUse ls:\n\n```sh\nls -la\n```\n"
        );
        let lines: Vec<&str> = doc.markdown.lines().collect();
        assert_eq!(doc.turns.len(), 2, "empty messages are dropped");
        assert_eq!(doc.turns[0], Turn { role: Role::User, start_line: 3, end_line: 5 });
        assert_eq!(lines[doc.turns[1].start_line as usize - 1], "**Assistant:**");
        assert_eq!(lines[doc.turns[1].end_line as usize - 1], "```", "the cut-off fence is closed");
        assert_eq!(doc.format, DocumentFormat::Chat);
    }

    #[test]
    fn fenced_blocks_outgrow_the_backticks_inside_them() {
        assert_eq!(fenced("md", "a ```` b"), "`````md\na ```` b\n`````");
        assert_eq!(fenced("", "x\n"), "```\nx\n```");
    }

    #[test]
    fn a_transcript_needs_both_a_user_and_an_assistant() {
        assert!(parse("User: hello there\n", false).is_none());
        assert!(parse("just some notes", false).is_none());
        assert!(parse("[]", true).is_none());
    }
}
