//! Headings without the links a page sets on them to point at themselves: Sphinx's
//! `¶` after every heading, Docusaurus's `#`, MDN's heading wrapped whole in a link to
//! its own fragment. In markdown they are noise on every heading of a documentation
//! page (`## Install[¶](#install "Permalink to this heading")`), and a heading that is
//! a link reads as a reference to somewhere else.

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
/// heading left with no text goes. Code is left as it is.
pub(super) fn without_self_links(markdown: &str, url: Option<&str>) -> String {
    let page = url.and_then(|url| url::Url::parse(url).ok()).map(without_fragment);
    let mut fences = Fences::default();
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.split_inclusive('\n') {
        fences.feed(line.trim_start());
        if fences.in_code() || !line.contains("](") || !is_heading(line) {
            out.push_str(line);
            continue;
        }
        let rewritten = link().replace_all(line, |link: &Captures<'_>| {
            let (text, target) = (&link[1], &link[2]);
            if !points_here(target, page.as_ref()) {
                link[0].to_owned()
            } else if text.chars().any(char::is_alphanumeric) {
                text.to_owned()
            } else {
                String::new()
            }
        });
        if !rewritten.chars().any(char::is_alphanumeric) {
            continue;
        }
        out.push_str(rewritten.trim_end());
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
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
    fn text_without_headings_is_returned_unchanged() {
        let markdown = "#hashtag [x](#y)\n    ## indented code [x](#y)\n";
        assert_eq!(without_self_links(markdown, None), markdown);
    }
}
