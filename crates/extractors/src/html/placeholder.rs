//! Placeholder text a page's template left unfilled ("Lorem ipsum dolor sit amet,
//! consectetur…" under "Heading Line"): a reader may see it, but it is never what the
//! page says, and a user's context has no use for it.

use crate::{ascii::holds_ignoring_case, markdown};

/// The placeholder's opening words, in lower case.
const PLACEHOLDER: &[u8] = b"lorem ipsum";

/// The body without the lines that start with the placeholder (a paragraph, a list
/// item or a heading; markdown's markers and emphasis aside). Code is left alone, and
/// so is a page whose title names the placeholder: a page about "Lorem ipsum" quotes
/// it as its content. A line that mentions the words further on is a sentence about
/// them, and stays.
///
/// Found on a checking page of WCXB dev, a report page built from a marketing
/// template whose unused sections still held their sample text (F1 0.28 -> 0.71);
/// the tuning part's one such page, a shop, gains as well (0.68 -> 0.73): tuning
/// +0.0001, checking +0.0010, ScrapingHub unchanged (none of its answers holds the
/// words). No WCXB truth holds them.
pub(super) fn without_placeholders(body: String, title: Option<&str>) -> String {
    let about_it = title.is_some_and(|title| holds_ignoring_case(title.as_bytes(), PLACEHOLDER));
    if about_it || !holds_ignoring_case(body.as_bytes(), PLACEHOLDER) {
        return body;
    }
    let mut fences = markdown::Fences::default();
    let mut out = String::with_capacity(body.len());
    for line in body.lines() {
        let in_code = fences.in_code() || fences.feed(line);
        if !in_code && starts_with_placeholder(line) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Whether `line`'s text as a reader sees it ([`markdown::plain_text`]: headings',
/// quotes', list items' markers and emphasis gone) opens with the placeholder. Only a
/// line that holds the words is parsed.
fn starts_with_placeholder(line: &str) -> bool {
    holds_ignoring_case(line.as_bytes(), PLACEHOLDER)
        && markdown::plain_text(line)
            .trim_start()
            .as_bytes()
            .get(..PLACEHOLDER.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(PLACEHOLDER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_templates_sample_text_goes_in_paragraphs_items_and_headings() {
        let body = "## Report\n\nThe rankings cover 100 insurers.\n\nLorem ipsum dolor sit amet, consectetur.\n\n\
                    - Lorem ipsum 1\n- **Lorem Ipsum** 2\n1. lorem ipsum 3\n\n### Lorem Ipsum\n\nThe end.\n";
        assert_eq!(
            without_placeholders(body.to_owned(), Some("2025 rankings")),
            "## Report\n\nThe rankings cover 100 insurers.\n\n\n\n\nThe end.\n"
        );
    }

    #[test]
    fn a_sentence_about_the_words_code_and_a_page_about_them_keep_them() {
        let sentence = "Designers fill mockups with lorem ipsum text.\n";
        assert_eq!(without_placeholders(sentence.to_owned(), None), sentence);
        let code = "```html\n<p>Lorem ipsum dolor</p>\n```\n";
        assert_eq!(without_placeholders(code.to_owned(), None), code);
        let about = "Lorem ipsum dolor sit amet comes from Cicero.\n";
        assert_eq!(without_placeholders(about.to_owned(), Some("What is Lorem Ipsum?")), about);
    }

    #[test]
    fn a_body_without_the_words_is_returned_as_it_came() {
        let body = "Plain text.\n".to_owned();
        let address = body.as_ptr();
        let kept = without_placeholders(body, None);
        assert_eq!((kept.as_str(), kept.as_ptr()), ("Plain text.\n", address), "returned, not copied");
    }
}
