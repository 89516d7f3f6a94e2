//! Claude Code session transcripts: the JSON Lines file Claude Code keeps per
//! session (`~/.claude/projects/<project>/<session>.jsonl`), one record per line.
//!
//! A record of type `user` or `assistant` carries an API message (`message.role`,
//! `message.content` as a string or typed blocks); a `summary` record names the
//! session. Everything else (file-history snapshots, system notes, a subagent's
//! side chain, meta messages such as command caveats) is the tool's bookkeeping. An
//! assistant's reply is spread over many records (each block and tool call on its
//! own, the tool results as `user` records between them): the records of one reply
//! are joined into one message, as the conversation read.

use ctxd_domain::model::Role;
use serde_json::Value;

use super::{
    Chat, Message,
    exports::{extension, strip_element, titled_block},
};

/// The session in `text`, when its lines are Claude Code records. A line that does
/// not parse (a session file cut off mid-write) is skipped; a file with no user or
/// assistant record is not a session.
pub fn parse(text: &str) -> Option<Chat> {
    let mut chat = Chat::default();
    let mut records = 0usize;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Ok(record) = serde_json::from_str::<Value>(line) else { continue };
        let kind = record.get("type").and_then(Value::as_str);
        if kind == Some("summary") {
            if chat.title.is_none() {
                chat.title = record.get("summary").and_then(Value::as_str).map(|s| s.trim().to_owned());
            }
            continue;
        }
        let (Some(kind @ ("user" | "assistant")), Some(message)) = (kind, record.get("message")) else { continue };
        records += 1;
        let side = ["isSidechain", "isMeta"].iter().any(|k| record.get(*k).and_then(Value::as_bool) == Some(true));
        if side {
            continue;
        }
        let role = if kind == "user" { Role::User } else { Role::Assistant };
        let text = content_text(role, message.get("content").unwrap_or(&Value::Null));
        if text.trim().is_empty() {
            continue;
        }
        match chat.messages.last_mut() {
            // One reply's records, and a user's text split over records, read as one message.
            Some(last) if last.role == role => {
                last.text.push_str("\n\n");
                last.text.push_str(&text);
            }
            _ => chat.messages.push(Message::new(role, text)),
        }
    }
    (records > 0).then_some(chat)
}

