//! Normalizers (fetched bytes → markdown) and context extractors (markdown → compact
//! context). Pure CPU, no I/O. What is here now is the simplest honest pair: a
//! plain-text normalizer and a pass-through extractor that records real BPE token
//! counts; the extraction issue replaces them behind the same domain ports.

use std::sync::OnceLock;

pub mod text;

use ctxd_domain::{
    model::ContextDraft,
    ports::{ContextExtractor, Normalizer},
};

/// Decodes text to UTF-8 (BOM, charset, `<meta>`, or detection) and normalizes line
/// endings; markup is kept as it is. PDFs are refused until the PDF normalizer lands.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainTextNormalizer;

impl Normalizer for PlainTextNormalizer {
    fn version(&self) -> &'static str {
        "plaintext-2"
    }

    fn normalize(&self, bytes: &[u8], content_type: Option<&str>) -> Result<String, String> {
        let kind = text::kind_of(content_type, bytes)?;
        if kind == text::Kind::Pdf {
            return Err("PDF content is not supported yet".into());
        }
        let text = text::decode(bytes, content_type, kind);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        Ok(text.replace("\r\n", "\n").replace('\r', "\n"))
    }
}

/// Keeps the whole markdown as the context and records its token count. No
/// compression: it exists so the pipeline runs end to end before real extraction.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassthroughContextExtractor;

impl ContextExtractor for PassthroughContextExtractor {
    fn version(&self) -> &'static str {
        "passthrough-2"
    }

    fn extract(&self, markdown: &str) -> ContextDraft {
        let tokens = count_tokens(markdown);
        ContextDraft {
            content: markdown.to_owned(),
            title: title_of(markdown),
            original_tokens: tokens,
            context_tokens: tokens,
            ..ContextDraft::default()
        }
    }
}

/// Tokens of `text` under o200k_base, the BPE of current OpenAI models. The tables are
/// embedded in the binary (nothing is downloaded) and built once per process.
pub fn count_tokens(text: &str) -> u64 {
    static BPE: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
    let bpe = BPE.get_or_init(|| tiktoken_rs::o200k_base().expect("the embedded o200k tables load"));
    bpe.encode_ordinary(text).len() as u64
}

/// The first heading, else the first non-empty line, shortened to 120 characters.
fn title_of(markdown: &str) -> Option<String> {
    let lines = || markdown.lines().map(str::trim).filter(|l| !l.is_empty());
    let line = lines().find(|l| l.starts_with('#')).or_else(|| lines().next())?;
    let title = line.trim_start_matches('#').trim();
    (!title.is_empty()).then(|| title.chars().take(120).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizer_strips_bom_and_unifies_line_endings() {
        let out = PlainTextNormalizer.normalize(b"\xEF\xBB\xBFa\r\nb\rc\n", Some("text/plain; charset=utf-8")).unwrap();
        assert_eq!(out, "a\nb\nc\n");
        let pdf = PlainTextNormalizer.normalize(b"%PDF-1.7", Some("application/pdf")).unwrap_err();
        assert!(pdf.contains("PDF"), "{pdf}");
        let png = PlainTextNormalizer.normalize(b"\x89PNG", Some("image/png")).unwrap_err();
        assert!(png.contains("image/png"), "{png}");
        assert_eq!(PlainTextNormalizer.normalize(b"caf\xe9", Some("text/plain; charset=latin1")).unwrap(), "café");
        assert!(PlainTextNormalizer.normalize(b"{}", Some("application/json")).is_ok());
    }

    #[test]
    fn extractor_titles_from_the_first_heading_and_counts_tokens() {
        let draft = PassthroughContextExtractor.extract("intro line\n\n# The Title\nbody text here");
        assert_eq!(draft.title.as_deref(), Some("The Title"));
        assert_eq!(draft.content, "intro line\n\n# The Title\nbody text here");
        assert_eq!(draft.original_tokens, draft.context_tokens);
        assert_eq!(draft.original_tokens, count_tokens("intro line\n\n# The Title\nbody text here"));
        assert_eq!(count_tokens("hello world"), 2, "a real BPE count, not a word or character estimate");
        assert_eq!(count_tokens(""), 0);
        assert_eq!(
            PassthroughContextExtractor.extract("plain first line\nmore").title.as_deref(),
            Some("plain first line")
        );
        assert_eq!(PassthroughContextExtractor.extract("  \n").title, None);
    }
}
