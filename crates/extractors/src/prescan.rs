//! Prepares an HTML page's text for the parser, in one linear scan: bounds how deeply
//! its elements nest, and empties the scripts, styles and drawings nothing reads.
//!
//! html5ever's tree builder checks the stack of open elements at every start tag
//! ("is a `<p>` in button scope?"), so a page of N nested `<div>`s costs N² steps: 40,000
//! levels kept a worker busy for minutes. Browsers bound the depth of the tree they build
//! (Chromium at 512); this does the same, at 256 to the text before it reaches the parser, by
//! dropping the start tags (and their end tags) of elements that would open deeper than
//! the bound. Their text stays, inside the deepest element kept, so nothing a reader sees
//! is lost. Real pages nest a few dozen levels and keep every tag.
//!
//! Script and style text is over half of a news page's bytes (53% of ScrapingHub's),
//! and the parser reads every byte of it for passes that all drop it unread
//! (readability, the whole-page answers, the page-type walk). Emptied before the
//! parse, it cost nothing: html5ever's work fell by 16% and the whole extraction's by
//! 8% (callgrind, 40 ScrapingHub pages), and every benchmark page's text stayed the
//! same. What is read stays: JSON-LD (the page type, a product's description,
//! readability's metadata), and each element's tags, so the tree is the same.
//!
//! An inline `<svg>`'s drawing (4% of ScrapingHub's bytes: icons' paths) is emptied
//! the same way, its tags kept. The whole-page answers drop every `<svg>` and
//! readability keeps one as it stands, so what a drawing held reached an answer only
//! as its titles' text ("Definition Icon", "image/svg+xml"). Emptied, the extraction
//! ran 3.4% fewer instructions (callgrind, 60 pages of each set); ScrapingHub's
//! answers stayed the same and WCXB's changed on 11 pages: tuning part
//! 0.89331 -> 0.89335 (4 pages better, none worse), checking part 0.87016 -> 0.87061
//! (one listing read as an article, 0.87 -> 0.83).
//!
//! Hand-written rather than a tokenizer pass: html5ever's own tokenizer would need the
//! tree builder's feedback to read `<script>` and `<style>` correctly, and all this needs
//! is tags, comments and raw-text elements told apart, in one linear scan.

use std::borrow::Cow;

/// The deepest an element may open, counted in elements with required end tags.
pub(crate) const MAX_DEPTH: usize = 256;

/// How far down the stack an end tag looks for its start tag. Misnested end tags are
/// rare and match near the top; a bound keeps a page of unmatched ones linear.
const MATCH_WINDOW: usize = 32;

/// Elements that never have content.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param", "source", "track",
    "wbr",
];

/// Elements whose end tag may be left out (the parser closes them at the next sibling):
/// counting them would count siblings as nesting.
const OPTIONAL_END: &[&str] = &[
    "html", "head", "body", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt", "rtc", "rp",
    "thead", "tbody", "tfoot", "colgroup", "caption",
];

/// Elements whose content is text up to their own end tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"];

/// `html` with no element opening deeper than [`MAX_DEPTH`] levels and no unread script
/// or style text; borrowed when nothing had to change.
pub(crate) fn prepared(html: &str) -> Cow<'_, str> {
    scan(html, MAX_DEPTH)
}

