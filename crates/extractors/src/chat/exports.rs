//! Account data exports: ChatGPT's `conversations.json` (a message tree per
//! conversation) and Claude's (a `chat_messages` list, not always in order).

use ctxd_domain::model::Role;
use serde_json::Value;

use super::{Chat, Message, fenced};

pub fn parse(text: &str) -> Option<Chat> {
    let value: Value = serde_json::from_str(text).ok()?;
    let conversations = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => return None,
    };
    let mut chat = Chat::default();
    let mut titles = Vec::new();
    for conversation in &conversations {
        let messages = if conversation.get("mapping").is_some() {
            chatgpt(conversation)
        } else if conversation.get("chat_messages").is_some() {
            claude(conversation)
        } else {
            return None;
        };
        if let Some(title) = conversation.get("title").or_else(|| conversation.get("name")).and_then(Value::as_str) {
            titles.push(title.trim().to_owned());
        }
        chat.messages.extend(messages);
    }
    chat.title = match titles.as_slice() {
        [one] if !one.is_empty() => Some(one.clone()),
        [] | [_] => None,
        many => Some(format!("{} conversations", many.len())),
    };
    Some(chat)
}

/// The visible branch of a ChatGPT conversation: from `current_node` up to the root.
fn chatgpt(conversation: &Value) -> Vec<Message> {
    let mapping = &conversation["mapping"];
    let mut path = Vec::new();
    let mut node_id = conversation.get("current_node").and_then(Value::as_str).map(str::to_owned);
    // A tree from the wild may be malformed: never follow more parents than it has nodes.
    let limit = mapping.as_object().map_or(0, |m| m.len());
    while let Some(id) = node_id.take() {
        if path.len() > limit {
            break;
        }
        let Some(node) = mapping.get(&id) else { break };
        path.push(node);
        node_id = node.get("parent").and_then(Value::as_str).map(str::to_owned);
    }
    path.reverse();
    path.iter().filter_map(|node| chatgpt_message(node.get("message")?)).collect()
}

fn chatgpt_message(message: &Value) -> Option<Message> {
    if message.pointer("/metadata/is_visually_hidden_from_conversation").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let role = match message.pointer("/author/role").and_then(Value::as_str)? {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "system" => Role::System,
        _ => Role::Tool,
    };
    let content = message.get("content")?;
    let text = match content.get("content_type").and_then(Value::as_str).unwrap_or("text") {
        "code" => {
            let code = content.get("text").and_then(Value::as_str).unwrap_or_default();
            let language = match content.get("language").and_then(Value::as_str) {
                Some(language) if language != "unknown" => language,
                // The code interpreter runs Python.
                _ => "python",
            };
            fenced(language, code)
        }
        "execution_output" => content.get("text").and_then(Value::as_str).unwrap_or_default().to_owned(),
        _ => {
            let parts = content.get("parts").and_then(Value::as_array);
            let strings = parts.into_iter().flatten().filter_map(Value::as_str);
            let text = strings.collect::<Vec<_>>().join("\n\n");
            if text.is_empty() {
                content.get("text").and_then(Value::as_str).unwrap_or_default().to_owned()
            } else {
                text
            }
        }
    };
    (!text.trim().is_empty()).then(|| Message::new(role, text))
}

