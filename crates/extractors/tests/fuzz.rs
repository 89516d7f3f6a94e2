//! Property tests over arbitrary input: no normalizer, chat parser or extractor
//! panics, overflows its stack or runs away, whatever the bytes (NUL, invalid UTF-8),
//! the nesting (thousands of levels of tags, quotes, lists, brackets, LaTeX groups),
//! the repetition, the declared content type or the forced input type.
//!
//! Each input runs on a thread with a tokio worker's stack, where the pipeline runs it.
//! Run by the test suite with a fixed number of cases (time-boxed by construction);
//! proptest rather than cargo-fuzz because cargo-fuzz needs a nightly toolchain.

use ctxd_domain::model::NormalizeInput;
use ctxd_extractors::{ExtractiveContextExtractor, InputType, artifacts, normalize_as};
use proptest::prelude::*;

const TYPES: [InputType; 6] =
    [InputType::Auto, InputType::Html, InputType::Markdown, InputType::Text, InputType::Pdf, InputType::Chat];

/// Text built from the pieces that steer the parsers: fences, speaker markers, aider
/// and SpecStory lines, tags, JSON, tables, definitions in code blocks.
fn structured() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("```".to_owned()),
        Just("````md".to_owned()),
        Just("~~~".to_owned()),
        Just("User: ".to_owned()),
        Just("Assistant:".to_owned()),
        Just("#### ".to_owned()),
        Just("> ".to_owned()),
        Just("_**User**_".to_owned()),
        Just("---".to_owned()),
        Just("<pre><code class=\"language-rust\">".to_owned()),
        Just("</code></pre>".to_owned()),
        Just("<table><tr><td>".to_owned()),
        Just("<main><div class=\"layout__header\"><h1>".to_owned()),
        Just("<section role=\"tabpanel\" hidden>".to_owned()),
        Just("<div popover><div role=\"tabpanel\" style=\"display:none\">".to_owned()),
        Just("<p><a href=\"../x\">".to_owned()),
        Just("<section id=\"a-b-comments\"><span id=\"x\"></span><h2 class=\"code-header\">".to_owned()),
        Just("<h3><span id=\"A_B\"></span>".to_owned()),
        Just("</div>".to_owned()),
        Just("<pre class=\"brush: js notranslate\"><code>".to_owned()),
        Just("| a | b |\n|---|---|".to_owned()),
        Just("{\"mapping\": {".to_owned()),
        Just("[{\"chat_messages\": [".to_owned()),
        Just("{\"messages\": [{\"role\": \"user\", \"content\": ".to_owned()),
        Just("<antArtifact title=\"x\">".to_owned()),
        Just("\\(".to_owned()),
        Just("\\)".to_owned()),
        Just("\\[ \\frac{".to_owned()),
        Just("}{".to_owned()),
        Just("\\sqrt".to_owned()),
        Just("<<<<<<< SEARCH\n".to_owned()),
        Just("=======\n".to_owned()),
        Just(">>>>>>> REPLACE\n".to_owned()),
        Just("```python\nclass ".to_owned()),
        Just("```ts\nexport class ".to_owned()),
        Just("def ".to_owned()),
        Just("impl ".to_owned()),
        Just("func (".to_owned()),
        Just("{".to_owned()),
        Just(" = 10".to_owned()),
        Just("@@ -1 +1 @@\n+".to_owned()),
        Just("  ".to_owned()),
        Just("\0".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        "[a-zA-Z?.:]{0,12}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|parts| parts.concat())
}

/// The stack a tokio worker thread has (its default): the pipeline normalizes and
/// extracts there, so every parser must fit in it.
const WORKER_STACK: usize = 2 << 20;

/// Every input type's normalizer, then artifacts and the context, on a thread with a
/// worker's stack. An overflow aborts the test process, which fails the test.
fn exercise(bytes: &[u8], content_type: Option<&str>) {
    let (bytes, content_type) = (bytes.to_vec(), content_type.map(str::to_owned));
    let worker = std::thread::Builder::new().stack_size(WORKER_STACK).spawn(move || {
        for forced in TYPES {
            let input = NormalizeInput {
                bytes: &bytes,
                content_type: content_type.as_deref(),
                // Half the inputs as a documentation page, whose passes differ (tabs, lede).
                url: Some(if bytes.len() % 2 == 0 {
                    "https://example.com/a/b"
                } else {
                    "https://docs.example.com/guide/a/"
                }),
            };
            if let Ok(document) = normalize_as(input, forced) {
                let found = artifacts::extract(&document);
                let context = ExtractiveContextExtractor.draft(&document, &found);
                assert!(
                    context.context_tokens > 0 || document.markdown.trim().is_empty() || context.content.is_empty()
                );
                for artifact in &found {
                    assert!(artifact.provenance.start_line <= artifact.provenance.end_line);
                }
            }
        }
    });
    if let Err(panic) = worker.expect("a thread").join() {
        std::panic::resume_unwind(panic);
    }
}

