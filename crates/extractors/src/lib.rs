//! Normalizers (fetched bytes → markdown document), the artifact extractor and the
//! context extractor. Pure CPU, no I/O, offline: nothing is downloaded at run time.

use std::sync::OnceLock;

pub mod artifacts;
mod ascii;
pub mod chat;
pub mod context;
pub mod html;
pub mod markdown;
mod math;
mod mojibake;
pub mod pdf;
mod prescan;
pub mod symbols;
pub mod text;
pub mod textrank;

pub use artifacts::BlockArtifactExtractor;
pub use context::ExtractiveContextExtractor;
use ctxd_domain::{
    model::{Document, DocumentFormat, NormalizeInput},
    ports::Normalizer,
};

/// Which normalizer to use; `Auto` detects it from the content type and the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputType {
    #[default]
    Auto,
    Html,
    Markdown,
    Text,
    Pdf,
    Chat,
}

impl std::str::FromStr for InputType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "auto" => Self::Auto,
            "html" => Self::Html,
            "markdown" | "md" => Self::Markdown,
            "text" | "txt" => Self::Text,
            "pdf" => Self::Pdf,
            "chat" => Self::Chat,
            other => return Err(format!("unknown input type {other:?}: auto, html, markdown, text, pdf or chat")),
        })
    }
}

/// Picks the normalizer from the content type corrected by the content: HTML (main
/// content → markdown), PDF (text layer), chat transcripts (exports, API message
/// lists, aider, SpecStory, speaker markers), JSON, markdown and plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoNormalizer;

