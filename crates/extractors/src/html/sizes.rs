//! How much text, and how much link text, every element of a subtree holds, read in
//! one walk: asking each block for its text instead re-reads a page's text once per
//! level of nesting, and pages nest twenty `<div>`s deep.

use dom_query::{Document as Dom, NodeData, NodeRef};

/// What an element holds, summed over everything inside it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sizes {
    /// Characters other than whitespace ([`super::dense_chars`]).
    pub chars: usize,
    /// `<a>` elements.
    pub links: usize,
    /// Characters other than whitespace inside those `<a>` elements.
    pub link_chars: usize,
}

/// The sizes of `root`, calling `visit` for `root` and every element under it once
/// its sizes are whole (children before parents). The recursion is as deep as the
/// page's nesting, which [`crate::prescan`] bounds before a page is parsed.
pub(super) fn walk<'a>(root: &NodeRef<'a>, visit: &mut impl FnMut(&NodeRef<'a>, Sizes)) -> Sizes {
    if root.is_text() {
        return Sizes { chars: text_of(root, super::dense_chars), ..Sizes::default() };
    }
    if !root.is_element() && !root.is_document() {
        return Sizes::default();
    }
    let mut sizes = Sizes::default();
    let mut child = root.first_child();
    while let Some(node) = child {
        let inner = walk(&node, visit);
        sizes.chars += inner.chars;
        sizes.links += inner.links;
        sizes.link_chars += inner.link_chars;
        child = node.next_sibling();
    }
    if root.has_name("a") {
        sizes.links += 1;
        sizes.link_chars += sizes.chars;
    }
    if root.is_element() {
        visit(root, sizes);
    }
    sizes
}

/// The sizes of `dom`'s body, and the elements under it (the body aside) that `wanted`
/// picks with their own sizes, children before parents: what a pass that drops some
/// blocks unless they hold most of the page reads. `None` for a page without a body.
pub(super) fn of_body<'a>(
    dom: &'a Dom,
    wanted: impl Fn(&NodeRef<'a>) -> bool,
) -> Option<(Sizes, Vec<(NodeRef<'a>, Sizes)>)> {
    let body = dom.body()?;
    let mut picked = Vec::new();
    let page = walk(&body, &mut |node, sizes| {
        if node.id != body.id && wanted(node) {
            picked.push((*node, sizes));
        }
    });
    Some((page, picked))
}

/// `measure` of a text node's text, read in place: `NodeRef::text` copies it.
pub(super) fn text_of<T: Default>(node: &NodeRef<'_>, measure: impl FnOnce(&str) -> T) -> T {
    node.query(|inner| match &inner.data {
        NodeData::Text { contents } => measure(contents),
        _ => T::default(),
    })
    .unwrap_or_default()
}

/// At least as many words as a reader can see under `root`: the words of its text
/// nodes outside scripts, styles and templates, each node counted on its own (a word
/// split by a tag counts twice, so the figure never falls short). What any answer
/// read off the page holds is no more than this.
pub(super) fn words_at_most(root: &NodeRef<'_>) -> usize {
    if root.is_text() {
        return text_of(root, |text| text.split_whitespace().count());
    }
    let hidden = ["script", "style", "noscript", "template"].iter().any(|name| root.has_name(name));
    if hidden || !(root.is_element() || root.is_document()) {
        return 0;
    }
    let mut words = 0;
    let mut child = root.first_child();
    while let Some(node) = child {
        words += words_at_most(&node);
        child = node.next_sibling();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use dom_query::Document as Dom;

    fn sizes_by_id(html: &str) -> Vec<(String, Sizes)> {
        let dom = Dom::from(html);
        let body = dom.body().expect("a body");
        let mut seen = Vec::new();
        walk(&body, &mut |node, sizes| {
            if let Some(id) = node.attr("id") {
                seen.push((id.to_string(), sizes));
            }
        });
        seen
    }

    #[test]
    fn every_element_counts_the_text_and_links_under_it_children_first() {
        let seen = sizes_by_id(
            r#"<body><div id="outer">ab c <ul id="list"><li id="one"><a href="/1">one</a> x</li>
               <li><a href="/2">two two</a></li></ul></div></body>"#,
        );
        let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["one", "list", "outer"], "children are visited before their parents");
        assert_eq!(seen[0].1, Sizes { chars: 4, links: 1, link_chars: 3 });
        assert_eq!(seen[1].1, Sizes { chars: 10, links: 2, link_chars: 9 });
        assert_eq!(seen[2].1, Sizes { chars: 13, links: 2, link_chars: 9 });
    }

    #[test]
    fn words_at_most_counts_what_a_reader_sees_and_never_less() {
        let dom = Dom::from(
            "<body><p>one two <b>thr</b>ee</p><script>var a = 1 + 2;</script><style>p { x: y }</style>four</body>",
        );
        let body = dom.body().expect("a body");
        assert_eq!(words_at_most(&body), 5, "a word split by a tag counts twice; scripts and styles not at all");
    }

    #[test]
    fn the_sizes_match_each_blocks_own_text() {
        let html = r#"<body><section id="s"><div id="d"> a <p id="p">b  c<br>d</p><!-- no --></div>e</section></body>"#;
        let dom = Dom::from(html);
        for (id, sizes) in sizes_by_id(html) {
            let text = dom.select(&format!("#{id}")).text();
            assert_eq!(sizes.chars, super::super::dense_chars(&text), "#{id}");
        }
    }
}
