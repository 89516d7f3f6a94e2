//! Markdown as HTML for the console's pages: contexts and content come from pages and
//! conversations ctxd does not control, so any HTML inside them is shown as text,
//! never interpreted, and links keep only web schemes.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// `markdown` as HTML safe to put in a page.
pub fn to_html(markdown: &str) -> String {
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|event| {
        match event {
            // Raw HTML becomes visible text.
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                Event::Start(Tag::Link { link_type, dest_url: safe_url(dest_url), title, id })
            }
            Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
                Event::Start(Tag::Image { link_type, dest_url: safe_url(dest_url), title, id })
            }
            other => other,
        }
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// `javascript:` and other schemes become an empty link.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    let allowed = lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("mailto:")
        || lower.starts_with('#')
        || lower.starts_with('/')
        || !lower.contains(':');
    if allowed { url } else { CowStr::Borrowed("") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_in_markdown_is_shown_not_run() {
        let html = to_html("# Title\n\n<script>alert(1)</script>\n\nText with <b>bold</b>.");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn only_web_links_stay_links() {
        let html = to_html("[ok](https://example.com) [bad](javascript:alert(1)) [rel](/sources/x)");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"/sources/x\""), "{html}");
    }
}
