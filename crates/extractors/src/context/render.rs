//! The context's markdown sections: titled lists and the artifact pointers.

use super::*;

pub(super) fn section_list(out: &mut String, heading: &str, items: &[String], numbered: bool) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {heading}\n");
    for (i, item) in items.iter().enumerate() {
        if numbered {
            let _ = writeln!(out, "{}. {item}", i + 1);
        } else {
            // Outline entries carry their depth as leading spaces: nest the bullets.
            let depth = item.len() - item.trim_start().len();
            let _ = writeln!(out, "{}- {}", " ".repeat(depth), item.trim_start());
        }
    }
    out.push('\n');
}

pub(super) fn artifact_list(out: &mut String, artifacts: &[ArtifactDraft]) {
    out.push_str(&ArtifactDraft::pointers(artifacts));
}
