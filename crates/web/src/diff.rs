//! A unified diff laid out side by side for the console's diff page.

/// One row of a side-by-side diff: the old line, the new line (either may be absent),
/// and whether the row is unchanged context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitRow {
    pub old: Option<String>,
    pub new: Option<String>,
    pub same: bool,
}

/// A unified diff as side-by-side rows: context lines on both sides, each run of
/// removed lines paired with the run of added lines that follows it; a hunk header
/// is a row of its own (`old` holds it, `same` set).
pub fn split(unified: &str) -> Vec<SplitRow> {
    let mut rows = Vec::new();
    let (mut removed, mut added): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let flush = |rows: &mut Vec<SplitRow>, removed: &mut Vec<String>, added: &mut Vec<String>| {
        let n = removed.len().max(added.len());
        let (mut r, mut a) = (removed.drain(..), added.drain(..));
        for _ in 0..n {
            rows.push(SplitRow { old: r.next(), new: a.next(), same: false });
        }
    };
    for line in unified.lines() {
        if line.starts_with("---") || line.starts_with("+++") {
            continue;
        }
        match line.chars().next() {
            Some('-') => removed.push(line[1..].to_owned()),
            Some('+') => added.push(line[1..].to_owned()),
            _ => {
                flush(&mut rows, &mut removed, &mut added);
                if line.starts_with("@@") {
                    rows.push(SplitRow { old: Some(line.to_owned()), new: None, same: true });
                } else {
                    let text = line.strip_prefix(' ').unwrap_or(line).to_owned();
                    rows.push(SplitRow { old: Some(text.clone()), new: Some(text), same: true });
                }
            }
        }
    }
    flush(&mut rows, &mut removed, &mut added);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_and_added_runs_pair_up_beside_the_context() {
        let unified = "--- a\n+++ b\n@@ -1,4 +1,4 @@\n keep\n-old one\n-old two\n+new one\n tail\n+appended\n";
        let rows = split(unified);
        let pairs: Vec<(Option<&str>, Option<&str>, bool)> =
            rows.iter().map(|r| (r.old.as_deref(), r.new.as_deref(), r.same)).collect();
        assert_eq!(
            pairs,
            [
                (Some("@@ -1,4 +1,4 @@"), None, true),
                (Some("keep"), Some("keep"), true),
                (Some("old one"), Some("new one"), false),
                (Some("old two"), None, false),
                (Some("tail"), Some("tail"), true),
                (None, Some("appended"), false),
            ]
        );
    }
}
