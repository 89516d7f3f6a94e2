//! Composition: order, provenance shift, renumbered references, missing members.

use super::*;
use crate::model::{ArtifactKind, Provenance};

fn code(content: &str, start_line: u32) -> ArtifactDraft {
    ArtifactDraft {
        kind: ArtifactKind::Code,
        language: Some("rust".into()),
        title: None,
        content: content.into(),
        metadata: serde_json::Value::Null,
        provenance: Provenance { start_line, end_line: start_line + 2, turn: None },
    }
}

fn context(title: &str, decision: &str) -> ContextDraft {
    ContextDraft {
        content: format!(
            "# {title}\n\nSummary of {title}.\n\n## Decisions\n\n- {decision}\n\n## Artifacts\n\n- A1 CODE rust (lines 3-5)\n"
        ),
        summary: Some(format!("Summary of {title}.")),
        decisions: vec![decision.into()],
        ..ContextDraft::default()
    }
}

#[test]
fn members_are_joined_in_order_with_artifacts_renumbered_and_shifted() {
    let first_artifacts = [code("fn a() {}", 3)];
    let second_artifacts = [code("fn b() {}", 3), code("fn a() {}", 9)];
    let first_context = context("First", "use A [A1]");
    let second_context = context("Second", "keep B [A1], reuse [A2]");
    let composed = compose(
        "Both",
        &[
            Member {
                label: "first",
                markdown: Some("# First\n\ntext\n```rust\nfn a() {}\n```\n"),
                context: Some(&first_context),
                artifacts: &first_artifacts,
            },
            Member {
                label: "second",
                markdown: Some("# Second\n\nmore\n"),
                context: Some(&second_context),
                artifacts: &second_artifacts,
            },
        ],
    );
    assert_eq!(composed.markdown, "# First\n\ntext\n```rust\nfn a() {}\n```\n\n---\n\n# Second\n\nmore\n");
    let lines: Vec<&str> = composed.markdown.lines().collect();
    assert_eq!(lines[9], "# Second", "the second member starts on line 10");

    assert_eq!(composed.artifacts.len(), 2, "the repeated block is kept once");
    assert_eq!(composed.artifacts[1].content, "fn b() {}");
    assert_eq!(composed.artifacts[1].provenance.start_line, 3 + 9, "shifted by the lines before the member");

    let context = &composed.context;
    assert_eq!(
        context.decisions,
        ["use A [A1]", "keep B [A2], reuse [A1]"],
        "references follow the composition's numbering"
    );
    assert_eq!(context.outline, ["first", "second"]);
    assert_eq!(context.summary.as_deref(), Some("first: Summary of First.\n\nsecond: Summary of Second."));
    assert!(context.content.starts_with("# Both\n\nA composition of 2 sources.\n\n## first\n\nSummary of First.\n\n### Decisions\n\n- use A [A1]\n\n## second\n"), "{}", context.content);
    assert_eq!(context.content.matches("## Artifacts").count(), 1, "one pointer section: {}", context.content);
    assert!(context.content.contains("- A2 CODE rust (lines 12-14)"), "{}", context.content);
}

#[test]
fn members_without_content_are_named_as_not_yet_available() {
    let composed = compose(
        "Pair",
        &[
            Member { label: "ready", markdown: Some("hello\n"), context: None, artifacts: &[] },
            Member { label: "pending one", markdown: None, context: None, artifacts: &[] },
        ],
    );
    assert_eq!(composed.markdown, "hello\n");
    assert_eq!(composed.context.content, "# Pair\n\nA composition of 1 source; not yet available: pending one.\n");
    assert_eq!(composed.context.summary, None);
}

#[test]
fn references_that_are_not_the_members_are_left_as_written() {
    assert_eq!(renumber_references("see [A2] and [A9] and [Ab] [A", &[4, 0]), "see [A1] and [A9] and [Ab] [A");
}

#[test]
fn headings_inside_code_fences_are_not_demoted() {
    assert_eq!(demote("# a\n```sh\n# comment\n```\n## b"), "## a\n```sh\n# comment\n```\n### b");
}
