//! What the markdown writer (`dom_query`'s) gets wrong, mended on the page before it
//! is written and on its output: markdown CommonMark reads otherwise than the page
//! meant (most often the rest of a list item as a code block, its links and escapes
//! read as literal text), and words of separate blocks written as one.
//!
//! - An item whose first block writes nothing (a card's image box once images are
//!   dropped, an empty wrapper) comes out as a bare marker, a blank line and the
//!   item's content indented under it. CommonMark ends such an item at the blank line
//!   ("a list item can begin with at most one blank line"), so the content falls out
//!   of the list, and from four spaces of indent (an item numbered 10 and up, any
//!   nested item) reads as code: a forum thread's tenth reply.
//! - Emphasis around blocks (an `<i>` holding a quoted comment's paragraphs) is
//!   closed on a line of its own at column 0. A lone `*` there starts a list at the
//!   top level, which closes every list around it: a nested comment tree's replies
//!   after it were code.
//! - A list left with no text once a whole-page answer drops images (a product card's
//!   gallery, inside the card's link) writes bare markers: the link's text became
//!   `-`, a blank line and `-`, which no longer parses as a link, and its address
//!   read as text.
//! - The writer joins the words of blocks it does not know as blocks to the words
//!   around them. A link's text is its text nodes joined as they are, so a card drawn
//!   as one link around a heading and a paragraph read "AnkleComfy coverage that
//!   protects ankles."; and definition lists, disclosures, figures, landmarks and
//!   addresses are written inline anywhere: a specification list read
//!   "ColorBlackSizeM". Those are words the page never shows, which a reader's
//!   search misses. Such blocks get a space on either side before the page is read.
//! - Whatever else leaves a block at four spaces of indent where CommonMark does not
//!   take it as part of a list item (a table inside an item is written at column 0,
//!   which ends the list; the item's later paragraphs and lists are then indented
//!   code). The writer draws every `<pre>` as a fenced block, so an indented code
//!   block in its output is always such a stray, and its lines lose their indent.

use dom_query::Document as Dom;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag};

use crate::markdown;

/// Elements a browser draws as blocks (or line breaks), which separate the words on
/// either side of them. Sorted, for a binary search.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "legend",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// Of [`BLOCKS`], those the writer writes inline wherever they are: a definition
/// list's terms and definitions ("ColorBlackSizeM"), a disclosure's summary and
/// text, a figure's caption, the landmarks, an address, a fieldset's legend.
fn written_inline(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "aside"
            | "dd"
            | "details"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "header"
            | "legend"
            | "main"
            | "nav"
            | "summary"
    )
}

/// Puts a space on both sides of each block the writer would join to the words
/// around it: the blocks inside a link, and those [`written_inline`] anywhere (see
/// the module's fourth case). Spaces the words do not need are collapsed away. One
/// walk over the page, names compared in place: a CSS selector for the links cost 2%
/// of the extraction. Few answers hold such blocks outside links (ten WCXB pages
/// change, by -0.00001 on either part: their truth has neither form of the words),
/// but a specification list reads as one in a user's content.
pub(super) fn space_blocks(dom: &Dom) {
    let mut blocks = Vec::new();
    for node in dom.root().descendants_it() {
        let (inline, link) = match node.qual_name_ref() {
            Some(name) => (written_inline(&name.local), &*name.local == "a"),
            None => continue,
        };
        if inline {
            blocks.push(node);
        } else if link && node.has_attr("href") {
            // A link inside a link (invalid, but parsed) gives its blocks twice.
            let is_block = |inner: &dom_query::NodeRef<'_>| {
                inner.qual_name_ref().is_some_and(|name| BLOCKS.binary_search(&name.local.as_ref()).is_ok())
            };
            blocks.extend(node.descendants_it().filter(is_block));
        }
    }
    for block in blocks {
        // Not at the start of its parent: a link's text would open with a space.
        if block.prev_sibling().is_some() {
            block.insert_before(&dom.tree.new_text(" "));
        }
        if block.has_name("br") || block.has_name("hr") {
            block.insert_after(&dom.tree.new_text(" "));
        } else {
            block.append_child(&dom.tree.new_text(" "));
        }
    }
}

/// Removes the lists that hold no text. Called once images and other media are gone,
/// so such a list writes nothing but markers.
pub(super) fn drop_emptied_lists(dom: &Dom) {
    for list in dom.select("ul, ol").nodes() {
        let holds_text = list.descendants_it().any(|node| node.is_text() && !node.text().trim().is_empty());
        if !holds_text {
            list.remove_from_parent();
        }
    }
}

