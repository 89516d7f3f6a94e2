//! The artifact extractor: every code block and table of a normalized document as a
//! typed artifact (CODE, SCHEMA, DIAGRAM, TABLE, COMMAND) with its language, a title
//! (the sentence introducing it, a file name above it, or the nearest heading) and its
//! provenance; duplicates within a revision are dropped.

use std::collections::HashSet;

use ctxd_domain::{
    model::{ArtifactDraft, ArtifactKind, Document, Provenance, Role},
    ports::ArtifactExtractor,
};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use serde_json::json;

use crate::symbols;

/// Finds artifacts in markdown; deterministic and offline.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockArtifactExtractor;

impl ArtifactExtractor for BlockArtifactExtractor {
    fn version(&self) -> &'static str {
        "blocks-3"
    }

    fn extract(&self, document: &Document) -> Vec<ArtifactDraft> {
        extract(document)
    }
}

/// Byte offset → 1-based line number.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { starts }
    }

    fn line_of(&self, offset: usize) -> u32 {
        self.starts.partition_point(|&s| s <= offset) as u32
    }
}

pub fn extract(document: &Document) -> Vec<ArtifactDraft> {
    let markdown = &document.markdown;
    let lines = Lines::new(markdown);
    let source_lines: Vec<&str> = markdown.lines().collect();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut heading: Option<String> = None;
    let mut heading_text: Option<String> = None;
    let mut table: Option<(usize, Vec<Vec<String>>)> = None;
    let mut cell: Option<String> = None;
    let mut code: Option<(usize, Option<String>, String)> = None;

    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => heading_text = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => heading = heading_text.take().map(|h| h.trim().to_owned()),
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => fence_language(&info),
                    CodeBlockKind::Indented => None,
                };
                code = Some((range.start, info, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => {
                let Some((start, info, content)) = code.take() else { continue };
                let (start_line, end_line) = (lines.line_of(start), lines.line_of(range.end.saturating_sub(1)));
                let turn = document.turn_at(start_line);
                if is_tool_turn(document, turn) || content.trim().is_empty() {
                    continue;
                }
                let title = title_for(&source_lines, start_line, heading.as_deref());
                let language = info.or_else(|| detect_language(&content).map(str::to_owned));
                let kind = classify(language.as_deref(), &content);
                let metadata = code_metadata(kind, language.as_deref(), &content);
                let draft = ArtifactDraft {
                    kind,
                    language,
                    title,
                    content,
                    metadata,
                    provenance: Provenance { start_line, end_line, turn },
                };
                push_unique(&mut out, &mut seen, draft);
            }
            Event::Start(Tag::Table(_)) => table = Some((range.start, Vec::new())),
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                if let Some((_, rows)) = table.as_mut() {
                    rows.push(Vec::new());
                }
            }
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                if let (Some(text), Some((_, rows))) = (cell.take(), table.as_mut())
                    && let Some(row) = rows.last_mut()
                {
                    row.push(text.trim().to_owned());
                }
            }
            Event::End(TagEnd::Table) => {
                let Some((start, rows)) = table.take() else { continue };
                let (start_line, end_line) = (lines.line_of(start), lines.line_of(range.end.saturating_sub(1)));
                let turn = document.turn_at(start_line);
                if is_tool_turn(document, turn) {
                    continue;
                }
                let draft = ArtifactDraft {
                    kind: ArtifactKind::Table,
                    language: None,
                    title: title_for(&source_lines, start_line, heading.as_deref()),
                    content: markdown[start..range.end].trim_end().to_owned(),
                    metadata: json!({ "rows": rows }),
                    provenance: Provenance { start_line, end_line, turn },
                };
                push_unique(&mut out, &mut seen, draft);
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, _, content)) = code.as_mut() {
                    content.push_str(&text);
                } else if let Some(cell) = cell.as_mut() {
                    cell.push_str(&text);
                } else if let Some(heading) = heading_text.as_mut() {
                    heading.push_str(&text);
                }
            }
            _ => {}
        }
    }
    out
}

