//! Pages that React streams (Next.js's app router among them): the server first sends
//! the page's shell, with an empty `<template id="B:1">` where a part is still being
//! rendered, and then each finished part hidden at the end of the body (`<div hidden
//! id="S:1">`) with a script that moves it into place. No script runs here, so the
//! parts are moved as React's would move them; otherwise a page's whole content sits
//! in hidden blocks after its footer.

use std::collections::HashMap;

use dom_query::{Document as Dom, NodeData, NodeRef};

/// Whether `html` may hold streamed parts: the test that spares every other page the
/// walk below.
pub(super) fn may_stream(html: &str) -> bool {
    memchr::memmem::find(html.as_bytes(), b"id=\"S:").is_some()
}

/// Moves every streamed part (`[hidden]` with an id `S:<n>`) to its placeholder: the
/// template `B:<n>` of a suspense boundary, whose fallback (a spinner, a skeleton)
/// then goes, or the template `P:<n>` of a part streamed inside another. A part
/// whose placeholder is not on the page stays where it is, hidden.
///
/// 30 of WCXB's 1,358 pages stream. Measured on its tuning part: 0.8794 -> 0.8796
/// (stories whose body streamed, 0.51 -> 0.95 and 0.91 -> 1.00; one shop's product
/// page loses, 0.66 -> 0.20, because its streamed carousels of other products now make
/// it read as a collection); checking part 0.8555 -> 0.8557; ScrapingHub has none.
pub(super) fn place_parts(dom: &Dom) {
    let mut placeholders: HashMap<String, NodeRef<'_>> = HashMap::new();
    for template in dom.select("template[id]").nodes() {
        if let Some(id) = template.attr("id")
            && (id.starts_with("B:") || id.starts_with("P:"))
        {
            placeholders.insert(id.to_string(), *template);
        }
    }
    if placeholders.is_empty() {
        return;
    }
    // In page order, which is the order the scripts run in: a part may hold the
    // placeholder of a later one.
    for part in dom.select(r#"body [hidden][id^="S:"]"#).nodes() {
        let Some(id) = part.attr("id") else { continue };
        let number = &id[2..];
        let boundary = placeholders.get(&format!("B:{number}")).copied();
        let Some(placeholder) = boundary.or_else(|| placeholders.get(&format!("P:{number}")).copied()) else {
            continue;
        };
        if boundary.is_some() {
            drop_fallback(&placeholder);
        }
        if let Some(first) = part.first_child() {
            placeholder.insert_siblings_before(&first);
        }
        placeholder.remove_from_parent();
        part.remove_from_parent();
    }
}

/// Removes what a suspense boundary shows until its part arrives: the nodes between
/// its placeholder and React's closing `<!--/$-->` comment (boundaries nested in the
/// fallback open with `<!--$-->`, `<!--$?-->` or `<!--$!-->`). Nothing goes when the
/// closing comment is not there.
fn drop_fallback(placeholder: &NodeRef<'_>) {
    let mut fallback = Vec::new();
    let mut depth = 0usize;
    let mut next = placeholder.next_sibling();
    while let Some(node) = next {
        next = node.next_sibling();
        match comment(&node).as_deref() {
            Some("/$") if depth == 0 => {
                fallback.iter().for_each(NodeRef::remove_from_parent);
                return;
            }
            Some("/$") => depth -= 1,
            Some(text) if text.starts_with('$') => depth += 1,
            _ => {}
        }
        fallback.push(node);
    }
}

/// A comment node's text.
fn comment(node: &NodeRef<'_>) -> Option<String> {
    node.query(|inner| match &inner.data {
        NodeData::Comment { contents } => Some(contents.to_string()),
        _ => None,
    })
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_parts_take_their_placeholders_places_and_the_fallbacks_go() {
        let html = r#"<html><body><h1>Deploy</h1>
            <section id="how"><!--$?--><template id="B:1"></template><p>Loading…</p><!--/$--></section>
            <footer>Footer</footer>
            <div hidden id="S:1"><h2>Click, click, done.</h2><p>Connect a repo.</p><!--$?--><template id="P:2"></template><!--/$--></div>
            <div hidden id="S:2"><p>Render does the rest.</p></div>
            <div hidden id="S:3"><p>A part with no placeholder.</p></div></body></html>"#;
        assert!(may_stream(html));
        let dom = Dom::from(html);
        place_parts(&dom);
        let how = dom.select("#how").text();
        assert!(how.contains("Click, click, done.") && how.contains("Connect a repo."), "{how}");
        assert!(how.contains("Render does the rest."), "a part streamed inside another: {how}");
        assert!(!how.contains("Loading"), "the fallback goes: {how}");
        let body = dom.select("body").text();
        assert_eq!(body.matches("Click, click").count(), 1, "{body}");
        assert!(dom.select(r#"[id="S:3"][hidden]"#).exists(), "a part without its placeholder stays hidden");
        assert!(!may_stream("<html><body><p>Nothing streamed.</p></body></html>"));
    }

    #[test]
    fn a_fallback_without_its_closing_comment_is_left_alone() {
        let dom = Dom::from(
            r#"<body><div id="box"><template id="B:0"></template><p>Kept.</p></div><div hidden id="S:0"><p>Part.</p></div></body>"#,
        );
        place_parts(&dom);
        let text = dom.select("#box").text();
        assert!(text.contains("Part.") && text.contains("Kept."), "{text}");
    }
}
