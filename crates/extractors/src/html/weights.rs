//! Class and id words that readability holds against a block but that name content as
//! often as chrome: they are taken out of the names on the copy readability reads.
//!
//! Readability scores a block down, and removes it when cleaning up its answer, when
//! its class or id holds one of its "negative" words. One of those words, `media`,
//! names the layout of content on many sites (Bootstrap's `media-body`, a magazine's
//! `media-block` holding a checklist, a service page's `media-text` sections) far
//! more often than an embed or a share bar, which other rules catch by their own
//! names (`share`, `social`, `gallery`).
//!
//! A heading's anchor is its own words: Sphinx names a section `<section
//! id="respond-to-review-comments">`, and readability removed it as a comment thread,
//! as it removes `<h2 id="social-media-tips">` as a share bar. An `id` that spells the
//! words of the heading it belongs to says nothing of the block's role, and is taken
//! off the copy readability reads.
//!
//! A heading is a header of what follows it, and sites say so in its name: rustdoc's
//! `<h3 class="code-header">` holds every variant's and method's signature, its
//! `<h2 class="section-header">` the section titles; DocBook and Sphinx themes name
//! theirs alike. Readability removes any block whose name holds `header` as an
//! unlikely candidate (a site's header), so a Rust API page lost every signature.
//! A heading element is never a site's header block, so its names lose `header` too.

use dom_query::{Document as Dom, NodeData, NodeRef};

use super::copies::line_words;
use crate::ascii::{find_ignoring_case, holds_ignoring_case};

/// Words taken out of class and id names before readability reads them (lowercase).
///
/// Chosen on the tuning part of WCXB dev, each word of readability's negative list
/// tried alone: `media` 0.8719 -> 0.8726 (a car-maintenance checklist 0.55 -> 0.98,
/// three service pages +0.07 to +0.13, the worst loss a product page 0.44 -> 0.40);
/// checking part 0.8471 -> 0.8483; ScrapingHub 0.9709 -> 0.9712. `widget` gained
/// 0.0003 on both parts alone but cost ScrapingHub 0.0008 beside `media`; `meta`,
/// `promo`, `banner`, `hid`, `foot` and `scroll` lost on one part or on ScrapingHub.
const MISJUDGED: &[&str] = &["media"];

/// Taken out as well on a product page: Tailwind's `overflow-hidden` utilities, which
/// clip a box to its size and hide nothing, but readability reads `hidden` in them.
/// Tailwind shops wrap a product's description and specifications in such boxes
/// (accordions, clamped blurbs), and readability cleaned them away: iFixit's project
/// mat lost its description and specifications, OnePlus's phone its feature sections.
/// Chosen on the tuning part of WCXB dev: 0.88907 -> 0.89020 (seven product pages
/// +0.07 to +0.26, one -0.04, and a service page a shop's markup had made a product
/// page +0.11); the checking part unchanged (0.86723); ScrapingHub unchanged. On every
/// page the same words moved readability's choice on service and article pages both
/// ways: tuning +0.0005, checking -0.0006.
const PRODUCT_CLIPS: &[&str] = &["overflow-hidden", "overflow-x-hidden", "overflow-y-hidden"];

/// Words taken out of the names of headings (`<h1>` to `<h6>`) only: what a heading's
/// name says of it, never of a site's chrome. `header`: tuning 0.8888 -> 0.8890 (a
/// Rust API page 0.58 -> 0.65, stories whose section titles are named so), checking
/// 0.8669 -> 0.8671; every ScrapingHub output unchanged.
const HEADING_WORDS: &[&str] = &["media", "header"];

/// The attributes readability weighs.
const WEIGHED: &[&str] = &["class", "id"];

