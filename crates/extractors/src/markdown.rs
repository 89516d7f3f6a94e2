//! Markdown and plain-text helpers shared by the normalizers and extractors: tidying
//! (line endings, BOM, tabs, blank runs), fence tracking, and markdown → plain text.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// Normalizes text that is already markdown or plain text: no BOM, `\n` line endings,
/// tabs outside code blocks as four spaces, no trailing spaces, at most one blank line
/// in a row outside code blocks, and one final newline (nothing for empty input).
pub fn tidy(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len());
    let mut fences = Fences::default();
    let mut blank_run = 0;
    for line in text.lines() {
        let in_code = fences.in_code();
        let toggled = fences.feed(line);
        if in_code && !toggled {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let line = line.replace('\t', "    ");
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Tracks fenced code blocks line by line (CommonMark rules: three or more backticks
/// or tildes, indented at most three spaces, closed by the same character at least as
/// many times).
#[derive(Debug, Default, Clone)]
pub struct Fences {
    open: Option<(char, usize)>,
}

impl Fences {
    /// Whether the lines fed so far leave a code block open.
    pub fn in_code(&self) -> bool {
        self.open.is_some()
    }

    /// Feeds one line; returns true when it opened or closed a block.
    pub fn feed(&mut self, line: &str) -> bool {
        let Some((ch, len, rest)) = fence_of(line) else { return false };
        match self.open {
            None => {
                // A backtick fence's info string may not contain backticks.
                if ch == '`' && rest.contains('`') {
                    return false;
                }
                self.open = Some((ch, len));
                true
            }
            Some((open_ch, open_len)) if ch == open_ch && len >= open_len && rest.trim().is_empty() => {
                self.open = None;
                true
            }
            Some(_) => false,
        }
    }
}

/// The lines of `text` outside fenced code for which `drop` is false, each ending in a
/// newline: a pass that removes lines of an answer leaves code as it is.
pub fn without_lines(text: &str, drop: impl Fn(&str) -> bool) -> String {
    let mut fences = Fences::default();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let in_code = fences.in_code() || fences.feed(line);
        if !in_code && drop(line) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The spaces before a line's text: CommonMark's indent, which places fences, list
/// items' content and indented code (the writers here indent with spaces only).
pub fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The fence character, its run length and the info string, if `line` is a fence.
pub fn fence_of(line: &str) -> Option<(char, usize, &str)> {
    let indent = indent(line);
    if indent > 3 {
        return None;
    }
    let body = &line[indent..];
    let ch = body.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = body.chars().take_while(|c| *c == ch).count();
    (len >= 3).then(|| (ch, len, &body[len..]))
}

/// The text a reader sees in `markdown`: markup removed, one line per block, code
/// kept as it is. An image's alt text is left out: a reader sees the picture.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // Images nest (an image inside another's alt text is still alt text).
    let mut in_image = 0usize;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Start(Tag::Image { .. }) => in_image += 1,
            Event::End(TagEnd::Image) => in_image = in_image.saturating_sub(1),
            Event::Text(_) | Event::Code(_) if in_image > 0 => {}
            Event::Text(text) | Event::Code(text) => out.push_str(&text),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::TableRow | TagEnd::TableHead,
            ) => out.push('\n'),
            Event::End(TagEnd::TableCell) => out.push(' '),
            Event::End(TagEnd::CodeBlock) | Event::Start(Tag::CodeBlock(_)) if !out.ends_with('\n') => out.push('\n'),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_normalizes_line_endings_bom_tabs_and_blank_runs_but_not_code() {
        let input = "\u{feff}# T\r\n\r\n\r\n\ta  \r\n```make\r\nall:\r\n\techo\r\n\r\n\r\n```\r\n\n\n";
        assert_eq!(tidy(input), "# T\n\n    a\n```make\nall:\n\techo\n\n\n```\n");
        assert_eq!(tidy(""), "");
        assert_eq!(tidy("\n\n x"), " x\n");
    }

    #[test]
    fn fences_follow_commonmark_opening_and_closing_rules() {
        let mut f = Fences::default();
        assert!(f.feed("````md"));
        assert!(!f.feed("```"), "a shorter fence does not close");
        assert!(f.in_code());
        assert!(!f.feed("~~~~"), "another character does not close");
        assert!(f.feed("`````"));
        assert!(!f.in_code());
        assert!(!f.feed("    ```"), "four spaces of indent is code, not a fence");
        assert!(!f.feed("``` a`b"), "backticks in a backtick info string");
    }

    #[test]
    fn plain_text_drops_markup_and_keeps_words_and_code() {
        let md = "# Head\n\nSome **bold** and [a link](https://x.y).\n\n- one\n- two\n\n```rs\nfn main() {}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![Alt *text*](x.png) after [![logo](l.png) Home](/)\n";
        assert_eq!(
            plain_text(md),
            "Head\nSome bold and a link.\none\ntwo\nfn main() {}\na b \n1 2 \n after  Home\n",
            "an image's alt text is not text a reader sees"
        );
    }
}