impl Normalizer for AutoNormalizer {
    /// Bumped whenever any normalizer's output changes, so sources refresh into it.
    /// 2: HTML whole-page answers keep chrome-named wrappers and drop link lists.
    /// 3: aider histories split a slash command from the message typed after it.
    /// 4: HTML drops the page's own header, nav and footer before readability.
    /// 5: HTML code blocks drawn one element per line keep their line breaks.
    /// 6: HTML whole-page answers of product pages keep the product's own block.
    /// 7: HTML whole-page answers drop images and dialogs, and on product pages the
    ///    blocks the shop hides.
    /// 8: HTML pages are classified by kind (`page_type`), and readability's answer
    ///    gives way to the `<main>` landmark's or the page's visible content when it
    ///    holds a small share of it, declared articles included (shipped as auto-9).
    /// 10: HTML product pages drop review widgets, carousels and upsell rows; pages
    ///    other than articles drop a second copy of a block.
    /// 11: HTML articles whose readability answer holds under a tenth of the page
    ///    take the page's visible content without its comment threads.
    /// 12: HTML forum threads whose readability answer is one post take every post.
    /// 13: HTML articles drop a block of nothing but links even when it outweighs the
    ///    story (a ticker of other headlines); an article's readability answer under
    ///    two tenths of the page (was one) is a miss.
    /// 14: HTML articles drop the other `<article>` stories beside the one holding the
    ///    `<h1>` when they outweigh it, and a trailing run of link-only lines; an
    ///    article's answer under four tenths of its `<main>` gives way to it.
    /// 15: HTML pages lose consent banners, dialogs and text for screen readers only
    ///    before any answer is read; a listing's or collection's lists of
    ///    headline-length links are kept as its items.
    /// 16: HTML pages lose authors' bios and, taken whole, their form controls; a
    ///    thread's posts lose their comment lists and author cards; an article drops
    ///    a second copy of a long run; a product page is taken whole (no longer cut
    ///    to the block around its name and description).
    /// 17: readability no longer holds a class or id that says "media" against a
    ///    block (`html::weights`); short links drawn as buttons go with the form
    ///    controls from the whole-page answers.
    /// 18: a form that wraps a whole page (ASP.NET WebForms) is read as the page in
    ///    the whole-page answers, where it was dropped with the logins and searches;
    ///    of the blocks named "header" only the site's own are chrome there, and the
    ///    interface's widgets (alerts, carts, dropdowns, tooltips) are.
    /// 19: a page other than an article or documentation drops a second copy of a
    ///    shorter run (100 characters, from 300), lines compared by their words; a
    ///    `<noscript>` that never closes its `<iframe>` no longer takes the rest of
    ///    the page with it; React's streamed parts are put in place.
    /// 20: an answer of interface text only (under 25 words, no sentence: a
    ///    script-rendered shell) is no content; a product page's declared
    ///    description is added when the answer leaves most of it out.
    /// 21: a Claude export is read from its messages' content blocks (what its tools
    ///    wrote, where the `text` field holds placeholders) on the branch the
    ///    conversation ends on (edited questions and regenerated answers no longer
    ///    read twice); a Claude Code session file (JSON Lines) is read as a chat.
    /// 22: a page template's unfilled sample text ("Lorem ipsum ...") is dropped.
    /// 23: script and style text is emptied before the parse (`prescan`), so a
    ///    `<noscript>` counts as a page's worth of markup by its markup alone: a lazy
    ///    image's placeholder no longer stands beside the image; a declared article
    ///    whose readability answer is a miss is read whole without what a reader never
    ///    sees (screen-reader text, dialogs), as every other page is.
    /// 24: markdown the writer left unparseable is mended (list items whose first
    ///    block was empty, emphasis closed at column 0, stray indented code, lists
    ///    emptied of their images); a link's blocks keep their words apart; code
    ///    beside a table of line numbers is one code block; lines of hidden UUIDs go.
    /// 25: disclaimers, a product page's legal notices and forum posters' statistics
    ///    go from every answer, signatures from the whole-page answers and the posts;
    ///    outside settled articles readability's answer is weighed against the running
    ///    text a page shows, not all its words.
    /// 26: API message lists (OpenAI, Anthropic, Gemini, ShareGPT; JSON or JSON Lines)
    ///    are read as chats, where they were fenced JSON; a bulk export skips an entry
    ///    it cannot read; a ChatGPT tree without a current node shows its newest
    ///    branch, and a voice message's transcription is read; text that opens like
    ///    JSON (a conversation pasted into a CONTENT source) is tried as a JSON
    ///    transcript.
    /// 27: a documentation page's hidden tab panels (`role="tabpanel"`: install steps
    ///    for each system, a sample in each language) are read with the shown one;
    ///    its opening paragraphs set in its content's header beside the `<h1>` (MDN)
    ///    are put before readability's answer, which left them out; a code block's
    ///    language is read from `brush: js notranslate`, and never from a wrapper
    ///    named `code-example` (MDN's samples were fenced as "example"); a heading's
    ///    links to itself go (Sphinx's `¶`, a heading wrapped in a link to its own
    ///    fragment).
    /// 28: a heading named as a header (rustdoc's `code-header` signatures, a
    ///    `section-header`) is no longer removed by readability as a site's header;
    ///    nor is a section whose `id` spells its heading (Sphinx's
    ///    `respond-to-review-comments`) as a comment thread; an anchor's mark
    ///    linking to the page itself (rustdoc's `[§](#variant.Ok)`, a footnote's
    ///    `[↩](#fnref:1)`) goes from any line, not only from headings; a page a
    ///    documentation tool generated (rustdoc, Sphinx, MkDocs, ...) is read as
    ///    documentation.
    /// 29: on a product page, Tailwind's `overflow-hidden` boxes (a description's
    ///    accordion, a clamped blurb) are no longer cleaned away as hidden blocks;
    ///    a page read as an article loses its comment threads from the whole-page
    ///    answers whether or not it declares itself one.
    /// 30: a web page's words written in mojibake (UTF-8 read as windows-1252 by
    ///    the site: "isnâ€™t") are read as the words they meant, outside code and
    ///    quotes; a line of a template's unfilled expressions (`{{ count }}`) goes;
    ///    a forum thread and a product page say each line once ("Quote", "Reply",
    ///    "Add to cart"); on a listing, collection, forum or documentation page
    ///    only a block of nothing but links is a list of other pages.
    /// 31: a page reads as an article by its prose alone from 2,000 words of it
    ///    (three points; two points from 600 words went), so a thread or a service
    ///    page written in paragraphs keeps its own kind; a service page's readability
    ///    answer must hold eight tenths of its running text, where other pages' must
    ///    hold seven.
    /// 32: an inline `<svg>`'s drawing is emptied before the parse (`prescan`), as
    ///    scripts are: its icon titles ("Definition Icon") and MIME strings no
    ///    longer reach readability's answer, and no walk reads its paths.
    fn version(&self) -> &'static str {
        "auto-32"
    }

    fn normalize(&self, input: NormalizeInput<'_>) -> Result<Document, String> {
        normalize_as(input, InputType::Auto)
    }
}

