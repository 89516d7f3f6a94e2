//! Conversations kept as API message lists: the `messages` of OpenAI's Chat
//! Completions and Anthropic's Messages API (a request, or a log of one), the items of
//! OpenAI's Responses API, Gemini's `contents` (`parts`), and ShareGPT's
//! `conversations` (`from`/`value`, the shape of most fine-tuning sets). A list may
//! stand alone, sit under one of those keys, or be one per line (JSON Lines); a
//! ShareGPT file is a list of conversations.
//!
//! What a message says is its text: strings, and typed blocks of text. Tool calls,
//! tool results, images and thinking are left out, as in the account exports: they
//! are the model's working, and a call's arguments are not what was said.

use ctxd_domain::model::Role;
use serde_json::Value;

use super::{Chat, Message};

/// The keys under which a conversation object holds its list of messages.
const LIST_KEYS: &[&str] = &["messages", "conversations", "contents", "conversation", "chat", "history", "input"];

/// The conversation(s) in `text`, when it is a list of messages in one of the shapes
/// above. JSON that merely holds objects with a `role` (a user directory, say) is not
/// one: at least two of a list's items must read as messages, and most of them.
pub fn parse(text: &str) -> Option<Chat> {
    let values = match serde_json::from_str::<Value>(text) {
        Ok(value) => vec![value],
        Err(_) => json_lines(text)?,
    };
    let mut chat = Chat::default();
    let mut titles = Vec::new();
    for list in values.iter().flat_map(conversations) {
        let Some(messages) = read_list(list.items) else { continue };
        if let Some(system) = list.system.filter(|s| !s.trim().is_empty()) {
            chat.messages.push(Message::new(Role::System, system));
        }
        titles.extend(list.title);
        chat.messages.extend(messages);
    }
    if chat.messages.is_empty() {
        return None;
    }
    chat.title = match titles.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    Some(chat)
}

/// A file of one JSON value per line (a message per line), when every line is one.
fn json_lines(text: &str) -> Option<Vec<Value>> {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.len() < 2 {
        return None;
    }
    let values: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l)).collect::<Result<_, _>>().ok()?;
    Some(vec![Value::Array(values)])
}

/// One list of messages, with what its container says about it.
struct List<'a> {
    items: &'a [Value],
    title: Option<String>,
    /// Anthropic's top-level `system` prompt, which is not one of the messages.
    system: Option<String>,
}

/// The message lists in `value`: itself when it is a list of messages, the list
/// under one of [`LIST_KEYS`] of an object, or those of each object in a list of
/// conversations (a ShareGPT file).
fn conversations(value: &Value) -> Vec<List<'_>> {
    match value {
        Value::Array(items) if items.iter().any(|item| role_of(item).is_some()) => {
            vec![List { items, title: None, system: None }]
        }
        Value::Array(items) => items.iter().filter_map(conversation).collect(),
        object => conversation(object).into_iter().collect(),
    }
}

fn conversation(object: &Value) -> Option<List<'_>> {
    let items = LIST_KEYS.iter().find_map(|key| object.get(*key)?.as_array())?;
    let title = ["title", "name"].iter().find_map(|key| object.get(*key)?.as_str()).map(|t| t.trim().to_owned());
    let system = object.get("system").map(content_text);
    Some(List { items, title: title.filter(|t| !t.is_empty()), system })
}

/// The messages of `items`, when it is a conversation: at least two items read as
/// messages and no more than a third do not (an item without text, such as an
/// assistant's bare tool call, still reads as one).
fn read_list(items: &[Value]) -> Option<Vec<Message>> {
    let roles: Vec<Option<Role>> = items.iter().map(role_of).collect();
    let known = roles.iter().flatten().count();
    if known < 2 || known * 3 < items.len() * 2 {
        return None;
    }
    let messages = items
        .iter()
        .zip(roles)
        .filter_map(|(item, role)| {
            let role = role?;
            let text = ["content", "value", "parts", "text"].iter().find_map(|key| item.get(*key)).map(content_text)?;
            (!text.trim().is_empty()).then(|| Message::new(role, text))
        })
        .collect();
    Some(messages)
}

/// A message's role: `role` (OpenAI, Anthropic, Gemini), `from` (ShareGPT) or
/// `author.role`, in the words each of them uses.
fn role_of(item: &Value) -> Option<Role> {
    let name = item
        .get("role")
        .or_else(|| item.get("from"))
        .or_else(|| item.pointer("/author/role"))
        .and_then(Value::as_str)?;
    match name.trim().to_ascii_lowercase().as_str() {
        "user" | "human" => Some(Role::User),
        "assistant" | "model" | "gpt" | "ai" | "bot" | "chatgpt" | "claude" | "gemini" => Some(Role::Assistant),
        "system" | "developer" => Some(Role::System),
        "tool" | "function" | "ipython" | "observation" => Some(Role::Tool),
        _ => None,
    }
}

