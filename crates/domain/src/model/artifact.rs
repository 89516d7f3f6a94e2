//! Typed artifacts found in a revision: code, schemas, diagrams, tables and commands,
//! each with where it came from.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::wire_enum;
use crate::ids::{ArtifactId, SourceId, SpaceId};

wire_enum! {
    /// What an artifact is.
    ArtifactKind {
        Code => "CODE",
        Schema => "SCHEMA",
        Diagram => "DIAGRAM",
        Table => "TABLE",
        Command => "COMMAND",
    }
}

/// Where in the normalized markdown an artifact was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// 1-based, inclusive line span in the revision's normalized markdown.
    pub start_line: u32,
    pub end_line: u32,
    /// 1-based chat turn, for transcripts.
    pub turn: Option<u32>,
}

/// What an artifact extractor produces, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDraft {
    pub kind: ArtifactKind,
    pub language: Option<String>,
    pub title: Option<String>,
    pub content: String,
    /// Kind-specific details, such as `rows` for a table.
    pub metadata: serde_json::Value,
    pub provenance: Provenance,
}

/// A stored artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub id: ArtifactId,
    pub source_id: SourceId,
    pub space_id: SpaceId,
    pub revision: u32,
    pub draft: ArtifactDraft,
    pub created_at: DateTime<Utc>,
}

impl ArtifactDraft {
    /// `metadata` key of a code block's names (functions, classes, methods) it defines.
    pub const SYMBOLS: &'static str = "symbols";
    /// `metadata` key of the literal values a code block gives its top-level names.
    pub const SETTINGS: &'static str = "settings";
    /// `metadata` key of the file paths a code block names (string literals, path joins).
    pub const PATHS: &'static str = "paths";

    /// How a context names the n-th artifact (0-based): `A1`, `A2`, ...
    pub fn reference(index: usize) -> String {
        format!("A{}", index + 1)
    }

    /// The `## Artifacts` section every context ends with: one line per artifact
    /// with its reference, kind, language, title, where it was found, and the names
    /// it defines, values it sets and paths it uses (`metadata.symbols`,
    /// `metadata.settings`, `metadata.paths`) that no earlier line listed. Empty when
    /// there are none.
    pub fn pointers(artifacts: &[ArtifactDraft]) -> String {
        use std::fmt::Write as _;
        if artifacts.is_empty() {
            return String::new();
        }
        let mut out = String::from("## Artifacts\n\n");
        let mut listed = std::collections::HashSet::new();
        for (i, artifact) in artifacts.iter().enumerate() {
            let _ = write!(out, "- {} {}", Self::reference(i), artifact.kind);
            if let Some(language) = &artifact.language {
                let _ = write!(out, " {language}");
            }
            if let Some(title) = &artifact.title {
                let short: String = title.chars().take(80).collect();
                let _ = write!(out, ": {short}{}", if title.chars().count() > 80 { "…" } else { "" });
            }
            let p = artifact.provenance;
            match p.turn {
                Some(turn) => write!(out, " (turn {turn}, lines {}-{})", p.start_line, p.end_line),
                None => write!(out, " (lines {}-{})", p.start_line, p.end_line),
            }
            .expect("writing to a String");
            // Edits repeat the names of the code they change: each is said once.
            for (key, verb) in [(Self::SYMBOLS, "defines"), (Self::SETTINGS, "sets"), (Self::PATHS, "uses")] {
                let new: Vec<&str> = artifact.metadata[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(serde_json::Value::as_str)
                    .filter(|item| listed.insert(*item))
                    .collect();
                if !new.is_empty() {
                    let _ = write!(out, "; {verb} {}", new.join(", "));
                }
            }
            out.push('\n');
        }
        out.push('\n');
        out
    }

    /// What "the same artifact" means across revisions: its kind and exact content.
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.kind.as_str());
        hasher.update(b"\n");
        hasher.update(self.content.as_bytes());
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }
}

/// Filters of `GET /v1/spaces/{id}/artifacts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArtifactQuery {
    pub kind: Option<ArtifactKind>,
    pub language: Option<String>,
    /// Words to find in the title, language or content.
    pub text: Option<String>,
}

impl ArtifactQuery {
    /// # Errors
    /// A validation error naming the bad parameter.
    pub fn new(kind: Option<&str>, language: Option<&str>, text: Option<&str>) -> crate::Result<Self> {
        let mut violations = crate::error::Violations::default();
        let kind = match kind.map(str::parse::<ArtifactKind>).transpose() {
            Ok(kind) => kind,
            Err(message) => {
                violations.add("kind", message);
                None
            }
        };
        // Judged as sent, as the OpenAPI schema judges it: 200 characters counting
        // the spaces a client left around the words.
        if let Some(text) = text {
            violations.check(crate::model::check_text("q", text, 0, 200));
        }
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        if let Some(language) = language {
            violations.check(crate::model::check_name("language", language, 0, 50));
        }
        violations.finish()?;
        let language = language.map(|l| l.trim().to_ascii_lowercase()).filter(|l| !l.is_empty());
        Ok(Self { kind, language, text: text.map(str::to_owned) })
    }
}

/// How a run's artifacts join the source's current set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactWrite {
    /// Everything found in the new revision.
    pub artifacts: Vec<Artifact>,
    /// true: the new set replaces the current one; false (reprocess with
    /// `update_existing=false`): the current ones stay and the new ones that differ join.
    pub replace: bool,
}