/// [`prepared`] with the depth bound as a parameter, for the tests.
fn scan(html: &str, max: usize) -> Cow<'_, str> {
    let bytes = html.as_bytes();
    let mut out: Option<String> = None;
    // Everything before `copied` is in `out` (once there is an `out`).
    let mut copied = 0;
    // Open elements: name and whether its tags were kept.
    let mut stack: Vec<(&str, bool)> = Vec::new();
    let mut depth = 0;
    let mut at = 0;
    // Where the last search for an `<svg>`'s end gave up ([`svg_end`]).
    let mut svg_unsure_until = 0;
    let drop_range = |out: &mut Option<String>, copied: &mut usize, start: usize, end: usize| {
        let out = out.get_or_insert_with(|| String::with_capacity(html.len()));
        out.push_str(&html[*copied..start]);
        *copied = end;
    };
    while let Some(offset) = memchr::memchr(b'<', &bytes[at..]) {
        let start = at + offset;
        let rest = &bytes[start..];
        if rest.starts_with(b"<!--") {
            at = find(bytes, start + 4, b"-->").map_or(bytes.len(), |i| i + 3);
            continue;
        }
        if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            at = memchr::memchr(b'>', &bytes[start..]).map_or(bytes.len(), |i| start + i + 1);
            continue;
        }
        let closing = rest.get(1) == Some(&b'/');
        let name_start = start + 1 + usize::from(closing);
        let name_len = bytes[name_start..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'-').count();
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            at = start + 1;
            continue;
        }
        let name = &html[name_start..name_start + name_len];
        let Some(end) = tag_end(bytes, name_start + name_len) else { break };
        at = end;
        if closing {
            let window = stack.len().saturating_sub(MATCH_WINDOW);
            if let Some(index) = stack[window..].iter().rposition(|(open, _)| open.eq_ignore_ascii_case(name)) {
                let index = window + index;
                let kept = stack[index].1;
                depth -= stack[index..].iter().filter(|(_, kept)| *kept).count();
                stack.truncate(index);
                if !kept {
                    drop_range(&mut out, &mut copied, start, end);
                }
            }
            continue;
        }
        let is = |set: &[&str]| set.iter().any(|s| s.eq_ignore_ascii_case(name));
        if name.eq_ignore_ascii_case("plaintext") {
            // Everything after it is its text, tags and all: nothing more to bound or
            // empty.
            break;
        }
        if is(RAW_TEXT) {
            // The content is text up to the matching end tag, whatever it looks like.
            at = raw_text_end(bytes, end, name).unwrap_or(bytes.len());
            if end < at && at < bytes.len() && is_unread(name, &bytes[start..end], &bytes[end..at]) {
                drop_range(&mut out, &mut copied, end, at);
            }
            continue;
        }
        if bytes[end - 2] == b'/' || is(VOID) || is(OPTIONAL_END) {
            continue;
        }
        let kept = depth < max;
        if kept {
            depth += 1;
        } else {
            drop_range(&mut out, &mut copied, start, end);
        }
        stack.push((name, kept));
        if name.eq_ignore_ascii_case("svg") && end >= svg_unsure_until {
            // Its drawing goes; its end tag, next, closes it as any other.
            match svg_end(bytes, end) {
                Ok(close) => {
                    if close > end {
                        drop_range(&mut out, &mut copied, end, close);
                    }
                    at = close;
                }
                // A drawing opened before where that search stopped would stop there
                // too: not searching again keeps a page of unclosed ones linear.
                Err(stopped) => svg_unsure_until = stopped,
            }
        }
    }
    match out {
        Some(mut out) => {
            out.push_str(&html[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(html),
    }
}

/// Where the text of the raw-text element `name`, starting at `from`, ends: at the
/// first `</name` (in any case) that a space, `/` or `>` ends, as the tokenizer reads it.
fn raw_text_end(bytes: &[u8], from: usize, name: &str) -> Option<usize> {
    let close = format!("</{}", name.to_ascii_lowercase());
    let mut at = from;
    loop {
        let found = crate::ascii::find_ignoring_case(bytes, at, close.as_bytes())?;
        match bytes.get(found + close.len()) {
            Some(&byte) if !ends_name(byte) => at = found + 1,
            _ => return Some(found),
        }
    }
}

/// Whether `byte` ends a tag's name, as the tokenizer reads it.
fn ends_name(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>')
}

/// Where the drawing of the `<svg>` whose start tag ends at `from` ends: at its own
/// `</svg>`, past the end tags of any `<svg>` drawn inside it. Where the search
/// stopped, as an error, when it is never closed (the rest of the page is inside it)
/// or holds a comment or CDATA section, which could hide an end tag from this count
/// but not from the parser.
fn svg_end(bytes: &[u8], from: usize) -> Result<usize, usize> {
    let mut open = 0usize;
    let mut at = from;
    loop {
        let Some(offset) = memchr::memchr(b'<', &bytes[at..]) else { return Err(bytes.len()) };
        let start = at + offset;
        let rest = &bytes[start + 1..];
        if rest.starts_with(b"!") {
            return Err(start);
        }
        let closing = rest.first() == Some(&b'/');
        let name = &rest[usize::from(closing)..];
        let is_svg = name.get(..3).is_some_and(|n| n.eq_ignore_ascii_case(b"svg"))
            && name.get(3).is_some_and(|&byte| ends_name(byte));
        match (is_svg, closing) {
            (true, true) if open == 0 => return Ok(start),
            (true, true) => open -= 1,
            (true, false) => open += usize::from(tag_end(bytes, start + 4).is_some_and(|end| bytes[end - 2] != b'/')),
            (false, _) => {}
        }
        at = start + 1;
    }
}

/// Whether the text of the raw-text element `name` (its start tag `tag`, its text
/// `text`) goes unread: a style's, and a script's other than JSON-LD. A script that
/// holds `<!--` stays whole: the tokenizer's escaped states may read past its first
/// end tag there, and an emptied one could leave the rest of its text as page text.
fn is_unread(name: &str, tag: &[u8], text: &[u8]) -> bool {
    name.eq_ignore_ascii_case("style")
        || (name.eq_ignore_ascii_case("script")
            && !crate::ascii::holds_ignoring_case(tag, b"ld+json")
            && memchr::memmem::find(text, b"<!--").is_none())
}

/// The index just past the `>` that ends the tag whose attributes start at `from`,
/// skipping `>` inside quoted attribute values. Jumps from one quote or `>` to the
/// next: a page's bytes are mostly inside its tags' attributes.
fn tag_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let i = at + memchr::memchr3(b'>', b'"', b'\'', &bytes[at..])?;
        if bytes[i] == b'>' {
            return Some(i + 1);
        }
        at = i + 1 + memchr::memchr(bytes[i], &bytes[i + 1..])? + 1;
    }
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(&bytes[from..], needle).map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_pages_are_returned_untouched() {
        let page = "<html><body><div class=\"a>b\"><p>one<p>two<ul><li>x<li>y</ul><br><img src=x></div>\
                    <script></script><!-- <div> --></body></html>";
        assert!(matches!(scan(page, 3), Cow::Borrowed(_)));
    }

    #[test]
    fn script_and_style_text_goes_but_their_tags_and_json_ld_stay() {
        let page = "<head><STYLE media=print>a > b { }</Style>\
                    <script type=\"application/ld+json\">{\"@type\":\"Product\"}</script></head>\
                    <body><p>x</p><script async>if (a < b) { document.write('<div><div>') }</script >y</body>";
        assert_eq!(
            prepared(page),
            "<head><STYLE media=print></Style>\
             <script type=\"application/ld+json\">{\"@type\":\"Product\"}</script></head>\
             <body><p>x</p><script async></script >y</body>"
        );
    }

    #[test]
    fn a_script_ends_where_the_tokenizer_ends_it() {
        // `</scripts` is no end tag: the text runs on to the real one.
        let page = "<script>s = '</scripts>' + 1;</script><p>after</p>";
        assert_eq!(prepared(page), "<script></script><p>after</p>");
        // A script that opens an HTML comment may run past its first end tag, so it is
        // left whole rather than risk its rest being read as the page's text.
        let escaped = "<script><!-- document.write('<script>x</script>') --></script><p>after</p>";
        assert!(matches!(prepared(escaped), Cow::Borrowed(_)));
        // One never closed is text to the end of the page, as the parser reads it.
        assert!(matches!(prepared("<p>a</p><script>var b = 1;"), Cow::Borrowed(_)));
        // So is everything after a `<plaintext>`, a script's tags included.
        let plain = "<div><plaintext><script>shown()</script><div><div>";
        assert!(matches!(scan(plain, 1), Cow::Borrowed(_)));
    }

    #[test]
    fn an_svg_drawing_goes_but_its_tags_and_the_page_around_it_stay() {
        let page = "<p>a</p><svg viewBox=\"0 0 9 9\"><title>Icon</title><path d=\"M0 0\"/>\
                    <SVG><g><path/></g></SVG><circle r=1></circle></svg><p>b</p><svg/><p>c</p>";
        assert_eq!(prepared(page), "<p>a</p><svg viewBox=\"0 0 9 9\"></svg><p>b</p><svg/><p>c</p>");
        // A drawing never closed, or one with a comment that could hide its end tag,
        // is left as it is.
        assert!(matches!(prepared("<p>a</p><svg><path/><p>b</p>"), Cow::Borrowed(_)));
        assert!(matches!(prepared("<svg><!-- </svg> --><path/></svg><p>b</p>"), Cow::Borrowed(_)));
        // Past the depth bound its tags go with its drawing, and what follows stays.
        assert_eq!(scan("<div><svg><path/></svg>x</div>", 1), "<div>x</div>");
    }

    #[test]
    fn a_page_of_unclosed_drawings_is_read_in_one_pass() {
        // Each of these would search the rest of the page for its end tag: searched
        // once, the page is read at once, and left as it is.
        let page = format!("<body>{}<p>x</p></body>", "<svg><path/>".repeat(200_000));
        assert!(matches!(scan(&page, usize::MAX), Cow::Borrowed(_)));
        let commented = format!("<body>{}<!-- c --></svg></body>", "<svg>".repeat(200_000));
        assert!(matches!(scan(&commented, usize::MAX), Cow::Borrowed(_)));
    }

    #[test]
    fn elements_past_the_bound_lose_their_tags_but_keep_their_text() {
        let page = "<div><section><div><span>deep</span> text</div></section><p>after</p></div>";
        let bounded = scan(page, 2);
        assert_eq!(bounded, "<div><section>deep text</section><p>after</p></div>");
    }

    #[test]
    fn a_hundred_thousand_levels_come_down_to_the_bound() {
        let n = 100_000;
        let page = format!("<body>{}x{}</body>", "<div>".repeat(n), "</div>".repeat(n));
        let bounded = prepared(&page);
        assert_eq!(bounded.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(bounded.matches("</div>").count(), MAX_DEPTH);
        assert!(bounded.contains('x'));
    }

    #[test]
    fn a_tag_ends_at_the_first_angle_bracket_outside_its_quoted_values() {
        let tag = br#"<a title='x > y' data-q="it's > 2" href=z>text"#;
        assert_eq!(tag_end(tag, 2), Some(tag.len() - 4));
        assert_eq!(tag_end(b"<a title=\"never closed >", 2), None);
        assert_eq!(tag_end(b"<a", 2), None);
    }

    #[test]
    fn raw_text_and_misnested_end_tags_are_read_as_a_parser_would() {
        let page = "<div><TEXTAREA>a > <b></textarea><b><i>x</b></i></div><div>y</div>";
        assert!(matches!(scan(page, 3), Cow::Borrowed(_)));
        let unmatched = format!("<div>{}<div><div>z</div></div></div>", "</span>".repeat(1000));
        assert_eq!(scan(&unmatched, 2), format!("<div>{}<div>z</div></div>", "</span>".repeat(1000)));
    }
}