/// Normalizes `input` as `forced`, or as detected when `forced` is `Auto`.
///
/// # Errors
/// A message for the user: unsupported content type, unreadable PDF, or a forced
/// chat type on text that is not a transcript.
pub fn normalize_as(input: NormalizeInput<'_>, forced: InputType) -> Result<Document, String> {
    let kind = match forced {
        InputType::Auto => text::kind_of(input.content_type, input.bytes)?,
        InputType::Pdf => text::Kind::Pdf,
        // A forced text type still refuses bytes that are not text.
        InputType::Html | InputType::Markdown | InputType::Chat | InputType::Text => {
            text::refuse_binary(input.bytes)?;
            match forced {
                InputType::Html => text::Kind::Html,
                InputType::Text => text::Kind::Text,
                _ => text::Kind::Markdown,
            }
        }
    };
    if kind == text::Kind::Pdf {
        return pdf::to_markdown(input.bytes).map(|md| Document::new(md, DocumentFormat::Pdf));
    }
    let decoded = text::decode(input.bytes, input.content_type, kind);
    let decoded = decoded.strip_prefix('\u{feff}').unwrap_or(&decoded);
    if kind == text::Kind::Html {
        let page = html::extract_within(decoded, input.url, html::DEADLINE);
        let mut markdown = page.markdown;
        if let Some(title) = &page.title
            && !markdown.starts_with("# ")
        {
            markdown = format!("# {title}\n\n{markdown}");
        }
        return Ok(Document {
            markdown,
            format: DocumentFormat::Html,
            title: page.title,
            turns: Vec::new(),
            page_type: Some(page.page_type),
        });
    }
    // Text that opens like JSON is tried as a JSON transcript too: a conversation
    // pasted into a CONTENT source arrives as text/plain, export or message list alike.
    let opens_like_json = decoded.trim_start().starts_with(['[', '{']);
    let is_json = kind == text::Kind::Json
        || (forced == InputType::Auto && kind == text::Kind::Text && opens_like_json)
        || (forced == InputType::Chat && opens_like_json);
    if forced != InputType::Text
        && let Some(chat) = chat::parse(decoded, is_json)
    {
        return Ok(chat::render(&chat));
    }
    if forced == InputType::Chat {
        return Err("the input is not a chat transcript ctxd recognises (ChatGPT or Claude export, OpenAI/Anthropic/Gemini/ShareGPT message list, Claude Code session, aider, SpecStory, or User:/Assistant: markers)".into());
    }
    if kind == text::Kind::Json {
        // JSON that is not a transcript stays as it is, fenced, so its structure (and a
        // schema in it) is kept.
        return Ok(Document::new(chat::fenced("json", decoded) + "\n", DocumentFormat::Text));
    }
    let tidy = markdown::tidy(decoded);
    let format = if kind == text::Kind::Markdown || looks_like_markdown(&tidy) {
        DocumentFormat::Markdown
    } else {
        DocumentFormat::Text
    };
    Ok(Document::new(tidy, format))
}

/// Headings, fences, lists or links at the start of lines.
fn looks_like_markdown(text: &str) -> bool {
    text.lines().take(400).any(|l| {
        l.starts_with("# ")
            || l.starts_with("## ")
            || l.starts_with("```")
            || l.starts_with("- [")
            || l.contains("](http")
    })
}