/// Takes the [`MISJUDGED`] words (and [`PRODUCT_CLIPS`] on a product page) out of every
/// class and id on the page, so readability neither scores those blocks down nor
/// cleans them away. Names are read in place; only the few that hold a word are
/// rewritten.
pub(super) fn unweigh_misjudged_names(dom: &Dom, product: bool) {
    let clips: &[&str] = if product { PRODUCT_CLIPS } else { &[] };
    let misjudged: Vec<&str> = MISJUDGED.iter().chain(clips).copied().collect();
    let mut renamed: Vec<(NodeRef<'_>, &str, String)> = Vec::new();
    let mut anchors: Vec<(NodeRef<'_>, String)> = Vec::new();
    for node in dom.root().descendants_it() {
        node.query(|inner| {
            let NodeData::Element(element) = &inner.data else { return };
            let words = if is_heading(&element.name.local) { HEADING_WORDS } else { misjudged.as_slice() };
            for attr in &element.attrs {
                let name = &*attr.name.local;
                if name == "id" {
                    let id_words = line_words(&attr.value);
                    if id_words.split(' ').count() >= SLUG_MIN_WORDS {
                        anchors.push((node, id_words));
                    }
                }
                if let Some(weighed) = WEIGHED.iter().find(|w| **w == name)
                    && words.iter().any(|word| holds_ignoring_case(attr.value.as_bytes(), word.as_bytes()))
                {
                    renamed.push((node, weighed, without_words(&attr.value, words)));
                }
            }
        });
    }
    for (node, attr, value) in renamed {
        node.set_attr(attr, &value);
    }
    for (node, id_words) in anchors {
        // A heading that spells the id holds about as many letters as the id does.
        let limit = id_words.len() * 2 + 64;
        let heading = heading_of(&node).and_then(|heading| text_within(&heading, limit));
        if heading.is_some_and(|text| names_heading(&id_words, &line_words(&text))) {
            node.remove_attr("id");
        }
    }
}

/// Words an `id` must hold to be read as a heading's slug: an id of one word names a
/// block (`comments`) as often as it is a heading's anchor. With 2: tuning 0.88903 ->
/// 0.88909 (the kernel's patch guide 0.907 -> 0.944, its "Respond to review comments"
/// and "interleaved replies" sections back), checking 0.86709 -> 0.86716, no page
/// lower, every ScrapingHub output unchanged; with 1 a story's "Comments are
/// closed." came back under its `<h2 id="comments">`.
const SLUG_MIN_WORDS: usize = 2;

/// The heading an element's `id` may be the anchor of: the element itself when it is
/// a heading, the heading that opens it (a Sphinx `<section>`, empty elements aside),
/// or the heading it sits in, empty (a table of contents plugin's `<span id>`).
fn heading_of<'a>(node: &NodeRef<'a>) -> Option<NodeRef<'a>> {
    let named_heading = |node: &NodeRef<'a>| node.node_name().is_some_and(|name| is_heading(&name));
    if named_heading(node) {
        return Some(*node);
    }
    // Empty anchors may stand before the heading (Sphinx's `<span id>` for an old name).
    let opening = node.element_children().into_iter().find(|child| named_heading(child) || !is_blank(child));
    if let Some(first) = opening
        && named_heading(&first)
    {
        return Some(first);
    }
    node.parent().filter(|parent| named_heading(parent) && is_blank(node))
}

/// `node`'s text if it holds at most `limit` bytes: read a text node at a time, so a
/// heading that holds a whole page (nested, on hostile input) is not copied for each
/// id around it.
fn text_within(node: &NodeRef<'_>, limit: usize) -> Option<String> {
    let mut text = String::new();
    for inner in node.descendants_it().filter(NodeRef::is_text) {
        let fits = super::sizes::text_of(&inner, |part| {
            let fits = text.len() + part.len() <= limit;
            if fits {
                text.push_str(part);
            }
            fits
        });
        if !fits {
            return None;
        }
    }
    Some(text)
}

/// Whether `node` holds no text but whitespace, read up to its first word: asking a
/// large block for its text would copy all of it.
fn is_blank(node: &NodeRef<'_>) -> bool {
    !node.descendants_it().any(|inner| inner.is_text() && super::sizes::text_of(&inner, |text| !text.trim().is_empty()))
}

/// Whether `id` is the anchor a page generated from `heading`'s words, both read as
/// [`line_words`] (`Don’t get discouraged` and `don-t-get-discouraged` both give
/// `don t get discouraged`): the same words, give or take a section number before
/// them (`11.2. Index Types`, `index-types`) or a counter after them (`overview-1`,
/// the second "Overview").
fn names_heading(id: &str, heading: &str) -> bool {
    let (id, heading): (Vec<&str>, Vec<&str>) = (id.split(' ').collect(), heading.split(' ').collect());
    let numeric = |word: &&str| word.bytes().all(|b| b.is_ascii_digit());
    let id = match id.split_last() {
        Some((last, rest)) if numeric(last) && rest.len() + 1 != heading.len() => rest,
        _ => id.as_slice(),
    };
    let heading_start = heading.iter().position(|word| !numeric(word)).unwrap_or(heading.len());
    !id.is_empty() && (id == heading.as_slice() || id == &heading[heading_start..])
}

