//! Bounds how deeply an HTML page's elements nest before it is parsed.
//!
//! html5ever's tree builder checks the stack of open elements at every start tag
//! ("is a `<p>` in button scope?"), so a page of N nested `<div>`s costs N² steps: 40,000
//! levels kept a worker busy for minutes. Browsers bound the depth of the tree they build
//! (Chromium at 512); this does the same, at 256 to the text before it reaches the parser, by
//! dropping the start tags (and their end tags) of elements that would open deeper than
//! the bound. Their text stays, inside the deepest element kept, so nothing a reader sees
//! is lost. Real pages nest a few dozen levels and are returned untouched.
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

/// `html` with no element opening deeper than `max` levels; borrowed when nothing had to
/// change.
pub(crate) fn bounded(html: &str, max: usize) -> Cow<'_, str> {
    let bytes = html.as_bytes();
    let mut out: Option<String> = None;
    // Everything before `copied` is in `out` (once there is an `out`).
    let mut copied = 0;
    // Open elements: name and whether its tags were kept.
    let mut stack: Vec<(&str, bool)> = Vec::new();
    let mut depth = 0;
    let mut at = 0;
    let drop_tag = |out: &mut Option<String>, copied: &mut usize, start: usize, end: usize| {
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
                    drop_tag(&mut out, &mut copied, start, end);
                }
            }
            continue;
        }
        let is = |set: &[&str]| set.iter().any(|s| s.eq_ignore_ascii_case(name));
        if is(RAW_TEXT) {
            // The content is text up to the matching end tag, whatever it looks like.
            let close = format!("</{}", name.to_ascii_lowercase());
            at = crate::ascii::find_ignoring_case(bytes, end, close.as_bytes()).unwrap_or(bytes.len());
            continue;
        }
        if bytes[end - 2] == b'/' || is(VOID) || is(OPTIONAL_END) {
            continue;
        }
        let kept = depth < max;
        if kept {
            depth += 1;
        } else {
            drop_tag(&mut out, &mut copied, start, end);
        }
        stack.push((name, kept));
    }
    match out {
        Some(mut out) => {
            out.push_str(&html[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(html),
    }
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
                    <script>if (a < b) { document.write('<div><div>') }</script><!-- <div> --></body></html>";
        assert!(matches!(bounded(page, 3), Cow::Borrowed(_)));
    }

    #[test]
    fn elements_past_the_bound_lose_their_tags_but_keep_their_text() {
        let page = "<div><section><div><span>deep</span> text</div></section><p>after</p></div>";
        let bounded = bounded(page, 2);
        assert_eq!(bounded, "<div><section>deep text</section><p>after</p></div>");
    }

    #[test]
    fn a_hundred_thousand_levels_come_down_to_the_bound() {
        let n = 100_000;
        let page = format!("<body>{}x{}</body>", "<div>".repeat(n), "</div>".repeat(n));
        let bounded = bounded(&page, MAX_DEPTH);
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
        let page = "<div><STYLE>a > b { }</style><b><i>x</b></i></div><div>y</div>";
        assert!(matches!(bounded(page, 3), Cow::Borrowed(_)));
        let unmatched = format!("<div>{}<div><div>z</div></div></div>", "</span>".repeat(1000));
        assert_eq!(bounded(&unmatched, 2), format!("<div>{}<div>z</div></div>", "</span>".repeat(1000)));
    }
}
