//! Text that is never what a page says, and that a user's context has no use for:
//! placeholder text a page's template left unfilled ("Lorem ipsum dolor sit amet,
//! consectetur…" under "Heading Line"), a template's expressions its scripts never
//! filled (`{{ upvoteCount | shortNum }}`), which a reader may see, and runs of
//! generated identifiers a stylesheet hides, which a reader never sees.

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
    markdown::without_lines(&body, starts_with_placeholder)
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

/// The body without the lines that are nothing but a template's unfilled
/// expressions (`{{ DiscussionBoard.errors[11793116].message }}`, Shopify's
/// `${{amount_no_decimals}}`, a Liquid `{% if %}`): the page's scripts fill them in a
/// browser, and the raw page holds the template. A line with words of its own beside
/// an expression is a sentence about it, and stays; so do code, inline code included
/// (documentation shows its templates so).
///
/// Found on a tuning page of WCXB dev, a forum thread with 21 such lines under its
/// posts (F1 0.86 -> 0.89); tuning +0.00003, checking +0.000002 (a page's shortcode
/// lines, `{{hire-ai-eng="/case-banners/hire-ai-eng"}}`), ScrapingHub unchanged.
pub(super) fn without_template_expressions(body: String) -> String {
    if !body.contains("{{") && !body.contains("{%") {
        return body;
    }
    markdown::without_lines(&body, is_template_expressions)
}

/// Whether `line`, as a reader sees it, is only template expressions and the
/// punctuation or currency signs around them.
fn is_template_expressions(line: &str) -> bool {
    if !(line.contains("{{") || line.contains("{%")) || line.contains('`') {
        return false;
    }
    let mut rest = markdown::plain_text(line);
    let mut found = false;
    for (open, close) in [("{{", "}}"), ("{%", "%}")] {
        while let Some(start) = rest.find(open) {
            let Some(length) = rest[start..].find(close) else { break };
            rest.replace_range(start..start + length + close.len(), " ");
            found = true;
        }
    }
    found && !rest.chars().any(char::is_alphanumeric)
}

/// How many identifiers make a run ([`without_identifier_runs`]): one or two are a
/// page quoting an id (a request id in a forum post, a key in documentation).
const IDENTIFIER_RUN: usize = 3;

/// The body without the lines that are mostly a run of UUIDs: [`IDENTIFIER_RUN`] or
/// more, making up half the line's characters or more. eBay spells its "Sponsored"
/// labels as letters among spans of UUIDs that its stylesheet hides, so that the label
/// cannot be read off the page; without the stylesheet, every card and carousel
/// heading carried one such line of 30 UUIDs (150 words of bag-of-words text). Code is
/// left alone.
///
/// Found on a tuning page of WCXB dev, an eBay listing whose answer was two-thirds
/// such lines (F1 0.22 -> 0.59); three eBay pages hold them (tuning +0.0006, checking
/// +0.0007); no other page's answer has three UUIDs on a line, and ScrapingHub none.
pub(super) fn without_identifier_runs(body: String) -> String {
    if body.bytes().filter(|b| *b == b'-').count() < 4 * IDENTIFIER_RUN {
        return body;
    }
    markdown::without_lines(&body, is_identifier_run)
}

/// Whether `line` holds [`IDENTIFIER_RUN`] UUIDs or more that make up half its
/// characters or more (spaces aside).
fn is_identifier_run(line: &str) -> bool {
    const LEN: usize = 36;
    let bytes = line.as_bytes();
    if bytes.iter().filter(|b| **b == b'-').count() < 4 * IDENTIFIER_RUN {
        return false;
    }
    let (mut found, mut at) = (0, 0);
    while at + LEN <= bytes.len() {
        // The first hyphen's place rules out most starts before the whole is read.
        if bytes[at + 8] == b'-' && is_uuid(&bytes[at..at + LEN]) {
            found += 1;
            at += LEN;
        } else {
            at += 1;
        }
    }
    let chars = bytes.iter().filter(|b| !b.is_ascii_whitespace()).count();
    found >= IDENTIFIER_RUN && found * LEN * 2 >= chars
}

/// Whether `bytes` (36 of them) are a UUID as written: hex digits in groups of 8, 4,
/// 4, 4 and 12 joined by hyphens.
fn is_uuid(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { *b == b'-' } else { b.is_ascii_hexdigit() })
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

    #[test]
    fn a_line_of_unfilled_template_expressions_goes_and_a_sentence_or_code_about_one_stays() {
        let body = "Great post.\n\n**{{ DiscussionBoard.errors\\[11793116\\].message }}**\n\n\
                    - {{ upvoteCount | shortNum }}\n\n${{amount_no_decimals}}\n\n{% if user %}\n\nThanks!\n";
        assert_eq!(without_template_expressions(body.to_owned()), "Great post.\n\n\n\n\n\nThanks!\n");
        let kept =
            "Put {{ form }} in the template.\n\n`{{ form.as_p }}`\n\n```\n{{ form }}\n```\n\nHej {{firstName}}!\n";
        assert_eq!(without_template_expressions(kept.to_owned()), kept);
    }

    #[test]
    fn a_line_made_of_hidden_identifiers_goes_and_a_quoted_one_stays() {
        let run = "S19aea247-2e76-4905-9b83-15a5a5664cfaG661bd3c3-576f-4713-baee-9dc0dd7c3568p2e2c3720-cfa9-41e9-9571-b179b489e15f \
                   Yb116df00-3333-431c-b9c0-c9dfc191290c";
        let body = format!("## Similar Items\n\n{run}\n\n### Clutch kit\n\nEUR 355.58\n");
        assert_eq!(without_identifier_runs(body), "## Similar Items\n\n\n### Clutch kit\n\nEUR 355.58\n");
        let quoted = "Request ids 19aea247-2e76-4905-9b83-15a5a5664cfa and 661bd3c3-576f-4713-baee-9dc0dd7c3568 \
                      and 2e2c3720-cfa9-41e9-9571-b179b489e15f all failed with the same timeout after a retry \
                      from the client; the gateway's log shows each of them twice, about a minute apart.\n";
        assert_eq!(without_identifier_runs(quoted.to_owned()), quoted, "prose around them is what the line says");
        let code = format!("```\n{run}\n```\n");
        assert_eq!(without_identifier_runs(code.clone()), code);
    }
}
