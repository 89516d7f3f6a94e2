//! Property tests over arbitrary input: no normalizer or extractor panics, whatever
//! the bytes, the declared content type or the forced input type.

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
        Just("| a | b |\n|---|---|".to_owned()),
        Just("{\"mapping\": {".to_owned()),
        Just("[{\"chat_messages\": [".to_owned()),
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
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        "[a-zA-Z?.:]{0,12}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|parts| parts.concat())
}

fn exercise(bytes: &[u8], content_type: Option<&str>) {
    for forced in TYPES {
        let input = NormalizeInput { bytes, content_type, url: Some("https://example.com/a/b") };
        if let Ok(document) = normalize_as(input, forced) {
            let found = artifacts::extract(&document);
            let context = ExtractiveContextExtractor.draft(&document, &found);
            assert!(context.context_tokens > 0 || document.markdown.trim().is_empty() || context.content.is_empty());
            for artifact in &found {
                assert!(artifact.provenance.start_line <= artifact.provenance.end_line);
            }
        }
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