/// Claude's messages in time order (human first on a tie), artifacts as fenced
/// blocks and the model's `<antThinking>` notes removed.
fn claude(conversation: &Value) -> Vec<Message> {
    let mut items: Vec<&Value> =
        conversation["chat_messages"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let key = |m: &Value| {
        let at = m.get("created_at").and_then(Value::as_str).unwrap_or_default().to_owned();
        (at, m.get("sender").and_then(Value::as_str) != Some("human"))
    };
    items.sort_by_key(|m| key(m));
    items
        .into_iter()
        .filter_map(|m| {
            let role = match m.get("sender").and_then(Value::as_str)? {
                "human" => Role::User,
                "assistant" => Role::Assistant,
                _ => Role::System,
            };
            let mut text = claude_text(m);
            let files: Vec<&str> = ["attachments", "files"]
                .iter()
                .filter_map(|k| m.get(*k).and_then(Value::as_array))
                .flatten()
                .filter_map(|f| f.get("file_name").and_then(Value::as_str))
                .collect();
            if !files.is_empty() {
                text.push_str(&format!("\n\n(attached: {})", files.join(", ")));
            }
            (!text.trim().is_empty()).then(|| Message::new(role, text))
        })
        .collect()
}

fn claude_text(message: &Value) -> String {
    let text = match message.get("text").and_then(Value::as_str) {
        Some(text) if !text.is_empty() => text.to_owned(),
        _ => {
            let blocks = message.get("content").and_then(Value::as_array).into_iter().flatten();
            blocks.filter_map(|b| b.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n\n")
        }
    };
    render_artifacts(&strip_element(&text, "antThinking"))
}

/// `text` without `<name ...>...</name>` elements.
fn strip_element(text: &str, name: &str) -> String {
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        out.push_str(&rest[..start]);
        match rest[start..].find(&close) {
            Some(end) => rest = &rest[start + end + close.len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Each `<antArtifact title=".." type=".." language="..">body</antArtifact>` becomes
/// a titled fenced block.
fn render_artifacts(text: &str) -> String {
    const OPEN: &str = "<antArtifact";
    const CLOSE: &str = "</antArtifact>";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let Some(tag_end) = rest[start..].find('>') else { break };
        let tag = &rest[start..start + tag_end];
        let body_start = start + tag_end + 1;
        let (body, next) = match rest[body_start..].find(CLOSE) {
            Some(end) => (&rest[body_start..body_start + end], body_start + end + CLOSE.len()),
            None => (&rest[body_start..], rest.len()),
        };
        let title = attribute(tag, "title").unwrap_or("artifact");
        let language = attribute(tag, "language").unwrap_or_else(|| match attribute(tag, "type").unwrap_or_default() {
            "text/html" => "html",
            "image/svg+xml" => "svg",
            "application/vnd.ant.mermaid" => "mermaid",
            "application/vnd.ant.react" => "jsx",
            "text/markdown" => "markdown",
            _ => "",
        });
        out.push_str(&format!("**Artifact: {title}**\n\n{}", fenced(language, body.trim_matches('\n'))));
        rest = &rest[next..];
    }
    out.push_str(rest);
    out
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let at = tag.find(&needle)? + needle.len();
    tag[at..].split('"').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatgpt_exports_follow_the_current_branch_and_fence_code_messages() {
        let export = r#"[{"title": "Stats", "current_node": "c", "mapping": {
            "r": {"message": {"author": {"role": "system"}, "content": {"content_type": "text", "parts": [""]}}, "parent": null},
            "a": {"message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["mean of U(0,1)?"]}}, "parent": "r"},
            "old": {"message": {"author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["abandoned branch"]}}, "parent": "a"},
            "b": {"message": {"author": {"role": "assistant"}, "recipient": "python", "content": {"content_type": "code", "language": "unknown", "text": "print(0.5)"}}, "parent": "a"},
            "t": {"message": {"author": {"role": "tool"}, "content": {"content_type": "execution_output", "text": "0.5"}}, "parent": "b"},
            "c": {"message": {"author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["It is 1/2."]}}, "parent": "t"}
        }}]"#;
        let chat = parse(export).unwrap();
        assert_eq!(chat.title.as_deref(), Some("Stats"));
        let got: Vec<(Role, &str)> = chat.messages.iter().map(|m| (m.role, m.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (Role::User, "mean of U(0,1)?"),
                (Role::Assistant, "```python\nprint(0.5)\n```"),
                (Role::Tool, "0.5"),
                (Role::Assistant, "It is 1/2."),
            ]
        );
    }

    #[test]
    fn claude_exports_are_sorted_by_time_and_artifacts_become_fenced_blocks() {
        let export = r#"[{"name": "Calculator", "chat_messages": [
            {"sender": "assistant", "created_at": "2024-10-17T03:29:00Z", "text": "<antThinking>plan</antThinking>Here:\n<antArtifact identifier=\"calc\" type=\"text/html\" title=\"Pricing calculator\">\n<p>hi</p>\n</antArtifact>\nDone."},
            {"sender": "human", "created_at": "2024-10-17T03:28:55Z", "text": "Build a calculator", "attachments": [], "files": [{"file_name": "shot.png"}]}
        ]}]"#;
        let chat = parse(export).unwrap();
        assert_eq!(chat.title.as_deref(), Some("Calculator"));
        assert_eq!(chat.messages[0], Message::new(Role::User, "Build a calculator\n\n(attached: shot.png)"));
        assert_eq!(
            chat.messages[1].text, "Here:\n**Artifact: Pricing calculator**\n\n```html\n<p>hi</p>\n```\nDone.",
            "thinking removed, artifact fenced"
        );
    }

    #[test]
    fn other_json_is_not_an_export() {
        assert!(parse(r#"{"openapi": "3.1.0"}"#).is_none());
        assert!(parse("[1, 2]").is_none());
        assert!(parse("not json").is_none());
    }
}
