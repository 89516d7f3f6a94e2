//! Product pages: what a shop wraps around a product (hidden menus and carts,
//! reviews, carousels of other products).

use dom_query::Document as Dom;

/// The ids of a product page's name (its first `<h1>`) and of every block around it;
/// `None` when the page has no `<h1>`.
fn product_name_line(dom: &Dom) -> Option<Vec<dom_query::NodeId>> {
    let name = *dom.select("body h1").nodes().first()?;
    Some(std::iter::once(name).chain(name.ancestors_it(None)).map(|n| n.id).collect())
}

/// Elements a shop's product page hides until asked (`hidden`, inline `display: none`):
/// the mini cart, account menus, mega menus, "sponsored" and "similar items" carousels.
/// One that holds the product's name (the first `<h1>`) stays: broken markup can leave
/// a hidden wrapper unclosed around the whole page. Only on product pages: elsewhere
/// hidden blocks are more often tabs and accordions of the content (measured on WCXB
/// dev: docs, collections and services lose, products gain).
pub(super) fn drop_hidden_blocks(dom: &Dom) {
    let name_line = product_name_line(dom).unwrap_or_default();
    let hidden = dom.select("body [hidden], body [style*=\"display:none\"], body [style*=\"display: none\"]");
    for node in hidden.nodes() {
        if !name_line.contains(&node.id) {
            node.remove_from_parent();
        }
    }
}

/// Class and id words of what a shop puts around a product: review widgets, carousels
/// and sliders of other products, "related", "recommended" and upsell rows.
const SHOP_EXTRAS: &[&str] =
    &["reviews", "carousel", "upsell", "upsells", "recommendations", "recommended", "crosssell", "accessories"];

/// Removes the [`SHOP_EXTRAS`] of a product page, for every answer (readability's and
/// the whole page's): they are most of a shop page's words and none of its product.
/// A block that holds the product's name (the first `<h1>`) or most of the page's
/// text stays: it is the product, whatever a theme calls it.
pub(super) fn drop_shop_extras(dom: &Dom) {
    let name_line = product_name_line(dom).unwrap_or_default();
    super::drop_named_blocks(dom, |node| super::named_with(node, SHOP_EXTRAS) && !name_line.contains(&node.id));
}