/// Whether an element of this (lower-case) name is a heading.
fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// `name` with every one of `words` taken out, any case (`cda-Media-block` becomes
/// `cda--block`). One pass per word that copies what lies between the matches: a
/// page's class attribute can be megabytes of the word repeated, and removing the
/// matches one at a time in place would move the rest of the string each time.
fn without_words(name: &str, words: &[&str]) -> String {
    let mut out = name.to_owned();
    for word in words {
        let (text, word) = (out.as_bytes(), word.as_bytes());
        let mut kept = Vec::with_capacity(text.len());
        let mut from = 0;
        while let Some(at) = find_ignoring_case(text, from, word) {
            kept.extend_from_slice(&text[from..at]);
            from = at + word.len();
        }
        kept.extend_from_slice(&text[from..]);
        // The word is ASCII, so cutting it out leaves every other character whole.
        out = String::from_utf8(kept).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_hidden_leaves_names_on_a_product_page_only() {
        let page = r#"<body><div class="grid overflow-hidden"><p>Specifications</p></div>
            <div class="overflow-y-hidden hidden"><p>Cart</p></div></body>"#;
        let product = Dom::from(page);
        unweigh_misjudged_names(&product, true);
        assert_eq!(product.select_single("div.grid").attr("class").as_deref(), Some("grid "));
        // Tailwind's own `hidden` hides the box, and readability may read it so.
        assert_eq!(product.select("div").nodes()[1].attr("class").as_deref(), Some(" hidden"));
        let other = Dom::from(page);
        unweigh_misjudged_names(&other, false);
        assert_eq!(other.select_single("div.grid").attr("class").as_deref(), Some("grid overflow-hidden"));
    }

    #[test]
    fn media_leaves_class_and_id_names_in_any_case_and_other_names_stay() {
        let dom = Dom::from(
            r#"<body><div class="cda-Media-block row" id="media1"><p>Coolant flush</p></div>
            <div class="share-bar" data-kind="media"><p>Share</p></div></body>"#,
        );
        unweigh_misjudged_names(&dom, false);
        let block = dom.select_single("div.row");
        assert_eq!(block.attr("class").as_deref(), Some("cda--block row"));
        assert_eq!(block.attr("id").as_deref(), Some("1"));
        let bar = dom.select_single("div.share-bar");
        assert_eq!(bar.attr("data-kind").as_deref(), Some("media"), "only the names readability weighs change");
    }

    #[test]
    fn a_class_of_the_word_repeated_a_hundred_thousand_times_is_emptied_and_the_rest_kept() {
        let name = format!("café {} é", "Media".repeat(100_000));
        assert_eq!(without_words(&name, MISJUDGED), "café  é");
    }

    #[test]
    fn a_content_block_named_media_survives_readability() {
        let checklist = (0..8)
            .map(|i| format!("<div class=\"checklistRow\"><div class=\"name\">Service {i}</div><div>Interval: every {i}0,000 miles</div><div>Price: ${i}5-${i}9</div></div>"))
            .collect::<String>();
        let story = "<p>Keeping up with maintenance saves money, and this guide shows what each \
            service costs, how often it is due, and which extras a shop may try to sell you. \
            Read it before your next visit, and keep the owner's manual at hand as well.</p>";
        // A declared article long enough that readability's answer is taken as it is.
        let page = format!(
            "<html><head><meta property=\"og:type\" content=\"article\"></head><body><article>\
             <h1>Your car maintenance checklist</h1>{story}{story}\
             <div class=\"media-block\"><div class=\"visualization\">{checklist}</div></div>{story}{story}\
             </article></body></html>"
        );
        let md = super::super::extract(&page, None).markdown;
        assert!(md.contains("Interval: every 70,000 miles"), "{md}");
    }

    #[test]
    fn a_heading_named_header_survives_readability_and_a_block_named_header_does_not() {
        let method = |name: &str| {
            format!(
                "<section class=\"method\"><h4 class=\"code-header\">pub fn {name}(&amp;self) -&gt; bool</h4></section>\
                 <div class=\"docblock\"><p>Returns true when the value is {name}, which callers check before \
                 they unwrap it, and the check costs nothing at run time, as the compiler sees through it.</p></div>"
            )
        };
        let page = format!(
            "<html><body><div class=\"site-header\"><p>Docs home, search the documentation, sign in</p></div>\
             <main><h1>Enum Result</h1><p>Result is a type that represents either success or failure, and \
             most functions that can fail return one, so that the caller decides what a failure means.</p>\
             <h2 class=\"section-header\">Implementations</h2>{}{}{}</main></body></html>",
            method("is_ok"),
            method("is_err"),
            method("is_some")
        );
        let md = super::super::extract(&page, None).markdown;
        assert!(md.contains(r"pub fn is\_ok(&self) -> bool"), "{md}");
        assert!(md.contains("## Implementations"), "{md}");
        assert!(!md.contains("sign in"), "{md}");
    }

    #[test]
    fn an_id_that_spells_its_heading_is_no_name_and_a_names_id_stays() {
        let dom = Dom::from(
            r#"<body><section id="respond-to-review-comments"><span id="old-name"></span><h2>Respond to review comments¶</h2><p>Reply.</p></section>
            <h2 id="11-2-index-types-1">11.2. Index Types</h2>
            <h3><span id="Social_Media_Tips"></span>Social Media Tips</h3>
            <div id="comments"><h2>Comments</h2></div>
            <div id="user-comments"><h2>What readers said</h2></div></body>"#,
        );
        unweigh_misjudged_names(&dom, false);
        assert!(dom.select("section").attr("id").is_none());
        assert!(dom.select("body > h2").attr("id").is_none(), "a section number and a counter");
        assert!(dom.select("h3 span").attr("id").is_none());
        assert_eq!(dom.select("div").first().attr("id").as_deref(), Some("comments"), "one word names a block");
        assert_eq!(dom.select("div").last().attr("id").as_deref(), Some("user-comments"));
    }

    #[test]
    fn names_heading_takes_a_section_number_before_and_a_counter_after() {
        let words = |text: &str| line_words(text);
        assert!(names_heading(&words("index-types"), &words("11.2. Index Types")));
        assert!(names_heading(&words("overview-1"), &words("Overview")));
        assert!(names_heading(&words("don-t-get-discouraged"), &words("Don’t get discouraged")));
        assert!(!names_heading(&words("related-posts"), &words("More from the blog")));
    }

    #[test]
    fn a_sphinx_section_named_for_comments_is_kept() {
        let section = |id: &str, title: &str| {
            format!(
                "<section id=\"{id}\"><h2>{title}<a class=\"headerlink\" href=\"#{id}\">¶</a></h2>\
                 <p>Your patch will almost certainly get comments from reviewers on ways in which the patch \
                 can be improved. You must respond to those comments, and a review that asks a question \
                 should bring about a comment in the code or an entry in the changelog.</p></section>"
            )
        };
        // A declared article, so that readability's answer is taken as it is.
        let page = format!(
            "<html><head><meta property=\"og:type\" content=\"article\"></head><body><article>\
             <h1>Submitting patches</h1>{}{}{}{}{}</article></body></html>",
            section("describe-your-changes", "Describe your changes"),
            section("separate-your-changes", "Separate your changes"),
            section("respond-to-review-comments", "Respond to review comments"),
            section("select-the-recipients", "Select the recipients"),
            section("sign-your-work", "Sign your work")
        );
        let md = super::super::extract(&page, None).markdown;
        assert!(md.contains("## Respond to review comments"), "{md}");
    }

    #[test]
    fn a_heading_longer_than_its_id_could_spell_is_not_read_whole() {
        let node_dom = Dom::from(format!("<h2>Intro <b>part</b> {}</h2>", "word ".repeat(100)));
        let heading = node_dom.select_single("h2").nodes()[0];
        assert_eq!(text_within(&heading, 10), None);
        let short = Dom::from("<h2>Intro <b>part</b></h2>");
        assert_eq!(text_within(&short.select_single("h2").nodes()[0], 64).as_deref(), Some("Intro part"));
    }
}