/// A code or schema block's `metadata`: `symbols`, the names it defines,
/// `settings`, the literal values it gives top-level names, and `paths`, the files it
/// names, each when there are any (see [`crate::symbols`]).
fn code_metadata(kind: ArtifactKind, language: Option<&str>, content: &str) -> serde_json::Value {
    let mut metadata = serde_json::Map::new();
    if matches!(kind, ArtifactKind::Code | ArtifactKind::Schema) {
        for (key, values) in [
            (ArtifactDraft::SYMBOLS, symbols::defined(language, content)),
            (ArtifactDraft::SETTINGS, symbols::settings(language, content)),
            (ArtifactDraft::PATHS, symbols::paths(content)),
        ] {
            if !values.is_empty() {
                metadata.insert(key.to_owned(), json!(values));
            }
        }
    }
    serde_json::Value::Object(metadata)
}

fn is_tool_turn(document: &Document, turn: Option<u32>) -> bool {
    turn.and_then(|t| document.turns.get(t as usize - 1)).is_some_and(|t| t.role == Role::Tool)
}

fn push_unique(out: &mut Vec<ArtifactDraft>, seen: &mut HashSet<(ArtifactKind, String)>, draft: ArtifactDraft) {
    let key = (draft.kind, draft.content.trim().to_owned());
    if seen.insert(key) {
        out.push(draft);
    }
}

/// The language word of a fence's info string: ```` ```rust title="x" ```` → `rust`,
/// ```` ```{python} ```` → `python`.
fn fence_language(info: &str) -> Option<String> {
    let word = info.split([' ', ',', '{', '}']).find(|w| !w.is_empty())?;
    let word = word.trim_start_matches('.').to_ascii_lowercase();
    let word = word.strip_prefix("language-").unwrap_or(&word);
    (!word.is_empty() && word.len() <= 32).then(|| word.to_owned())
}