/// Artifacts that differ between two revisions, matched by kind and title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArtifactChanges {
    pub added: Vec<Artifact>,
    pub removed: Vec<Artifact>,
    /// (before, after) pairs with the same kind and title and different content.
    pub changed: Vec<(Artifact, Artifact)>,
}

impl ArtifactChanges {
    /// The changes from `before` to `after`.
    pub fn between(before: &[Artifact], after: &[Artifact]) -> Self {
        let hashes =
            |set: &[Artifact]| set.iter().map(|a| a.draft.content_hash()).collect::<std::collections::HashSet<_>>();
        let (before_hashes, after_hashes) = (hashes(before), hashes(after));
        let gone: Vec<&Artifact> = before.iter().filter(|a| !after_hashes.contains(&a.draft.content_hash())).collect();
        let new: Vec<&Artifact> = after.iter().filter(|a| !before_hashes.contains(&a.draft.content_hash())).collect();
        let key = |a: &Artifact| (a.draft.kind, a.draft.title.clone());
        let mut changes = Self::default();
        let mut matched = std::collections::HashSet::new();
        for added in &new {
            let old =
                gone.iter().position(|g| key(g) == key(added) && g.draft.title.is_some() && !matched.contains(&g.id));
            match old {
                Some(i) => {
                    matched.insert(gone[i].id);
                    changes.changed.push(((*gone[i]).clone(), (*added).clone()));
                }
                None => changes.added.push((*added).clone()),
            }
        }
        changes.removed = gone.into_iter().filter(|g| !matched.contains(&g.id)).cloned().collect();
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(kind: ArtifactKind, title: &str, content: &str) -> Artifact {
        Artifact {
            id: ArtifactId::new(),
            source_id: SourceId::new(),
            space_id: SpaceId::new(),
            revision: 1,
            draft: ArtifactDraft {
                kind,
                language: None,
                title: Some(title.into()),
                content: content.into(),
                metadata: serde_json::json!({}),
                provenance: Provenance::default(),
            },
            created_at: Utc::now(),
        }
    }

    #[test]
    fn changes_pair_same_titled_artifacts_and_list_the_rest() {
        let kept = artifact(ArtifactKind::Code, "main.rs", "fn main() {}");
        let edited_before = artifact(ArtifactKind::Schema, "schema", "CREATE TABLE a (id int);");
        let edited_after = artifact(ArtifactKind::Schema, "schema", "CREATE TABLE a (id bigint);");
        let dropped = artifact(ArtifactKind::Command, "install", "pip install x");
        let new = artifact(ArtifactKind::Diagram, "flow", "graph TD; A-->B");
        let changes = ArtifactChanges::between(
            &[kept.clone(), edited_before.clone(), dropped.clone()],
            &[kept, edited_after.clone(), new.clone()],
        );
        assert_eq!(changes.added, [new]);
        assert_eq!(changes.removed, [dropped]);
        assert_eq!(changes.changed, [(edited_before, edited_after)]);
    }

    #[test]
    fn pointers_name_what_each_block_defines_sets_and_uses_once() {
        let mut first = artifact(ArtifactKind::Code, "app.py", "...").draft;
        first.language = Some("python".into());
        first.metadata = serde_json::json!({
            "symbols": ["App", "App.run"], "settings": ["PORT = 8080"], "paths": ["config.toml"]
        });
        first.provenance = Provenance { start_line: 3, end_line: 9, turn: Some(2) };
        let mut edit = artifact(ArtifactKind::Code, "app.py", "....").draft;
        edit.metadata = serde_json::json!({
            "symbols": ["App.run", "App.stop"], "settings": ["PORT = 8080"], "paths": ["config.toml", "app.log"]
        });
        edit.provenance = Provenance { start_line: 12, end_line: 14, turn: None };
        let table = artifact(ArtifactKind::Table, "sizes", "| a |").draft;
        assert_eq!(
            ArtifactDraft::pointers(&[first, edit, table]),
            "## Artifacts\n\n\
             - A1 CODE python: app.py (turn 2, lines 3-9); defines App, App.run; sets PORT = 8080; uses config.toml\n\
             - A2 CODE: app.py (lines 12-14); defines App.stop; uses app.log\n\
             - A3 TABLE: sizes (lines 0-0)\n\n"
        );
    }

    #[test]
    fn queries_validate_kind_and_normalise_language_and_text() {
        let q = ArtifactQuery::new(Some("CODE"), Some(" Rust "), Some("  ")).unwrap();
        assert_eq!(q, ArtifactQuery { kind: Some(ArtifactKind::Code), language: Some("rust".into()), text: None });
        assert!(ArtifactQuery::new(Some("code"), None, None).is_err());
        assert!(ArtifactQuery::new(None, None, Some(&"x".repeat(201))).is_err());
        // The schema's 200 characters count the spaces around the words too.
        assert!(ArtifactQuery::new(None, None, Some(&format!("x{}", " ".repeat(200)))).is_err());
        let padded = ArtifactQuery::new(None, None, Some(" x ")).unwrap();
        assert_eq!(padded.text.as_deref(), Some("x"));
        let a = artifact(ArtifactKind::Code, "t", "x");
        assert_ne!(a.draft.content_hash(), artifact(ArtifactKind::Command, "t", "x").draft.content_hash());
    }
}
