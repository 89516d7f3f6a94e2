//! A documentation page's opening paragraphs set in the header of its content: MDN's
//! pages put their `<h1>` and the paragraphs that say what the page is about in a
//! block named `layout__header`, beside the page's body. Readability holds the name
//! "header" against that block and takes the body alone, so the page's summary, the
//! part a reader's context needs first, was lost.

use dom_query::{Document as Dom, NodeRef};

use crate::ascii::holds_ignoring_case;

/// Words a paragraph needs to be part of the lede: a byline or a date in the same
/// header is shorter.
const MIN_WORDS: usize = 10;

/// How many words open a paragraph's key in [`with_lede`]: enough to tell it apart.
const KEY_WORDS: usize = 12;

/// The paragraphs (as markdown, links made absolute against `base`) of the innermost
/// block within `<main>` or `<article>` whose class or id names it a header and which
/// holds the page's `<h1>`; empty when there is none.
pub(super) fn lede(dom: &Dom, base: Option<&url::Url>) -> Vec<String> {
    let Some(header) = content_header(dom) else { return Vec::new() };
    // Collected before any link is rewritten: the walk borrows the tree.
    let found: Vec<NodeRef<'_>> = header.descendants_it().filter(|node| node.has_name("p")).collect();
    let mut paragraphs = Vec::new();
    for paragraph in found {
        if paragraph.text().split_whitespace().count() < MIN_WORDS {
            continue;
        }
        if let Some(base) = base {
            let links: Vec<NodeRef<'_>> = paragraph.descendants_it().filter(|node| node.has_name("a")).collect();
            for link in links {
                super::make_absolute(&link, "href", base);
            }
        }
        paragraphs.push(paragraph.md(None).trim().to_owned());
    }
    paragraphs
}

/// The innermost element within `<main>` or `<article>` named as a header that holds
/// an `<h1>`.
fn content_header<'a>(dom: &'a Dom) -> Option<NodeRef<'a>> {
    let named_header = |node: &NodeRef<'_>| {
        [node.attr("class"), node.attr("id")]
            .into_iter()
            .flatten()
            .any(|name| holds_ignoring_case(name.as_bytes(), b"header"))
    };
    let within_content = |node: &NodeRef<'_>| !node.has_name("main") && !node.has_name("article");
    dom.select("main h1, article h1")
        .nodes()
        .iter()
        .find_map(|heading| heading.ancestors_it(None).take_while(within_content).find(named_header))
}

/// `answer` with the `lede` paragraphs it does not hold put before it.
pub(super) fn with_lede(answer: String, lede: &[String]) -> String {
    if lede.is_empty() {
        return answer;
    }
    let held = format!(" {} ", key(&answer, usize::MAX));
    let holds = |paragraph: &String| held.contains(&format!(" {} ", key(paragraph, KEY_WORDS)));
    let missing: Vec<&str> = lede.iter().filter(|paragraph| !holds(paragraph)).map(String::as_str).collect();
    if missing.is_empty() {
        return answer;
    }
    format!("{}\n\n{answer}", missing.join("\n\n"))
}

/// The first `words` words of `text`'s plain text, lower-case, one space apart
/// ([`super::copies::line_words`]): what a paragraph and an answer are compared by,
/// whatever their markup.
fn key(text: &str, words: usize) -> String {
    let all = super::copies::line_words(&crate::markdown::plain_text(text));
    all.splitn(words.saturating_add(1), ' ').take(words).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<body><main><div class="layout__header"><h1>Using the Fetch API</h1>
        <section><p>The <a href="/docs/fetch">Fetch API</a> provides an interface for making HTTP requests and processing the responses.</p>
        <p>Updated 2026</p></section></div>
        <div class="layout__body"><h2>Making a request</h2><p>To make a request, call fetch.</p></div></main></body>"#;

    #[test]
    fn the_paragraphs_of_the_header_that_holds_the_h1_are_the_lede() {
        let dom = Dom::from(PAGE);
        let base = url::Url::parse("https://developer.example.org/en/guide").ok();
        let lede = lede(&dom, base.as_ref());
        assert_eq!(lede.len(), 1, "a short line is no lede paragraph: {lede:?}");
        assert!(lede[0].contains("(https://developer.example.org/docs/fetch)"), "links are made absolute: {lede:?}");
    }

    #[test]
    fn a_site_header_outside_the_content_or_one_without_the_h1_gives_no_lede() {
        let outside = r#"<body><div class="site-header"><h1>Example Docs</h1><p>The documentation of every product we make, in one place for you.</p></div>
            <main><p>Body.</p></main></body>"#;
        assert!(lede(&Dom::from(outside), None).is_empty());
        let no_h1 = r#"<body><main><div class="card-header"><p>A card's header text that is long enough to be counted as a paragraph.</p></div><h1>Title</h1></main></body>"#;
        assert!(lede(&Dom::from(no_h1), None).is_empty());
    }

    #[test]
    fn only_the_paragraphs_the_answer_lacks_are_put_before_it() {
        let lede =
            vec!["The Fetch API provides an interface for making requests.".to_owned(), "Held already.".to_owned()];
        let answer = "Held *already*.\n\n## Making a request\n".to_owned();
        let out = with_lede(answer.clone(), &lede);
        assert_eq!(out, format!("The Fetch API provides an interface for making requests.\n\n{answer}"));
        assert_eq!(with_lede(answer.clone(), &[]), answer);
    }
}