/// The readable part of a message's content: its text (without the wrappers Claude
/// Code puts around commands and reminders), and what the assistant's tools wrote
/// or ran as titled fenced blocks. Thinking and tool results (file contents, command
/// output) are left out: the model's working, and what the files already hold.
fn content_text(role: Role, content: &Value) -> String {
    let blocks: Vec<String> = match content {
        Value::String(text) => vec![without_wrappers(text)],
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|block| match block.get("type").and_then(Value::as_str)? {
                "text" => block.get("text").and_then(Value::as_str).map(without_wrappers),
                "tool_use" if role == Role::Assistant => {
                    tool_call(block.get("name").and_then(Value::as_str)?, block.get("input")?)
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let blocks: Vec<&str> = blocks.iter().map(|b| b.trim()).filter(|b| !b.is_empty()).collect();
    blocks.join("\n\n")
}

/// What a Claude Code tool call wrote or ran: a file written or edited (its new
/// text), a notebook cell, a shell command (the tests it ran, the commit it made).
/// Reads, searches and to-do lists are left out.
fn tool_call(name: &str, input: &Value) -> Option<String> {
    let field = |name: &str| input.get(name).and_then(Value::as_str);
    match name {
        "Write" => {
            let path = field("file_path")?;
            Some(titled_block(&format!("File: {path}"), extension(path), field("content")?))
        }
        "Edit" => {
            let path = field("file_path")?;
            Some(titled_block(&format!("File: {path} (changed)"), extension(path), field("new_string")?))
        }
        "MultiEdit" => {
            let path = field("file_path")?;
            let edits = input.get("edits")?.as_array()?;
            let new: Vec<&str> = edits.iter().filter_map(|e| e.get("new_string").and_then(Value::as_str)).collect();
            Some(titled_block(&format!("File: {path} (changed)"), extension(path), &new.join("\n\n")))
        }
        "NotebookEdit" => Some(titled_block("Notebook cell", "python", field("new_source")?)),
        "Bash" => Some(titled_block("Ran", "bash", field("command")?)),
        _ => None,
    }
}

/// Elements Claude Code wraps around what it adds to a user's message: reminders to
/// the model and a local command's output are dropped, a slash command keeps its name
/// and arguments.
const DROPPED: &[&str] = &["system-reminder", "local-command-stdout", "local-command-stderr", "command-message"];

fn without_wrappers(text: &str) -> String {
    let mut out = DROPPED.iter().fold(text.to_owned(), |out, name| strip_element(&out, name));
    for name in ["command-name", "command-args"] {
        out = out.replace(&format!("<{name}>"), "").replace(&format!("</{name}>"), " ");
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str, content: Value) -> String {
        serde_json::json!({"parentUuid": null, "isSidechain": false, "type": kind, "sessionId": "s1",
            "message": {"role": kind, "content": content}, "uuid": "u", "timestamp": "2026-01-02T10:00:00Z"})
        .to_string()
    }

    #[test]
    fn a_session_reads_as_turns_with_what_the_tools_wrote_and_ran() {
        let lines = [
            r#"{"type":"summary","summary":"Fix the date parser","leafUuid":"x"}"#.to_owned(),
            r#"{"type":"file-history-snapshot","messageId":"m","snapshot":{}}"#.to_owned(),
            record(
                "user",
                serde_json::json!("The date parser rejects 2024-02-29. <system-reminder>be brief</system-reminder>"),
            ),
            record(
                "assistant",
                serde_json::json!([{"type": "thinking", "thinking": "leap years"}, {"type": "text", "text": "Let me look."}]),
            ),
            record(
                "assistant",
                serde_json::json!([{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/p/date.py"}}]),
            ),
            record(
                "user",
                serde_json::json!([{"type": "tool_result", "tool_use_id": "t1", "content": "def parse(s): ..."}]),
            ),
            record(
                "assistant",
                serde_json::json!([{"type": "tool_use", "id": "t2", "name": "Edit",
                "input": {"file_path": "/p/date.py", "old_string": "day > 28", "new_string": "day > days_in(month, year)"}}]),
            ),
            record(
                "assistant",
                serde_json::json!([{"type": "tool_use", "id": "t3", "name": "Bash",
                "input": {"command": "pytest tests/test_date.py", "description": "run the tests"}}]),
            ),
            record("user", serde_json::json!([{"type": "tool_result", "tool_use_id": "t3", "content": "1 passed"}])),
            record(
                "assistant",
                serde_json::json!([{"type": "text", "text": "Fixed: February has 29 days in leap years."}]),
            ),
            "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"cut off".to_owned(),
        ];
        let chat = parse(&lines.join("\n")).unwrap();
        assert_eq!(chat.title.as_deref(), Some("Fix the date parser"));
        assert_eq!(chat.messages.len(), 2, "one reply's records are one message: {:#?}", chat.messages);
        assert_eq!(chat.messages[0], Message::new(Role::User, "The date parser rejects 2024-02-29."));
        assert_eq!(
            chat.messages[1].text,
            "Let me look.\n\n**File: /p/date.py (changed)**\n\n```py\nday > days_in(month, year)\n```\n\n\
             **Ran**\n\n```bash\npytest tests/test_date.py\n```\n\nFixed: February has 29 days in leap years."
        );
    }

    #[test]
    fn side_chains_meta_messages_and_command_output_are_left_out() {
        let mut meta: Value =
            serde_json::from_str(&record("user", serde_json::json!("Caveat: local commands"))).unwrap();
        meta["isMeta"] = Value::Bool(true);
        let mut side: Value = serde_json::from_str(&record("assistant", serde_json::json!("subagent notes"))).unwrap();
        side["isSidechain"] = Value::Bool(true);
        let lines = [
            meta.to_string(),
            record("user", serde_json::json!("<command-name>/model</command-name><command-args>opus</command-args>")),
            record("user", serde_json::json!("<local-command-stdout>Set model to opus</local-command-stdout>")),
            side.to_string(),
            record("assistant", serde_json::json!("Ready.")),
        ];
        let chat = parse(&lines.join("\n")).unwrap();
        let texts: Vec<&str> = chat.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["/model opus", "Ready."]);
    }

    #[test]
    fn json_lines_of_something_else_are_not_a_session() {
        assert!(parse("{\"level\":\"info\",\"msg\":\"started\"}\n{\"level\":\"warn\"}").is_none());
        assert!(parse("{\"type\":\"user\"}").is_none(), "a record needs its message");
    }
}
