//! Snapshot tests: each normalizer on a real-looking fixture, and the context and
//! artifacts extracted from it. The expected outputs live next to the fixtures; run
//! with `UPDATE_EXPECT=1` to rewrite them after an intended change, then review the
//! diff.

use ctxd_domain::model::{DocumentFormat, NormalizeInput};
use ctxd_extractors::{ExtractiveContextExtractor, InputType, artifacts, normalize_as};
use expect_test::expect_file;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture exists")
}

/// Normalized markdown, then the context and the artifact list, as one snapshot.
fn render(name: &str, content_type: Option<&str>, url: Option<&str>, expected_format: DocumentFormat) -> String {
    let bytes = fixture(name);
    let document = normalize_as(NormalizeInput { bytes: &bytes, content_type, url }, InputType::Auto).unwrap();
    assert_eq!(document.format, expected_format, "{name} detected as {:?}", document.format);
    let found = artifacts::extract(&document);
    let context = ExtractiveContextExtractor.draft(&document, &found);
    let mut out = format!("===== markdown ({})\n{}", document.format, document.markdown);
    out.push_str(&format!(
        "===== turns\n{:?}\n",
        document.turns.iter().map(|t| (t.role.as_str(), t.start_line, t.end_line)).collect::<Vec<_>>()
    ));
    out.push_str("===== context\n");
    out.push_str(&context.content);
    out.push_str(&format!(
        "===== decisions\n{:#?}\n===== open questions\n{:#?}\n",
        context.decisions, context.open_questions
    ));
    out.push_str("===== artifacts\n");
    for a in &found {
        out.push_str(&format!(
            "{} {:?} {:?} lines {}-{} turn {:?}\n",
            a.kind, a.language, a.title, a.provenance.start_line, a.provenance.end_line, a.provenance.turn
        ));
    }
    out
}

#[test]
fn html_article_keeps_structure_and_drops_page_chrome() {
    let out =
        render("article.html", Some("text/html"), Some("https://blog.example.com/posts/queues"), DocumentFormat::Html);
    assert!(!out.contains("cookies") && !out.contains("Subscribe to my channel") && !out.contains("Privacy"));
    expect_file!["fixtures/article.html.snap"].assert_eq(&out);
}

#[test]
fn chatgpt_export_follows_the_kept_branch() {
    let out = render("chatgpt.json", Some("application/json"), None, DocumentFormat::Chat);
    assert!(!out.contains("regenerated answer nobody kept"));
    expect_file!["fixtures/chatgpt.json.snap"].assert_eq(&out);
}

#[test]
fn claude_export_is_ordered_by_time_with_artifacts_fenced() {
    let out = render("claude.json", Some("application/json"), None, DocumentFormat::Chat);
    assert!(!out.contains("A small HTML page is enough"), "thinking is not content");
    expect_file!["fixtures/claude.json.snap"].assert_eq(&out);
}

#[test]
fn aider_history_records_commits_and_undos() {
    let out = render("aider.md", Some("text/markdown"), None, DocumentFormat::Chat);
    expect_file!["fixtures/aider.md.snap"].assert_eq(&out);
}

#[test]
fn specstory_segments_merge_into_turns() {
    let out = render("specstory.md", Some("text/markdown"), None, DocumentFormat::Chat);
    expect_file!["fixtures/specstory.md.snap"].assert_eq(&out);
}

#[test]
fn pasted_text_with_speaker_markers_is_a_chat() {
    let out = render("pasted.txt", Some("text/plain"), None, DocumentFormat::Chat);
    expect_file!["fixtures/pasted.txt.snap"].assert_eq(&out);
}

#[test]
fn outputs_are_byte_identical_across_runs() {
    let first = render("aider.md", Some("text/markdown"), None, DocumentFormat::Chat);
    assert_eq!(render("aider.md", Some("text/markdown"), None, DocumentFormat::Chat), first);
}
