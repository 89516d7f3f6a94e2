//! A normalized document: the markdown a normalizer makes of fetched bytes, with what
//! it learned on the way (format, title, chat turns) for the extractors.

use super::wire_enum;

wire_enum! {
    /// What the normalizer recognised the input as.
    DocumentFormat {
        Html => "html",
        Markdown => "markdown",
        Text => "text",
        Pdf => "pdf",
        Chat => "chat",
    }
}

wire_enum! {
    /// Who wrote a chat turn.
    Role {
        User => "user",
        Assistant => "assistant",
        System => "system",
        Tool => "tool",
    }
}

wire_enum! {
    /// What kind of web page an HTML document is: the normalizer classifies each page
    /// and extracts its content by kind (a forum's posts, a listing's items, a
    /// product's own block). Recorded on the revision as `metadata.page_type`.
    PageType {
        Article => "article",
        Documentation => "documentation",
        Forum => "forum",
        Product => "product",
        Listing => "listing",
        Collection => "collection",
        Service => "service",
        Other => "other",
    }
}

/// One turn of a chat transcript, located in the normalized markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub role: Role,
    /// 1-based, inclusive line span of the turn in [`Document::markdown`].
    pub start_line: u32,
    pub end_line: u32,
}

/// What normalizers produce and extractors read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub markdown: String,
    pub format: DocumentFormat,
    pub title: Option<String>,
    /// Chat turns in order; empty unless `format` is [`DocumentFormat::Chat`].
    pub turns: Vec<Turn>,
    /// The kind of web page; `None` unless `format` is [`DocumentFormat::Html`].
    pub page_type: Option<PageType>,
}

impl Document {
    /// A document of `format` with no title or turns.
    pub fn new(markdown: impl Into<String>, format: DocumentFormat) -> Self {
        Self { markdown: markdown.into(), format, title: None, turns: Vec::new(), page_type: None }
    }

    /// Drops NUL characters from the markdown and title (see [`super::strip_nul`]); a
    /// NUL is no line break, so turn spans stay right.
    pub fn strip_nul(&mut self) {
        super::strip_nul(&mut self.markdown);
        if let Some(title) = &mut self.title {
            super::strip_nul(title);
        }
    }

    /// The turn that holds 1-based `line`, counted from 1.
    pub fn turn_at(&self, line: u32) -> Option<u32> {
        self.turns.iter().position(|t| (t.start_line..=t.end_line).contains(&line)).map(|i| i as u32 + 1)
    }
}

/// What a normalizer is given: the bytes and what is known about them.
#[derive(Debug, Clone, Copy)]
pub struct NormalizeInput<'a> {
    pub bytes: &'a [u8],
    pub content_type: Option<&'a str>,
    /// Where the bytes came from, to resolve relative links.
    pub url: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_at_finds_the_turn_holding_a_line() {
        let mut doc = Document::new("a\nb\nc\nd", DocumentFormat::Chat);
        doc.turns = vec![
            Turn { role: Role::User, start_line: 1, end_line: 2 },
            Turn { role: Role::Assistant, start_line: 3, end_line: 4 },
        ];
        assert_eq!(doc.turn_at(1), Some(1));
        assert_eq!(doc.turn_at(3), Some(2));
        assert_eq!(doc.turn_at(5), None);
        assert_eq!("chat".parse::<DocumentFormat>(), Ok(DocumentFormat::Chat));
    }
}