/// Tokens of `text` under o200k_base, the BPE of current OpenAI models. The tables are
/// embedded in the binary (nothing is downloaded) and built once per process.
pub fn count_tokens(text: &str) -> u64 {
    static BPE: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
    let bpe = BPE.get_or_init(|| tiktoken_rs::o200k_base().expect("the embedded o200k tables load"));
    bpe.encode_ordinary(text).len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalize(bytes: &[u8], content_type: Option<&str>) -> Result<Document, String> {
        AutoNormalizer.normalize(NormalizeInput { bytes, content_type, url: None })
    }

    #[test]
    fn text_is_tidied_and_unsupported_types_refused() {
        let doc = normalize(b"\xEF\xBB\xBFa\r\nb\rc\n", Some("text/plain; charset=utf-8")).unwrap();
        assert_eq!(doc.markdown, "a\nb\nc\n");
        assert_eq!(doc.format, DocumentFormat::Text);
        let png = normalize(b"\x89PNG", Some("image/png")).unwrap_err();
        assert!(png.contains("image/png"), "{png}");
        assert_eq!(normalize(b"caf\xe9", Some("text/plain; charset=latin1")).unwrap().markdown, "café\n");
        assert_eq!(normalize(b"# T\n\nbody", Some("text/plain")).unwrap().format, DocumentFormat::Markdown);
    }

    #[test]
    fn detection_picks_html_chat_json_and_pdf() {
        let html = normalize(b"<!doctype html><title>T</title><p>Hello there, reader.</p>", None).unwrap();
        assert_eq!(html.format, DocumentFormat::Html);
        assert_eq!(html.markdown, "# T\n\nHello there, reader.\n");
        let chat = normalize(b"User: hi, how do I start?\nAssistant: run ctxd serve\n", Some("text/plain")).unwrap();
        assert_eq!(chat.format, DocumentFormat::Chat);
        assert_eq!(chat.turns.len(), 2);
        let json = normalize(b"{\"a\": 1}", Some("application/json")).unwrap();
        assert_eq!(json.markdown, "```json\n{\"a\": 1}\n```\n");
        let pdf = normalize(&pdf::tests::pdf_with_pages(&["Hello PDF"]), Some("application/octet-stream")).unwrap();
        assert_eq!(pdf.format, DocumentFormat::Pdf);
        assert!(pdf.markdown.contains("Hello PDF"));
    }

    #[test]
    fn a_claude_code_session_file_is_a_chat_whatever_its_json_lines_type() {
        let session = concat!(
            r#"{"type":"user","message":{"role":"user","content":"Rename foo to bar"},"uuid":"a"}"#,
            "\n",
            r#"{"type":"assistant","message":{"role":"assistant","content":[{"type":"text","text":"Renamed."}]},"uuid":"b"}"#,
            "\n"
        );
        for content_type in [None, Some("application/x-ndjson"), Some("application/jsonl"), Some("application/json")] {
            let doc = normalize(session.as_bytes(), content_type).unwrap();
            assert_eq!(doc.format, DocumentFormat::Chat, "{content_type:?}");
            assert_eq!(doc.turns.len(), 2, "{content_type:?}");
        }
        let other = normalize(b"{\"level\":\"info\"}\n{\"level\":\"warn\"}\n", Some("application/x-ndjson")).unwrap();
        assert_eq!(other.format, DocumentFormat::Text, "other JSON Lines stay as they are, fenced");
    }

    #[test]
    fn an_api_message_list_is_a_chat_and_other_json_is_fenced() {
        use ctxd_domain::model::Role;
        let request = br#"{"model": "claude-sonnet-4", "system": "Be brief.", "messages": [
            {"role": "user", "content": "Which crate parses TOML?"},
            {"role": "assistant", "content": [{"type": "text", "text": "Use `toml`."}]}]}"#;
        for content_type in [None, Some("application/json")] {
            let doc = normalize(request, content_type).unwrap();
            assert_eq!(doc.format, DocumentFormat::Chat, "{content_type:?}");
            let roles: Vec<Role> = doc.turns.iter().map(|t| t.role).collect();
            assert_eq!(roles, [Role::System, Role::User, Role::Assistant], "{content_type:?}");
            assert!(doc.markdown.contains("Use `toml`."), "{}", doc.markdown);
        }
        let lines = b"{\"role\": \"user\", \"content\": \"ping\"}\n{\"role\": \"assistant\", \"content\": \"pong\"}\n";
        assert_eq!(normalize(lines, Some("application/x-ndjson")).unwrap().turns.len(), 2);
        let roster = normalize(br#"[{"name": "ann", "role": "admin"}, {"name": "bo", "role": "user"}]"#, None).unwrap();
        assert_eq!(roster.format, DocumentFormat::Text, "records with a role field are data, not a chat");
        let pasted = normalize(request, Some("text/plain; charset=utf-8")).unwrap();
        assert_eq!(pasted.format, DocumentFormat::Chat, "pasted into a CONTENT source, which is text/plain");
        let braces = normalize(b"{braces} open this note, which is plain text", Some("text/plain")).unwrap();
        assert_eq!(braces.format, DocumentFormat::Text, "text that only opens like JSON stays text");
    }

    #[test]
    fn a_forced_type_overrides_detection() {
        let input = NormalizeInput { bytes: b"User: a\nAssistant: b\n", content_type: None, url: None };
        assert_eq!(normalize_as(input, InputType::Text).unwrap().format, DocumentFormat::Text);
        let err =
            normalize_as(NormalizeInput { bytes: b"plain words", content_type: None, url: None }, InputType::Chat);
        assert!(err.unwrap_err().contains("not a chat transcript"));
        assert_eq!("md".parse::<InputType>(), Ok(InputType::Markdown));
        assert!("doc".parse::<InputType>().is_err());
    }

    #[test]
    fn tokens_are_counted_with_a_real_bpe() {
        assert_eq!(count_tokens("hello world"), 2, "a real BPE count, not a word or character estimate");
        assert_eq!(count_tokens(""), 0);
    }
}