/// A case proptest found on 2026-12-04: this unit of the structured pieces, repeated 246
/// times, overflowed the HTML extraction thread's stack (two megabytes then) in a debug
/// build, and a stack overflow aborts the whole process.
const OVERFLOWED_THE_EXTRACTION_STACK: &str = concat!(
    "}{---Assistant:```ts\u{a}export class \u{5c}[ \u{5c}frac{[{\u{22}chat_messages\u{22}: [>",
    " \u{d}\u{a}\u{0}```python\u{a}class {\u{22}mapping\u{22}: {<table><tr><td>> }{_**User**_",
    "```python\u{a}class impl def ---\u{5c}sqrt\u{fffd}\u{feff}\u{feff}@@ -1 +1 @@\u{a}+{func",
    " ({</code></pre>~~~func (\u{a}<<<<<<< SEARCH\u{a}@@ -1 +1 @@\u{a}+| a | b |\u{a}|---|---",
    "|\u{0}~~~_**User**_func (<table><tr><td>{\u{22}mapping\u{22}: {\u{5c}sqrt=======\u{a}{",
    "\u{22}mapping\u{22}: {<pre><code class=\u{22}language-rust\u{22}><table><tr><td>```ts",
    "\u{a}export class \u{a}{\u{22}mapping\u{22}: {def Assistant:{\u{22}mapping\u{22}: {</cod",
    "e></pre><pre><code class=\u{22}language-rust\u{22}>\u{5c}sqrtb:D = 10def ~~~<table><tr><",
    "td>def ```\u{a}Assistant:<table><tr><td>\u{5c}(Assistant:````md\u{feff}<table><tr><td>==",
    "=====\u{a}\u{feff}<antArtifact title=\u{22}x\u{22}>{\u{22}mapping\u{22}: {>>>>>>> REPLAC",
    "E\u{a}\u{feff}\u{5c}[ \u{5c}frac{<table><tr><td></code></pre>```ts\u{a}export class ",
);

#[test]
fn a_repetition_that_once_overflowed_the_extraction_thread_is_read() {
    exercise(OVERFLOWED_THE_EXTRACTION_STACK.repeat(246).as_bytes(), None);
}

/// One construct that nests, opened `depth` times around some text and (maybe) closed.
fn nested() -> impl Strategy<Value = String> {
    let construct = prop_oneof![
        Just(("<div>", "</div>")),
        Just(("<b><i>", "")),
        Just(("<ul><li>", "</li></ul>")),
        Just(("<table><tr><td>", "")),
        Just(("<blockquote>", "</blockquote>")),
        Just(("> ", "")),
        Just(("- ", "")),
        Just(("[", "]")),
        Just(("{\"a\": ", "}")),
        Just(("\\( \\sqrt{", "} \\)")),
        Just(("\\frac{", "}{2}")),
        Just(("```\n", "")),
        Just(("*", "*")),
    ];
    (construct, 1usize..6000, any::<bool>()).prop_map(|((open, close), depth, closed)| {
        let mut text = open.repeat(depth);
        text.push_str("deep text");
        if closed {
            text.push_str(&close.repeat(depth));
        }
        text
    })
}

/// Valid text with bytes that are not UTF-8 spliced in.
fn broken_utf8() -> impl Strategy<Value = Vec<u8>> {
    let junk = prop_oneof![
        Just(vec![0xFF]),
        Just(vec![0xC3]),
        Just(vec![0xE2, 0x82]),
        Just(vec![0xED, 0xA0, 0x80]),
        Just(vec![0])
    ];
    (structured(), prop::collection::vec((any::<prop::sample::Index>(), junk), 1..20)).prop_map(|(text, splices)| {
        let mut bytes = text.into_bytes();
        for (at, junk) in splices {
            let at = at.index(bytes.len() + 1);
            bytes.splice(at..at, junk);
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn deep_nesting_never_overflows_the_stack(text in nested(), ct in prop_oneof![
        Just(None), Just(Some("text/html")), Just(Some("application/json")), Just(Some("text/markdown"))
    ]) {
        exercise(text.as_bytes(), ct);
    }

    #[test]
    fn invalid_utf8_and_nul_never_panic(bytes in broken_utf8()) {
        exercise(&bytes, None);
        exercise(&bytes, Some("text/html; charset=utf-8"));
    }

    #[test]
    fn huge_repetitions_never_panic(text in structured(), times in 1usize..400) {
        exercise(text.repeat(times).as_bytes(), None);
    }

    #[test]
    fn chat_parsers_take_any_text(text in structured()) {
        let _ = ctxd_extractors::chat::parse(&text, false);
        let _ = ctxd_extractors::chat::parse(&text, true);
        let json = format!("[{{\"chat_messages\": [{{\"sender\": \"human\", \"text\": {}}}]}}]", serde_json::Value::from(text.as_str()));
        let _ = ctxd_extractors::chat::parse(&json, true);
        let value = serde_json::Value::from(text.as_str());
        let messages = format!("[{{\"role\": \"user\", \"content\": [{value}]}}, {{\"from\": \"gpt\", \"value\": {value}}}]");
        let _ = ctxd_extractors::chat::parse(&messages, true);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes, None);
    }

    #[test]
    fn structured_text_never_panics(text in structured(), ct in prop_oneof![
        Just(None), Just(Some("text/html")), Just(Some("application/json")), Just(Some("text/markdown")), Just(Some("application/pdf"))
    ]) {
        exercise(text.as_bytes(), ct);
    }
}
