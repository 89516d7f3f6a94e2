//! Headings without the links a page sets on them to point at themselves: Sphinx's
//! `¶` after every heading, Docusaurus's `#`, MDN's heading wrapped whole in a link to
//! its own fragment. In markdown they are noise on every heading of a documentation
//! page (`## Install[¶](#install "Permalink to this heading")`), and a heading that is
//! a link reads as a reference to somewhere else. rustdoc sets such an anchor (`§`)
//! before every variant, impl and method rather than on its heading, so a link of
//! symbols alone to the page itself goes from any line.

use std::sync::OnceLock;

use regex::{Captures, Regex};

use crate::markdown::Fences;

/// A markdown link: its text (brackets nested one level, as in `` [`a[0]`] ``), its
/// target, and an optional title.
fn link() -> &'static Regex {
    static LINK: OnceLock<Regex> = OnceLock::new();
    LINK.get_or_init(|| {
        Regex::new(r#"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(<?([^()\s<>]*)>?(?:\s+"[^"]*")?\)"#).expect("valid")
    })
}

/// `markdown` with every link on a heading that points at the page itself (a target
/// that is a fragment, or the page's own address with one) unwrapped to its text, or
/// removed when its text has no letter or digit (`¶`, `#`, `§`, an icon's `🔗`). A
/// heading left with no text goes. Elsewhere only the links that are an anchor's mark
/// go ([`is_anchor_mark`]: rustdoc's `[§](#variant.Ok)` before each item, a
/// footnote's `[↩](#fnref:1)`), and a line they leave empty.
/// Code is left as it is, and so is a line indented as code.
pub(super) fn without_self_links(markdown: &str, url: Option<&str>) -> String {
    let page = url.and_then(|url| url::Url::parse(url).ok()).map(without_fragment);
    let mut fences = Fences::default();
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.split_inclusive('\n') {
        fences.feed(line.trim_start());
        let heading = is_heading(line);
        let indented = line.starts_with("    ") || line.starts_with('\t');
        if fences.in_code() || !line.contains("](") || (!heading && indented) {
            out.push_str(line);
            continue;
        }
        let mut removed = false;
        let rewritten = link().replace_all(line, |link: &Captures<'_>| {
            let (text, target) = (&link[1], &link[2]);
            let symbols = !text.chars().any(char::is_alphanumeric);
            if !points_here(target, page.as_ref()) || !(heading || is_anchor_mark(text)) {
                link[0].to_owned()
            } else if symbols {
                removed = true;
                String::new()
            } else {
                text.to_owned()
            }
        });
        // A mark in bold (`**[^](#cite_ref-1)**`) leaves its emphasis empty.
        let rewritten =
            if removed { rewritten.replace("****", "").replace("____", "") } else { rewritten.into_owned() };
        let emptied = if heading {
            !rewritten.chars().any(char::is_alphanumeric)
        } else {
            removed && rewritten.trim().is_empty()
        };
        if emptied {
            continue;
        }
        out.push_str(rewritten.trim_end());
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Whether a link's text is only a mark that anchors a place: a permalink's `§`, `¶`
/// or `#`, a footnote's way back (`↩`, `↑`, `^`), a chain icon, or nothing. Other
/// symbols stay: a footnote's `*` ties a claim to its condition.
fn is_anchor_mark(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_whitespace()
            || matches!(c, '§' | '¶' | '#' | '↩' | '↑' | '^' | '🔗' | '⚓' | '\\' | '\u{fe0e}' | '\u{fe0f}')
    })
}

/// Whether `line` is an ATX heading: up to three spaces, one to six `#`, then a space.
fn is_heading(line: &str) -> bool {
    let trimmed = line.trim_start_matches(' ');
    let hashes = trimmed.bytes().take_while(|&b| b == b'#').count();
    line.len() - trimmed.len() <= 3 && (1..=6).contains(&hashes) && trimmed[hashes..].starts_with([' ', '\t'])
}

/// Whether a link's `target` is a place on the page at `page` (its address without a
/// fragment): a fragment alone, or the page's address with one (as the whole-page
/// answers write links, made absolute).
fn points_here(target: &str, page: Option<&url::Url>) -> bool {
    target.starts_with('#')
        || (target.contains('#')
            && page.is_some_and(|page| url::Url::parse(target).is_ok_and(|target| without_fragment(target) == *page)))
}

fn without_fragment(mut url: url::Url) -> url::Url {
    url.set_fragment(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_headings_links_to_itself_go_and_other_links_and_code_stay() {
        let markdown = "## Install[¶](#install \"Permalink to this heading\")\n\
            ## [Making a request](#making_a_request)\n\
            ### Options [#](https://docs.example.dev/guide?v=2#options \"Direct link to Options\")\n\
            ## See [the `fetch()` reference](https://docs.example.dev/api/fetch)\n\
            Text with [a link](#install) stays.\n\
            ```md\n## [In code](#in-code)\n```\n\
            #### [¶](#empty)\n\
            # Done\n";
        let out = without_self_links(markdown, Some("https://docs.example.dev/guide?v=2#top"));
        assert_eq!(
            out,
            "## Install\n## Making a request\n### Options\n\
             ## See [the `fetch()` reference](https://docs.example.dev/api/fetch)\n\
             Text with [a link](#install) stays.\n```md\n## [In code](#in-code)\n```\n# Done\n"
        );
    }

    #[test]
    fn a_symbols_link_to_the_page_goes_from_any_line_and_other_lines_stay_as_they_are() {
        let markdown = "[§](#variant.Ok)1.0.0\n\
            [Source](https://x.dev/src.rs)[§](#impl-Result)\n\
            [¶](#para)\n\
            1. **[^](#cite_ref-1)** The prize was established in 1968. [↩︎](#fnref:1)\n\
            From $999.[\\*](#footnote-1)\n\
            ---\n\
            | a |\n|---|\n\
            See [the anchor](#anchor) and [§](https://elsewhere.dev/#x).\n";
        assert_eq!(
            without_self_links(markdown, None),
            "1.0.0\n[Source](https://x.dev/src.rs)\n1.  The prize was established in 1968.\n\
             From $999.[\\*](#footnote-1)\n---\n| a |\n|---|\n\
             See [the anchor](#anchor) and [§](https://elsewhere.dev/#x).\n"
        );
    }

    #[test]
    fn text_without_headings_is_returned_unchanged() {
        let markdown = "#hashtag [x](#y)\n    ## indented code [x](#y)\n";
        assert_eq!(without_self_links(markdown, None), markdown);
    }
}