/// A title for the block starting at `line`: the sentence introducing it (ending in
/// `:`), a file name or a bold caption alone on the line above it (`**File:
/// src/app.py**`, as the chat readers title what a tool wrote), or the nearest
/// heading.
fn title_for(lines: &[&str], line: u32, heading: Option<&str>) -> Option<String> {
    let above = lines[..(line as usize).saturating_sub(1).min(lines.len())]
        .iter()
        .rev()
        .take(3)
        .map(|l| l.trim())
        .find(|l| !l.is_empty());
    if let Some(above) = above {
        let plain = above.trim_start_matches(['#', '>', '-', '*', ' ']).trim_matches(['*', '`', '_']).trim();
        let file_like = !plain.contains(' ') && plain.contains('.') && plain.len() <= 120 && !plain.starts_with("```");
        let caption = above.len() > 4
            && above.starts_with("**")
            && above.ends_with("**")
            && !above[2..above.len() - 2].contains("**");
        if file_like || caption || (plain.ends_with(':') && plain.len() > 3) {
            let plain = plain.strip_prefix(crate::chat::ARTIFACT_CAPTION).unwrap_or(plain);
            return Some(shorten(plain.trim_end_matches(':'), 120));
        }
    }
    heading.filter(|h| !h.is_empty()).map(|h| shorten(h, 120))
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

const DIAGRAM_LANGUAGES: &[&str] = &["mermaid", "plantuml", "puml", "dot", "graphviz", "d2"];
const SCHEMA_LANGUAGES: &[&str] = &["proto", "protobuf", "graphql", "gql", "jsonschema", "prisma", "avro", "xsd"];
const SHELL_LANGUAGES: &[&str] =
    &["bash", "sh", "shell", "zsh", "console", "shell-session", "shellsession", "powershell", "ps1", "cmd", "fish"];

/// The artifact kind of a block from its language and content.
pub fn classify(language: Option<&str>, content: &str) -> ArtifactKind {
    let language = language.unwrap_or_default();
    let head = content.trim_start();
    let first = head.lines().next().unwrap_or_default();
    if DIAGRAM_LANGUAGES.contains(&language)
        || head.starts_with("@startuml")
        || ["graph TD", "graph LR", "flowchart ", "sequenceDiagram", "classDiagram", "erDiagram", "stateDiagram"]
            .iter()
            .any(|p| first.starts_with(p))
        || (first.starts_with("digraph ") || first.starts_with("strict digraph "))
    {
        return ArtifactKind::Diagram;
    }
    if SCHEMA_LANGUAGES.contains(&language) || is_schema(language, content) {
        return ArtifactKind::Schema;
    }
    if (SHELL_LANGUAGES.contains(&language) || language.is_empty()) && is_command_block(content) {
        return ArtifactKind::Command;
    }
    ArtifactKind::Code
}

fn is_schema(language: &str, content: &str) -> bool {
    let upper = content.to_ascii_uppercase();
    match language {
        "sql" | "postgresql" | "mysql" | "sqlite" => {
            upper.contains("CREATE TABLE") || upper.contains("CREATE TYPE") || upper.contains("ALTER TABLE")
        }
        "json" | "" if content.trim_start().starts_with('{') => {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(content) else { return false };
            value.get("$schema").is_some()
                || value.get("openapi").is_some()
                || value.get("swagger").is_some()
                || (value.get("type").is_some() && value.get("properties").is_some())
        }
        "yaml" | "yml" => content.lines().any(|l| l.starts_with("openapi:") || l.starts_with("swagger:")),
        "typescript" | "ts" => only_definitions(content, &["interface ", "type ", "export interface ", "export type "]),
        "rust" | "rs" => only_definitions(content, &["struct ", "enum ", "pub struct ", "pub enum ", "#[derive"]),
        _ => upper.starts_with("CREATE TABLE") || content.trim_start().starts_with("syntax = \"proto"),
    }
}

/// True when every top-level line starts a type definition (or is a comment).
fn only_definitions(content: &str, openers: &[&str]) -> bool {
    let top: Vec<&str> = content
        .lines()
        .filter(|l| !l.starts_with([' ', '\t', '}', ')', ']']) && !l.trim().is_empty())
        .filter(|l| !l.trim_start().starts_with("//") && !l.trim_start().starts_with("/*"))
        .collect();
    !top.is_empty() && top.iter().all(|l| openers.iter().any(|o| l.starts_with(o)))
}

/// Shell commands: `$ `-prompted lines, or short lines that start with a known
/// command (not a script with functions and control flow).
fn is_command_block(content: &str) -> bool {
    let lines: Vec<&str> = content.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    if lines.is_empty() {
        return false;
    }
    if lines.iter().any(|l| l.starts_with("$ ") || l.starts_with("> ") && l.len() > 2) && lines[0].starts_with("$ ") {
        return true;
    }
    const COMMANDS: &[&str] = &[
        "apt",
        "apt-get",
        "brew",
        "cargo",
        "cd",
        "chmod",
        "cp",
        "curl",
        "docker",
        "echo",
        "export",
        "git",
        "go",
        "helm",
        "kubectl",
        "ls",
        "make",
        "mkdir",
        "mv",
        "npm",
        "npx",
        "pip",
        "pip3",
        "pnpm",
        "python",
        "python3",
        "rm",
        "rustup",
        "sudo",
        "uv",
        "wget",
        "yarn",
        "aider",
        "ctxd",
        "node",
        "deno",
        "bun",
        "poetry",
        "tar",
        "cat",
        "grep",
        "psql",
        "createdb",
        "systemctl",
        "ssh",
        "scp",
        "conda",
        "gh",
        "terraform",
        "aws",
        "gcloud",
        "az",
        "source",
        "./",
    ];
    let is_command = |l: &str| {
        let word = l.split_whitespace().next().unwrap_or_default();
        COMMANDS.contains(&word) || word.starts_with("./") || l.ends_with('\\')
    };
    let scripted = ["function ", "() {", "if [", "for ", "while ", "case "].iter().any(|p| content.contains(p));
    !scripted && lines.len() <= 30 && lines.iter().filter(|l| is_command(l)).count() * 2 > lines.len()
}

/// A best guess at the language of untagged code.
pub fn detect_language(code: &str) -> Option<&'static str> {
    let head = code.trim_start();
    let first = head.lines().next().unwrap_or_default();
    if let Some(shebang) = first.strip_prefix("#!") {
        return Some(if shebang.contains("python") {
            "python"
        } else if shebang.contains("node") {
            "javascript"
        } else {
            "bash"
        });
    }
    let has = |needles: &[&str]| needles.iter().any(|n| code.contains(n));
    let starts = |needles: &[&str]| code.lines().any(|l| needles.iter().any(|n| l.trim_start().starts_with(n)));
    if (head.starts_with('{') || head.starts_with('[')) && serde_json::from_str::<serde_json::Value>(head).is_ok() {
        return Some("json");
    }
    if head.starts_with("<!DOCTYPE") || head.starts_with("<html") || starts(&["<div", "<body", "<head", "<p>"]) {
        return Some("html");
    }
    if head.starts_with("<?xml") {
        return Some("xml");
    }
    if starts(&["fn ", "pub fn ", "let mut ", "impl ", "use std::", "#[derive"]) {
        return Some("rust");
    }
    if starts(&["package main", "func "]) && has(&["{"]) {
        return Some("go");
    }
    if starts(&["#include"]) {
        return Some("c");
    }
    if starts(&["def ", "import ", "from ", "class ", "print("]) && !has(&[";\n", "{\n"]) {
        return Some("python");
    }
    if starts(&["interface ", "export interface ", "type "]) && has(&[": string", ": number", ": boolean"]) {
        return Some("typescript");
    }
    if starts(&["function ", "const ", "let ", "var ", "export ", "import ", "document.", "console."]) {
        return Some("javascript");
    }
    let upper = head.to_ascii_uppercase();
    if ["SELECT ", "CREATE TABLE", "INSERT INTO", "UPDATE ", "ALTER TABLE", "WITH "]
        .iter()
        .any(|k| upper.starts_with(k))
    {
        return Some("sql");
    }
    if head.lines().filter(|l| !l.trim().is_empty()).all(|l| l.trim_start().starts_with("$ ")) {
        return Some("console");
    }
    if starts(&["apiVersion:", "version:", "services:", "name:"]) && !has(&["{", ";"]) {
        return Some("yaml");
    }
    if code.lines().any(|l| l.trim_start().starts_with(['.', '#']) && l.trim_end().ends_with('{')) && has(&[": ", ";"])
    {
        return Some("css");
    }
    None
}

