//! Tab panels a reader opens with one click: a documentation page's install steps for
//! each operating system, a code sample in each language. The page hides every panel
//! but the first (`hidden`, `aria-hidden`, an inline `display: none`), and
//! readability, like a browser, skips what is hidden; but on a documentation page the
//! hidden panels are as much the content as the shown one, and a reader's context
//! wants every one of them. Elsewhere they are as often a shop's or a service's
//! extras, so [`super::gather`] shows them on documentation pages only.

use dom_query::{Document as Dom, NodeRef};

/// Shows every tab panel of the body (ARIA's `role="tabpanel"`, which the tab
/// widgets of documentation frameworks and shops declare): drops what hides it.
///
/// Only the panel is shown, not what it holds: a hidden element within a panel is
/// hidden whichever tab is open. A panel within a hidden block, a dialog or a popover
/// (a forum's prompt on enabling notifications in each browser) stays hidden: the
/// reader opens that block first, and it is not the page's.
pub(super) fn show_tab_panels(dom: &Dom) {
    for panel in dom.select(r#"body [role="tabpanel"]"#).nodes() {
        if !panel.ancestors_it(None).any(|ancestor| hides_what_it_holds(&ancestor)) {
            show(panel);
        }
    }
}

/// Whether `node` keeps what it holds from a reader until asked: it is hidden, or a
/// dialog or popover.
fn hides_what_it_holds(node: &NodeRef<'_>) -> bool {
    node.is_element()
        && (node.has_attr("hidden")
            || node.has_attr("popover")
            || node.has_name("dialog")
            || node.attr("role").is_some_and(|role| role.eq_ignore_ascii_case("dialog"))
            || aria_hidden(node)
            || node.attr("style").is_some_and(|style| hides(&style)))
}

/// Drops what hides `node` itself.
fn show(node: &NodeRef<'_>) {
    node.remove_attr("hidden");
    if aria_hidden(node) {
        node.remove_attr("aria-hidden");
    }
    if let Some(style) = node.attr("style").filter(|style| hides(style)) {
        let shown: Vec<&str> = style.split(';').filter(|declaration| !hides(declaration)).collect();
        node.set_attr("style", &shown.join(";"));
    }
}

/// Whether `node` is hidden from assistive technology (`aria-hidden="true"`), which
/// readability takes as hidden from every reader.
fn aria_hidden(node: &NodeRef<'_>) -> bool {
    node.attr("aria-hidden").is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
}

/// Whether a style attribute (or one declaration of it) hides its element:
/// `display: none` or `visibility: hidden`, in any case and spacing.
fn hides(style: &str) -> bool {
    let compact: String = style.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    compact.contains("display:none") || compact.contains("visibility:hidden")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_tab_panels_are_shown_and_other_hidden_blocks_stay_hidden() {
        let dom = Dom::from(
            r#"<body><div role="tablist"><a role="tab">Windows</a><a role="tab">Linux</a></div>
            <section role="tabpanel" id="win"><p>winget install func</p></section>
            <section role="tabpanel" id="linux" hidden aria-hidden="true"><p>apt-get install func</p></section>
            <section role="tabpanel" id="mac" style="color: red; display : NONE"><p>brew install func</p></section>
            <div role="tabpanel" id="inner"><p hidden>still hidden</p></div>
            <div id="menu" hidden><p>A menu.</p></div>
            <div popover id="prompt"><div role="tabpanel" id="safari" hidden><p>Allow alerts.</p></div></div></body>"#,
        );
        show_tab_panels(&dom);
        let linux = dom.select("#linux");
        assert!(!linux.has_attr("hidden") && !linux.has_attr("aria-hidden"), "the hidden panel is shown");
        let style = dom.select("#mac").attr("style").unwrap_or_default().to_string();
        assert!(
            !hides(&style) && style.contains("color"),
            "display: none goes and the rest of the style stays: {style}"
        );
        assert!(dom.select("#inner p").has_attr("hidden"), "what a panel hides stays hidden");
        assert!(dom.select("#menu").has_attr("hidden"), "a hidden block that is no tab panel stays hidden");
        assert!(dom.select("#safari").has_attr("hidden"), "a panel within a popover stays hidden");
    }
}
