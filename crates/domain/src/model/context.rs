//! The compact context extracted from one revision of a source.

use chrono::{DateTime, Utc};

use crate::ids::SourceId;

/// What a context extractor produces from normalized markdown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextDraft {
    /// The compact context a person pastes into a new chat.
    pub content: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub outline: Vec<String>,
    pub key_points: Vec<String>,
    pub decisions: Vec<String>,
    pub open_questions: Vec<String>,
    pub original_tokens: u64,
    pub context_tokens: u64,
}

/// A stored context: a draft tied to the revision and extractor that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub source_id: SourceId,
    pub revision: u32,
    pub extractor_version: String,
    pub draft: ContextDraft,
    pub created_at: DateTime<Utc>,
}

impl ContextDraft {
    /// Drops NUL characters from every text (see [`super::strip_nul`]): a model
    /// behind the context port may write `\u0000`.
    pub fn strip_nul(&mut self) {
        super::strip_nul(&mut self.content);
        for text in [&mut self.title, &mut self.summary].into_iter().flatten() {
            super::strip_nul(text);
        }
        for list in [&mut self.outline, &mut self.key_points, &mut self.decisions, &mut self.open_questions] {
            list.iter_mut().for_each(super::strip_nul);
        }
    }

    /// original / context tokens to two decimals, as every transport shows it, or
    /// `None` when the context is empty.
    pub fn compression_ratio(&self) -> Option<f64> {
        let ratio = (self.context_tokens > 0).then(|| self.original_tokens as f64 / self.context_tokens as f64)?;
        Some((ratio * 100.0).round() / 100.0)
    }
}

impl Context {
    /// See [`ContextDraft::compression_ratio`].
    pub fn compression_ratio(&self) -> Option<f64> {
        self.draft.compression_ratio()
    }
}