#[cfg(test)]
mod tests {
    use ctxd_domain::model::{DocumentFormat, Turn};

    use super::*;

    fn kinds(md: &str) -> Vec<(ArtifactKind, Option<String>, Option<String>)> {
        extract(&Document::new(md, DocumentFormat::Markdown))
            .into_iter()
            .map(|a| (a.kind, a.language, a.title))
            .collect()
    }

    #[test]
    fn blocks_are_typed_by_language_and_content() {
        let md = "# Setup\n\nInstall it:\n\n```bash\npip install ctxd\ncargo install ctxd\n```\n\n## Model\n\n```sql\nCREATE TABLE sources (id uuid primary key);\n```\n\n```mermaid\ngraph TD; A-->B\n```\n\nsrc/main.rs\n```\nfn main() {\n    println!(\"hi\");\n}\n```\n\n```proto\nmessage A { string id = 1; }\n```\n\n```json\n{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\", \"type\": \"object\"}\n```\n\n```ts\nexport interface Source {\n  id: string;\n}\n```\n";
        use ArtifactKind::*;
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            kinds(md),
            [
                (Command, s("bash"), s("Install it")),
                (Schema, s("sql"), s("Model")),
                (Diagram, s("mermaid"), s("Model")),
                (Code, s("rust"), s("src/main.rs")),
                (Schema, s("proto"), s("Model")),
                (Schema, s("json"), s("Model")),
                (Schema, s("ts"), s("Model")),
            ]
        );
    }

    #[test]
    fn a_bold_caption_above_a_block_titles_it() {
        let md = "## Work\n\n**File: src/app.py (changed)**\n\n```py\nx = 1\n```\n\n**Artifact: Notes**\n\n```md\nz\n```\n\n**Ran**\n\n```bash\npytest -q\n```\n\n\
                  Some **bold** and **more** words\n\n```py\ny = 2\n```\n";
        let titles: Vec<Option<String>> = kinds(md).into_iter().map(|(_, _, title)| title).collect();
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            titles,
            [s("File: src/app.py (changed)"), s("Notes"), s("Ran"), s("Work")],
            "a sentence with bold words is no caption"
        );
    }

    #[test]
    fn tables_keep_their_cells_as_rows_and_duplicates_are_dropped() {
        let md =
            "## Limits\n\n| name | value |\n|---|---|\n| body | 50 MiB |\n\n```py\nx = 1\n```\n\n```py\nx = 1\n```\n";
        let artifacts = extract(&Document::new(md, DocumentFormat::Markdown));
        assert_eq!(artifacts.len(), 2, "the repeated block is one artifact");
        let table = &artifacts[0];
        assert_eq!(table.kind, ArtifactKind::Table);
        assert_eq!(table.metadata["rows"], json!([["name", "value"], ["body", "50 MiB"]]));
        assert_eq!(table.provenance, Provenance { start_line: 3, end_line: 5, turn: None });
        assert_eq!(artifacts[1].provenance, Provenance { start_line: 7, end_line: 9, turn: None });
    }

    #[test]
    fn code_blocks_carry_the_names_values_and_paths_they_define_set_and_use() {
        let md = "```python\nPORT = 8080\n\nclass App:\n    def run(self):\n        open(\"app.log\", \"a\")\n```\n\n```\nplain text\n```\n";
        let artifacts = extract(&Document::new(md, DocumentFormat::Markdown));
        assert_eq!(
            artifacts[0].metadata,
            json!({ "symbols": ["App", "App.run"], "settings": ["PORT = 8080"], "paths": ["app.log"] })
        );
        assert_eq!(artifacts[1].metadata, json!({}), "a block with nothing to name has no keys");
    }

    #[test]
    fn chat_blocks_carry_their_turn_and_tool_output_is_not_an_artifact() {
        let md =
            "**User:**\n\nfix it\n\n**Assistant:**\n\n```python\nprint(1)\n```\n\n**Tool:**\n\n```\nTraceback\n```";
        let mut doc = Document::new(md, DocumentFormat::Chat);
        doc.turns = vec![
            Turn { role: Role::User, start_line: 1, end_line: 3 },
            Turn { role: Role::Assistant, start_line: 5, end_line: 9 },
            Turn { role: Role::Tool, start_line: 11, end_line: 15 },
        ];
        let artifacts = extract(&doc);
        assert_eq!(artifacts.len(), 1);
        assert_eq!(artifacts[0].provenance.turn, Some(2));
        assert_eq!(artifacts[0].content, "print(1)\n");
    }

    #[test]
    fn untagged_code_gets_a_detected_language() {
        assert_eq!(detect_language("#!/usr/bin/env python3\nprint(1)"), Some("python"));
        assert_eq!(detect_language("def f(x):\n    return x"), Some("python"));
        assert_eq!(detect_language("{\"a\": [1, 2]}"), Some("json"));
        assert_eq!(detect_language("fn main() {}\n"), Some("rust"));
        assert_eq!(detect_language("const x = 1;\nconsole.log(x);"), Some("javascript"));
        assert_eq!(detect_language("SELECT * FROM t"), Some("sql"));
        assert_eq!(detect_language(".box {\n  color: red;\n}"), Some("css"));
        assert_eq!(detect_language("just some words"), None);
    }
}
