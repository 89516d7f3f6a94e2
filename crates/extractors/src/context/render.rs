//! The context's markdown sections: titled lists and the artifact pointers.

use super::*;

pub(super) fn section_list(out: &mut String, heading: &str, items: &[String], numbered: bool) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {heading}\n");
    write_items(out, items.iter().enumerate(), numbered);
    out.push('\n');
}

/// A long chat's lists keep this many items at their start...
const KEPT_FIRST: usize = 20;
/// ...and this many at their end (the latest decisions and exchanges), with a line
/// saying how many were left out between: a context is a compact snapshot, and one
/// line per exchange of a 6,000-message conversation made it larger than the chat.
const KEPT_LAST: usize = 40;

/// [`section_list`] for a list that may run to thousands of items: its first
/// [`KEPT_FIRST`] and last [`KEPT_LAST`], numbered as in the whole list.
pub(super) fn long_section_list(out: &mut String, heading: &str, items: &[String], numbered: bool) {
    if items.len() <= KEPT_FIRST + KEPT_LAST {
        return section_list(out, heading, items, numbered);
    }
    let _ = writeln!(out, "## {heading}\n");
    let left_out = items.len() - KEPT_FIRST - KEPT_LAST;
    write_items(out, items.iter().enumerate().take(KEPT_FIRST), numbered);
    let _ = writeln!(out, "\n… {left_out} more left out …\n");
    write_items(out, items.iter().enumerate().skip(KEPT_FIRST + left_out), numbered);
    out.push('\n');
}

/// The artifact pointers of a long chat, kept as [`long_section_list`] keeps items.
pub(super) fn long_artifact_list(out: &mut String, artifacts: &[ArtifactDraft]) {
    let pointers = ArtifactDraft::pointers(artifacts);
    let lines: Vec<&str> = pointers.lines().collect();
    let items: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].starts_with("- ")).collect();
    if items.len() <= KEPT_FIRST + KEPT_LAST {
        out.push_str(&pointers);
        return;
    }
    let (cut_from, cut_to) = (items[KEPT_FIRST], items[items.len() - KEPT_LAST]);
    for line in &lines[..cut_from] {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\n… {} more left out …\n", items.len() - KEPT_FIRST - KEPT_LAST);
    for line in &lines[cut_to..] {
        let _ = writeln!(out, "{line}");
    }
}

fn write_items<'a>(out: &mut String, items: impl Iterator<Item = (usize, &'a String)>, numbered: bool) {
    for (i, item) in items {
        if numbered {
            let _ = writeln!(out, "{}. {item}", i + 1);
        } else {
            // Outline entries carry their depth as leading spaces: nest the bullets.
            let depth = item.len() - item.trim_start().len();
            let _ = writeln!(out, "{}- {}", " ".repeat(depth), item.trim_start());
        }
    }
}

pub(super) fn artifact_list(out: &mut String, artifacts: &[ArtifactDraft]) {
    out.push_str(&ArtifactDraft::pointers(artifacts));
}