/// `markdown` with each bare list marker that is followed by blank lines and then a
/// line indented to that item's content column joined with that line, so the content
/// is the item's again, and each line of emphasis markers alone that follows a line
/// of text moved onto the end of that line. Fenced code is left as it is.
pub(super) fn mended(markdown: &str) -> String {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = String::with_capacity(markdown.len());
    // Inside a list item a fence sits at the item's content column, which top-level
    // rules do not take as one: lines are fed without their indent.
    let mut fences = markdown::Fences::default();
    let mut at = 0;
    while at < lines.len() {
        let line = lines[at];
        at += 1;
        fences.feed(line.trim_start());
        let after_text =
            || out.strip_suffix('\n').and_then(|o| o.rsplit('\n').next()).is_some_and(|l| !l.trim().is_empty());
        // Checked first: after a line of text a lone `*` cannot start an item (an empty
        // item does not interrupt a paragraph), so it is the writer's closer.
        if !fences.in_code() && is_emphasis_closer(line) && after_text() {
            out.truncate(out.trim_end().len());
            out.push_str(line.trim());
            out.push('\n');
            continue;
        }
        if !fences.in_code()
            && let Some(column) = bare_marker_column(line)
        {
            let blanks = lines[at..].iter().take_while(|l| l.trim().is_empty()).count();
            let next = lines.get(at + blanks).filter(|next| blanks > 0 && markdown::indent(next) == column);
            if let Some(next) = next {
                out.push_str(line.trim_end());
                out.push(' ');
                out.push_str(next.trim_start());
                out.push('\n');
                at += blanks + 1;
                fences.feed(next.trim_start());
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// How many times [`without_stray_code`] reads the markdown again: unindenting a
/// block can end the list around the lines after it, which are then strays too (a
/// Slashdot comment tree took two). A round that finds nothing ends it; each round
/// costs a parse.
const STRAY_ROUNDS: usize = 8;

/// `markdown` with the lines of its indented code blocks unindented, so that they read
/// as the text, lists and links they are (see the module's last case), until none is
/// left or [`STRAY_ROUNDS`] have run. Their nesting is lost; their content is not.
pub(super) fn without_stray_code(mut markdown: String) -> String {
    // Read as [`markdown::plain_text`] reads it.
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for _ in 0..STRAY_ROUNDS {
        let strays: Vec<std::ops::Range<usize>> = Parser::new_ext(&markdown, options)
            .into_offset_iter()
            .filter_map(|(event, range)| {
                matches!(event, Event::Start(Tag::CodeBlock(CodeBlockKind::Indented))).then_some(range)
            })
            .collect();
        if strays.is_empty() {
            break;
        }
        let mut out = String::with_capacity(markdown.len());
        let mut start = 0;
        for line in markdown.split_inclusive('\n') {
            let end = start + line.len();
            let stray = strays.iter().any(|range| range.start < end && start < range.end);
            // Spaces only: a blank line's newline stays, or paragraphs would merge.
            out.push_str(if stray { line.trim_start_matches([' ', '\t']) } else { line });
            start = end;
        }
        markdown = out;
    }
    markdown
}

/// The column an item's content starts at, when `line` is a list marker with nothing
/// after it: `-`, `*`, `+`, or a number of up to nine digits and `.` or `)`.
fn bare_marker_column(line: &str) -> Option<usize> {
    let marker = line.trim();
    let bullet = matches!(marker, "-" | "*" | "+");
    let ordered = marker.len() >= 2
        && marker.len() <= 10
        && marker.ends_with(['.', ')'])
        && marker[..marker.len() - 1].bytes().all(|b| b.is_ascii_digit());
    (bullet || ordered).then(|| markdown::indent(line) + marker.len() + 1)
}

/// A line of `*` or `**` (or both) alone: what the writer closes emphasis with.
fn is_emphasis_closer(line: &str) -> bool {
    let marker = line.trim();
    !marker.is_empty() && marker.len() <= 3 && marker.bytes().all(|b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_whose_first_block_wrote_nothing_gets_its_content_back() {
        let md = "- one\n-\n\n  ### Two\n\n  text of two\n";
        assert_eq!(mended(md), "- one\n- ### Two\n\n  text of two\n");
        let html = markdown::plain_text(&mended("9. a\n10.\n\n    [Reply](https://x.y/r) by *me*\n"));
        assert_eq!(html, "a\nReply by me\n", "the tenth item's content was an indented code block");
    }

    #[test]
    fn nested_bare_markers_are_joined_at_their_own_columns() {
        let md = "-\n\n  #### Post\n\n  -\n\n    #### Reply\n";
        assert_eq!(mended(md), "- #### Post\n\n  - #### Reply\n");
    }

    #[test]
    fn emphasis_closed_on_a_line_of_its_own_closes_on_the_line_before() {
        let md = "- #### Reply\n\n  *Quoted text\n*\n\n  Answer\n\n  - Nested\n";
        let fixed = mended(md);
        assert_eq!(fixed, "- #### Reply\n\n  *Quoted text*\n\n  Answer\n\n  - Nested\n");
        assert_eq!(markdown::plain_text(&fixed).trim_end(), "Reply\nQuoted text\nAnswer\nNested");
        let apart = "text\n\n*\n";
        assert_eq!(mended(apart), apart, "after a blank line it is an empty item, not a closer");
    }

    #[test]
    fn a_gallery_emptied_of_its_images_leaves_no_markers_in_its_cards_link() {
        let dom = Dom::from(
            "<ul><li><a href=\"/p/1\"><ul><li><img src=a.jpg></li><li><img src=b.jpg></li></ul></a>\
             <a href=\"/p/1\">Paragon 68 Pack</a> $158.73</li><li><ul><li>Kept</li></ul></li></ul>",
        );
        dom.select("img").remove();
        drop_emptied_lists(&dom);
        let md = dom.select("body").nodes()[0].md(None).to_string();
        assert_eq!(markdown::plain_text(&md).trim_end(), "Paragon 68 Pack $158.73\nKept", "{md}");
    }

    #[test]
    fn a_list_left_indented_after_a_table_ends_its_item_is_read_as_a_list() {
        let md = "- #### Camera\n\n  Specs:\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n  ##### What We Like\n\n    \
                  - [Two-way](https://x.y/a) audio\n    - Privacy shutter\n\n```\n    kept as written\n```\n";
        let fixed = without_stray_code(md.to_owned());
        assert!(fixed.contains("\n- [Two-way](https://x.y/a) audio\n- Privacy shutter\n"), "{fixed}");
        assert!(fixed.ends_with("```\n    kept as written\n```\n"), "fenced code keeps its indent: {fixed}");
        let text = markdown::plain_text(&fixed);
        assert!(text.contains("\nTwo-way audio\nPrivacy shutter\n"), "{text}");
        let kept_blank =
            without_stray_code("- #### Post\nby me\n\n        - #### Reply\n\n          text\n".to_owned());
        assert_eq!(kept_blank, "- #### Post\nby me\n\n- #### Reply\n\ntext\n", "blank lines in a stray stay");
        // Unindenting the item's code ends the list, and its nested list is a stray.
        let freed = without_stray_code("- a\n\n      x\n\n    - b\n".to_owned());
        assert_eq!(freed, "- a\n\nx\n\n- b\n", "a second round for what the first freed");
        let fine = "- a\n  - b\n    - c\n".to_owned();
        assert_eq!(without_stray_code(fine.clone()), fine, "nesting that parses is left alone");
    }

    #[test]
    fn block_names_are_sorted_for_their_search() {
        assert!(BLOCKS.is_sorted());
        let inline: Vec<_> = BLOCKS.iter().filter(|name| written_inline(name)).collect();
        assert_eq!(inline.len(), 14, "every block written inline is a block: {inline:?}");
    }

    #[test]
    fn blocks_the_writer_writes_inline_keep_their_words_apart() {
        let pages = [
            ("<dl><dt>Color</dt><dd>Black</dd><dt>Size</dt><dd>M</dd></dl>", "Color Black Size M"),
            ("<details><summary>Question</summary>Answer</details><p>After</p>", "Question Answer\n\nAfter"),
            ("<figure>A chart<figcaption>Caption</figcaption></figure>Text", "A chart Caption Text"),
            ("<header>Head</header><main>Main</main><footer>Foot</footer>", "Head Main Foot"),
            ("<span>Label</span><address>Street 1</address><b>bold</b>text", "Label Street 1 **bold**text"),
        ];
        for (html, text) in pages {
            let dom = Dom::from(format!("<div>{html}</div>"));
            space_blocks(&dom);
            assert_eq!(dom.select("body").nodes()[0].md(None).trim(), text);
        }
    }

    #[test]
    fn a_card_drawn_as_one_link_keeps_its_blocks_words_apart() {
        let dom = Dom::from(
            "<div><a href=\"/ankle\"><div><h2>Ankle</h2><p>Comfy coverage.</p></div><span>€16</span>Build a\
             <br>Pack</a> and <a href=\"/x\"><b>bold</b>link</a></div>",
        );
        space_blocks(&dom);
        let md = dom.select("body").nodes()[0].md(None).to_string();
        assert_eq!(md.trim(), "[Ankle Comfy coverage. €16Build a Pack](/ankle) and [boldlink](/x)");
    }

    #[test]
    fn an_empty_item_and_fenced_code_stay_as_they_are() {
        let kept = ["- a\n-\n\nparagraph after the list\n", "-\n  directly under it\n", "```\n-\n\n  x\n```\n"];
        for md in kept {
            assert_eq!(mended(md), md);
        }
        let in_item = "- code:\n\n  ```\n  -\n\n    x\n  ```\n";
        assert_eq!(mended(in_item), in_item, "a fence inside an item is still a fence");
    }
}