/// The text of a message's content: a string, or the text of its blocks (`text`,
/// `input_text` and `output_text` blocks, and Gemini's parts, which are untyped),
/// joined by blank lines.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => {
            let texts = blocks.iter().filter_map(|block| match block {
                Value::String(text) => Some(text.as_str()),
                Value::Object(_) => {
                    let kind = block.get("type").and_then(Value::as_str);
                    let readable = matches!(kind, None | Some("text" | "input_text" | "output_text"));
                    readable.then(|| block.get("text")?.as_str()).flatten()
                }
                _ => None,
            });
            texts.map(str::trim).filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n\n")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turns(chat: &Chat) -> Vec<(Role, &str)> {
        chat.messages.iter().map(|m| (m.role, m.text.as_str())).collect()
    }

    #[test]
    fn an_openai_request_keeps_its_messages_and_leaves_tool_calls_out() {
        let request = r#"{"model": "gpt-4o", "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Which port does Postgres use?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "lookup", "arguments": "{\"q\": \"postgres port\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "5432"},
            {"role": "assistant", "content": [{"type": "text", "text": "Port 5432."}]}
        ]}"#;
        let chat = parse(request).unwrap();
        assert_eq!(
            turns(&chat),
            [
                (Role::System, "You are terse."),
                (Role::User, "Which port does Postgres use?"),
                (Role::Tool, "5432"),
                (Role::Assistant, "Port 5432."),
            ]
        );
    }

    #[test]
    fn an_anthropic_request_reads_its_system_prompt_and_text_blocks_only() {
        let request = r#"{"system": "Answer in French.", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Say hello"},
                {"type": "image", "source": {"type": "base64", "data": "AAAA"}}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "easy"},
                {"type": "text", "text": "Bonjour"},
                {"type": "tool_use", "id": "t1", "name": "speak", "input": {"word": "bonjour"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}
        ]}"#;
        let chat = parse(request).unwrap();
        assert_eq!(
            turns(&chat),
            [(Role::System, "Answer in French."), (Role::User, "Say hello"), (Role::Assistant, "Bonjour")],
            "images, thinking, tool calls and their results are not what was said"
        );
    }

    #[test]
    fn gemini_contents_sharegpt_files_and_bare_lists_are_conversations() {
        let gemini = r#"{"contents": [{"role": "user", "parts": [{"text": "2+2?"}]},
            {"role": "model", "parts": [{"text": "4"}]}]}"#;
        assert_eq!(turns(&parse(gemini).unwrap()), [(Role::User, "2+2?"), (Role::Assistant, "4")]);
        let sharegpt = r#"[{"id": "a", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]},
            {"id": "b", "conversations": [{"from": "human", "value": "Bye"}, {"from": "gpt", "value": "See you"}]}]"#;
        let chat = parse(sharegpt).unwrap();
        assert_eq!(chat.messages.len(), 4, "every conversation of the file");
        let bare = r#"[{"role": "user", "content": "ping"}, {"role": "assistant", "content": "pong"}]"#;
        assert_eq!(turns(&parse(bare).unwrap()), [(Role::User, "ping"), (Role::Assistant, "pong")]);
        let titled = r#"{"title": "Ping", "messages": [{"role": "user", "content": "ping"},
            {"role": "assistant", "content": "pong"}]}"#;
        assert_eq!(parse(titled).unwrap().title.as_deref(), Some("Ping"));
    }

    #[test]
    fn one_message_per_line_is_a_conversation() {
        let lines = "{\"role\": \"user\", \"content\": \"ping\"}\n\n{\"role\": \"assistant\", \"content\": \"pong\"}\n";
        assert_eq!(turns(&parse(lines).unwrap()), [(Role::User, "ping"), (Role::Assistant, "pong")]);
    }

    #[test]
    fn json_that_only_mentions_roles_is_not_a_conversation() {
        let users =
            r#"[{"name": "ann", "role": "admin"}, {"name": "bo", "role": "user"}, {"name": "cy", "role": "owner"}]"#;
        assert!(parse(users).is_none(), "one item of three reads as a message");
        assert!(parse(r#"{"messages": [{"role": "user", "content": "alone"}]}"#).is_none());
        assert!(parse(r#"{"messages": "none"}"#).is_none());
        assert!(parse("[1, 2, 3]").is_none());
        assert!(parse("plain text\nover lines").is_none());
    }
}
