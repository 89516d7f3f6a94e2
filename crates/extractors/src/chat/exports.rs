//! Account data exports: ChatGPT's `conversations.json` (a message tree per
//! conversation) and Claude's (a `chat_messages` list of every branch, not always in
//! order, each message's text also given as typed content blocks).

use std::collections::{HashMap, HashSet};

use ctxd_domain::model::Role;
use serde_json::Value;

use super::{ARTIFACT_CAPTION, Chat, Message, fenced};

pub fn parse(text: &str) -> Option<Chat> {
    let value: Value = serde_json::from_str(text).ok()?;
    let conversations = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => return None,
    };
    let mut chat = Chat::default();
    let mut titles = Vec::new();
    let mut read = 0;
    for conversation in &conversations {
        // An entry of neither kind (a bulk export cut short, or edited by hand) is
        // skipped: the rest of the export is still read.
        let messages = if conversation.get("mapping").is_some() {
            chatgpt(conversation)
        } else if conversation.get("chat_messages").is_some() {
            claude(conversation)
        } else {
            continue;
        };
        read += 1;
        if let Some(title) = conversation.get("title").or_else(|| conversation.get("name")).and_then(Value::as_str) {
            titles.push(title.trim().to_owned());
        }
        chat.messages.extend(messages);
    }
    if read == 0 {
        return None;
    }
    chat.title = match titles.as_slice() {
        [one] if !one.is_empty() => Some(one.clone()),
        [] | [_] => None,
        many => Some(format!("{} conversations", many.len())),
    };
    Some(chat)
}

/// The visible branch of a ChatGPT conversation: from `current_node` up to the root.
/// Without one (an export written by another tool), the branch ends where following
/// each node's newest child (the last of its `children`) from the root ends: the
/// latest edit or regeneration, as ChatGPT shows it.
fn chatgpt(conversation: &Value) -> Vec<Message> {
    let mapping = &conversation["mapping"];
    let mut path = Vec::new();
    let mut node_id =
        conversation.get("current_node").and_then(Value::as_str).map(str::to_owned).or_else(|| newest_leaf(mapping));
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

/// The leaf reached from the mapping's root (the node without a parent in it) by
/// taking the last child at each step.
fn newest_leaf(mapping: &Value) -> Option<String> {
    let nodes = mapping.as_object()?;
    let is_root = |node: &Value| node.get("parent").and_then(Value::as_str).is_none_or(|p| !nodes.contains_key(p));
    let (mut id, _) = nodes.iter().find(|(_, node)| is_root(node))?;
    // A malformed tree may link in a circle: never take more steps than it has nodes.
    for _ in 0..nodes.len() {
        let next = nodes[id].get("children").and_then(Value::as_array).and_then(|c| c.last()).and_then(Value::as_str);
        match next.and_then(|child| nodes.get_key_value(child)) {
            Some((child, _)) => id = child,
            None => break,
        }
    }
    Some(id.clone())
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
            // A part is a string, or an object: a voice message's transcription carries
            // `text`; an image or a file reference has none.
            let parts = content.get("parts").and_then(Value::as_array);
            let strings = parts.into_iter().flatten().filter_map(|part| match part {
                Value::String(text) => Some(text.as_str()),
                part => part.get("text").and_then(Value::as_str),
            });
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

/// Claude's messages of the branch the conversation ends on, in time order (human
/// first on a tie), artifacts and files written by tools as fenced blocks, the
/// model's thinking removed.
fn claude(conversation: &Value) -> Vec<Message> {
    let mut items: Vec<&Value> =
        conversation["chat_messages"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let key = |m: &Value| {
        let at = m.get("created_at").and_then(Value::as_str).unwrap_or_default().to_owned();
        (at, m.get("sender").and_then(Value::as_str) != Some("human"))
    };
    items.sort_by_key(|m| key(m));
    let items = claude_branch(conversation, items);
    let mut artifacts = Artifacts::new();
    items
        .into_iter()
        .filter_map(|m| {
            let role = match m.get("sender").and_then(Value::as_str)? {
                "human" => Role::User,
                "assistant" => Role::Assistant,
                _ => Role::System,
            };
            let mut text = claude_text(m, &mut artifacts);
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

/// The messages (sorted by time) on the branch the conversation ends on: an export
/// holds every branch, so an edited question or a regenerated answer would
/// otherwise be read twice, the discarded version first. The branch runs from the
/// conversation's current leaf (`current_leaf_message_uuid`, else the last message)
/// up its `parent_message_uuid` links to a parent the export does not hold (the
/// root's). An export without those links keeps every message.
fn claude_branch<'a>(conversation: &Value, items: Vec<&'a Value>) -> Vec<&'a Value> {
    fn uuid(message: &Value) -> Option<&str> {
        message.get("uuid").and_then(Value::as_str)
    }
    let by_uuid: HashMap<&str, &Value> = items.iter().filter_map(|m| Some((uuid(m)?, *m))).collect();
    let leaf = conversation
        .get("current_leaf_message_uuid")
        .and_then(Value::as_str)
        .and_then(|id| by_uuid.get(id).copied())
        .or_else(|| items.last().copied());
    let mut on_branch = HashSet::new();
    let mut node = leaf;
    while let Some(message) = node {
        let (Some(id), Some(parent)) = (uuid(message), message.get("parent_message_uuid").and_then(Value::as_str))
        else {
            return items;
        };
        // A malformed export may link in a circle.
        if !on_branch.insert(id) {
            break;
        }
        node = by_uuid.get(parent).copied();
    }
    items.into_iter().filter(|m| uuid(m).is_some_and(|id| on_branch.contains(id))).collect()
}

/// What Claude's export writes in a message's `text` where a tool ran (an artifact,
/// a search, a file written): the content blocks hold what it stands for.
const TOOL_PLACEHOLDER: &str = "This block is not supported on your current device yet.";

/// A message's text from its content blocks when it has them (the `text` field
/// stands a placeholder for every tool call), else from `text` without the
/// placeholders.
fn claude_text(message: &Value, artifacts: &mut Artifacts) -> String {
    let blocks = message.get("content").and_then(Value::as_array).filter(|b| !b.is_empty());
    let text = match blocks {
        Some(blocks) => claude_blocks(blocks, artifacts),
        None => {
            let text = message.get("text").and_then(Value::as_str).unwrap_or_default();
            let fenced_placeholder = format!("```\n{TOOL_PLACEHOLDER}\n```");
            text.replace(&fenced_placeholder, "").replace(TOOL_PLACEHOLDER, "")
        }
    };
    render_artifacts(&strip_element(&text, "antThinking"))
}

/// The readable part of a message's content blocks: its text, and what its tools
/// wrote (artifacts, files, analysis code) as titled fenced blocks. Thinking, tool
/// results (search hits, "File created") and other tool calls (a search's query) are
/// left out: they are the model's working, not the conversation's content.
fn claude_blocks(blocks: &[Value], artifacts: &mut Artifacts) -> String {
    let mut parts: Vec<String> = Vec::new();
    for block in blocks {
        let field = |name: &str| block.get(name).and_then(Value::as_str);
        match field("type") {
            Some("text") => parts.extend(field("text").map(str::to_owned)),
            Some("tool_use") => {
                parts.extend(tool_output(field("name").unwrap_or_default(), &block["input"], artifacts));
            }
            _ => {}
        }
    }
    parts.retain(|p| !p.trim().is_empty());
    parts.join("\n\n")
}

/// The title and fence language of each artifact a conversation created, by its id:
/// an update names only the id.
type Artifacts = HashMap<String, (String, String)>;

/// What a tool call wrote, as a titled fenced block: an artifact's content (or the
/// text an update put in), a file written or edited, the analysis tool's code.
fn tool_output(name: &str, input: &Value, artifacts: &mut Artifacts) -> Option<String> {
    let field = |name: &str| input.get(name).and_then(Value::as_str);
    let block = |title: String, language: &str, body: &str| Some(titled_block(&title, language, body));
    match name {
        "artifacts" => {
            let id = field("id").unwrap_or_default();
            let known = artifacts.get(id).cloned();
            let title = field("title").map(str::to_owned).or(known.as_ref().map(|k| k.0.clone()));
            let title = title.unwrap_or_else(|| if id.is_empty() { "artifact".to_owned() } else { id.to_owned() });
            let language = field("language")
                .or_else(|| field("type").map(artifact_language))
                .map(str::to_owned)
                .or(known.map(|k| k.1))
                .unwrap_or_default();
            let output = match field("command") {
                Some("update") => block(format!("{ARTIFACT_CAPTION}{title} (changed)"), &language, field("new_str")?),
                _ => block(format!("{ARTIFACT_CAPTION}{title}"), &language, field("content")?),
            };
            artifacts.insert(id.to_owned(), (title, language));
            output
        }
        "create_file" => {
            let path = field("path")?;
            block(format!("File: {path}"), extension(path), field("file_text")?)
        }
        "str_replace" => {
            let path = field("path")?;
            block(format!("File: {path} (changed)"), extension(path), field("new_str")?)
        }
        "repl" => block("Analysis".to_owned(), "javascript", field("code")?),
        _ => None,
    }
}

/// The fence language of an artifact's MIME-like type.
fn artifact_language(kind: &str) -> &'static str {
    match kind {
        "text/html" => "html",
        "image/svg+xml" => "svg",
        "application/vnd.ant.mermaid" => "mermaid",
        "application/vnd.ant.react" => "jsx",
        "text/markdown" => "markdown",
        _ => "",
    }
}

/// `body` fenced under a bold title line: what a tool wrote, named by what it is.
pub(super) fn titled_block(title: &str, language: &str, body: &str) -> String {
    format!("**{title}**\n\n{}", fenced(language, body.trim_matches('\n')))
}

/// A file path's extension as a fence language (`page.html` -> `html`).
pub(super) fn extension(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').map_or("", |(stem, ext)| if stem.is_empty() { "" } else { ext })
}

/// `text` without `<name ...>...</name>` elements (an unclosed one runs to the end).
pub(super) fn strip_element(text: &str, name: &str) -> String {
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        out.push_str(&rest[..start]);
        rest = rest[start..].find(&close).map_or("", |end| &rest[start + end + close.len()..]);
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
        let language =
            attribute(tag, "language").unwrap_or_else(|| artifact_language(attribute(tag, "type").unwrap_or_default()));
        out.push_str(&format!("**{ARTIFACT_CAPTION}{title}**\n\n{}", fenced(language, body.trim_matches('\n'))));
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

    fn texts(chat: &Chat) -> Vec<&str> {
        chat.messages.iter().map(|m| m.text.as_str()).collect()
    }

    #[test]
    fn claude_exports_keep_the_branch_the_conversation_ends_on() {
        let message = |id: &str, parent: &str, sender: &str, minute: u32, text: &str| {
            serde_json::json!({"uuid": id, "parent_message_uuid": parent, "sender": sender,
                "created_at": format!("2025-03-01T10:{minute:02}:00Z"), "text": text})
        };
        let messages = vec![
            message("m1", "root", "human", 0, "What is the GIL?"),
            message("m2", "m1", "assistant", 1, "A global lock."),
            message("m3", "m2", "human", 2, "And processes?"),
            message("m4", "m3", "assistant", 3, "They avoid it."),
            message("m3b", "m2", "human", 4, "And asyncio?"),
            message("m4b", "m3b", "assistant", 5, "One thread, first answer."),
            message("m4c", "m3b", "assistant", 6, "One thread, an event loop."),
        ];
        let export = serde_json::json!([{"name": "GIL", "chat_messages": messages}]).to_string();
        let chat = parse(&export).unwrap();
        assert_eq!(
            texts(&chat),
            ["What is the GIL?", "A global lock.", "And asyncio?", "One thread, an event loop."],
            "the edited question and the regenerated answer replace what they replaced"
        );
        let pinned = serde_json::json!([{"name": "GIL", "current_leaf_message_uuid": "m4", "chat_messages": messages}]);
        let chat = parse(&pinned.to_string()).unwrap();
        assert_eq!(texts(&chat), ["What is the GIL?", "A global lock.", "And processes?", "They avoid it."]);
        let unlinked = r#"[{"chat_messages": [
            {"sender": "human", "created_at": "2025-03-01T10:00:00Z", "text": "Hi"},
            {"sender": "assistant", "created_at": "2025-03-01T10:01:00Z", "text": "Hello"}]}]"#;
        assert_eq!(texts(&parse(unlinked).unwrap()), ["Hi", "Hello"], "no links: every message is kept");
    }

    #[test]
    fn claude_content_blocks_give_what_tools_wrote_and_drop_the_placeholders() {
        let export = r##"[{"name": "Page", "chat_messages": [
            {"sender": "human", "created_at": "2025-03-01T10:00:00Z", "text": "Write a page",
             "content": [{"type": "text", "text": "Write a page"}]},
            {"sender": "assistant", "created_at": "2025-03-01T10:01:00Z",
             "text": "```\nThis block is not supported on your current device yet.\n```\nDone.",
             "content": [
                {"type": "thinking", "thinking": "plan the page"},
                {"type": "tool_use", "name": "web_search", "input": {"query": "page ideas"}},
                {"type": "tool_result", "name": "web_search", "content": [{"type": "text", "text": "hit"}]},
                {"type": "tool_use", "name": "artifacts", "input": {"id": "notes", "type": "text/markdown",
                    "title": "Notes", "command": "create", "content": "# Notes\nfirst"}},
                {"type": "tool_use", "name": "artifacts", "input": {"id": "notes", "command": "update",
                    "old_str": "first", "new_str": "second"}},
                {"type": "tool_use", "name": "create_file", "input": {"path": "/out/page.html", "file_text": "<h1>Hi</h1>"}},
                {"type": "tool_use", "name": "str_replace", "input": {"path": "/out/page.html", "old_str": "Hi", "new_str": "<h1>Hello</h1>"}},
                {"type": "tool_use", "name": "repl", "input": {"code": "console.log(1 + 1)"}},
                {"type": "text", "text": "Done."}]},
            {"sender": "human", "created_at": "2025-03-01T10:02:00Z",
             "text": "Thanks ```\nThis block is not supported on your current device yet.\n``` bye", "content": []}
        ]}]"##;
        let chat = parse(export).unwrap();
        assert_eq!(
            texts(&chat)[1],
            "**Artifact: Notes**\n\n```markdown\n# Notes\nfirst\n```\n\n\
             **Artifact: Notes (changed)**\n\n```markdown\nsecond\n```\n\n\
             **File: /out/page.html**\n\n```html\n<h1>Hi</h1>\n```\n\n\
             **File: /out/page.html (changed)**\n\n```html\n<h1>Hello</h1>\n```\n\n\
             **Analysis**\n\n```javascript\nconsole.log(1 + 1)\n```\n\nDone.",
            "thinking, searches and tool results left out; an update keeps its artifact's title and language"
        );
        assert_eq!(texts(&chat)[2], "Thanks  bye", "a message without blocks loses the placeholders");
        assert!(!texts(&chat).concat().contains("not supported"));
    }

    #[test]
    fn a_chatgpt_tree_without_a_current_node_shows_its_newest_branch() {
        let export = r#"{"title": "Voice", "mapping": {
            "r": {"message": null, "parent": null, "children": ["a"]},
            "a": {"message": {"author": {"role": "user"}, "content": {"content_type": "multimodal_text", "parts": [
                {"content_type": "audio_transcription", "text": "what time is it in Lima?"},
                {"content_type": "audio_asset_pointer", "asset_pointer": "file-service://x"}]}}, "parent": "r", "children": ["old", "new"]},
            "old": {"message": {"author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["first try"]}}, "parent": "a", "children": []},
            "new": {"message": {"author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["Noon."]}}, "parent": "a", "children": []}
        }}"#;
        let chat = parse(export).unwrap();
        assert_eq!(texts(&chat), ["what time is it in Lima?", "Noon."], "the regenerated answer, the spoken question");
    }

    #[test]
    fn a_bulk_export_skips_an_entry_it_cannot_read() {
        let export = r#"[{"title": "broken"},
            {"name": "Ok", "chat_messages": [{"sender": "human", "text": "Hi"}, {"sender": "assistant", "text": "Hello"}]}]"#;
        assert_eq!(texts(&parse(export).unwrap()), ["Hi", "Hello"]);
        assert!(parse(r#"[{"title": "broken"}, {"title": "also"}]"#).is_none(), "nothing readable: not an export");
    }

    #[test]
    fn other_json_is_not_an_export() {
        assert!(parse(r#"{"openapi": "3.1.0"}"#).is_none());
        assert!(parse("[1, 2]").is_none());
        assert!(parse("not json").is_none());
    }
}
