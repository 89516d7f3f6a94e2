//! Product pages: the product a page declares (JSON-LD, microdata, Open Graph), the
//! block that holds its name and description, and what a shop wraps around it
//! (hidden menus and carts, reviews, carousels of other products).

use dom_query::Document as Dom;

/// The description a page gives of the product it declares (JSON-LD `Product`,
/// microdata `schema.org/Product` or `og:type` product): the JSON-LD or microdata
/// description, else the page's meta description, else empty. `None` on other pages.
pub(super) fn product_description(dom: &Dom) -> Option<String> {
    // One entry per JSON-LD product, with its description if it has one.
    let ld_products: Vec<Option<String>> = dom
        .select("script[type=\"application/ld+json\"]")
        .iter()
        .filter_map(|script| serde_json::from_str::<serde_json::Value>(script.text().trim()).ok())
        .filter_map(|value| {
            let product = ld_product(&value)?;
            Some(product.get("description").and_then(|d| d.as_str()).map(str::to_owned))
        })
        .collect();
    if let Some(text) = ld_products.iter().flatten().next() {
        return Some(text.clone());
    }
    let microdata = dom.select("[itemtype*=\"schema.org/Product\"]");
    let described = microdata.select("[itemprop=\"description\"]").first();
    if described.exists() {
        return Some(described.attr("content").map_or_else(|| described.text().to_string(), |c| c.to_string()));
    }
    let og_product =
        dom.select_single("meta[property=\"og:type\"]").attr("content").is_some_and(|t| t.trim().ends_with("product"));
    if !(og_product || microdata.exists() || !ld_products.is_empty()) {
        return None;
    }
    let meta = dom.select("meta[property=\"og:description\"], meta[name=\"description\"]");
    Some(meta.iter().find_map(|meta| meta.attr("content").map(|c| c.to_string())).unwrap_or_default())
}

/// The JSON-LD object typed `Product` in `value` (itself, in a list, or in `@graph`).
fn ld_product(value: &serde_json::Value) -> Option<&serde_json::Value> {
    match value {
        serde_json::Value::Array(items) => items.iter().find_map(ld_product),
        serde_json::Value::Object(object) => {
            let product = match object.get("@type") {
                Some(serde_json::Value::String(kind)) => kind == "Product",
                Some(serde_json::Value::Array(kinds)) => kinds.iter().any(|k| k.as_str() == Some("Product")),
                _ => false,
            };
            if product { Some(value) } else { object.get("@graph").and_then(ld_product) }
        }
        _ => None,
    }
}

/// Words of the description a block must contain to be taken as the product's own.
const DESCRIPTION_WORDS: usize = 6;

/// On a product page, the smallest block that holds both the page's first `<h1>` (the
/// product's name) and the start of its `description`: the product itself, without
/// the cards of other products, reviews widgets and shop furniture around it.
/// `None` when the description is not on the page or the block would be the whole
/// body. Measured on WCXB dev: 8 product pages change, product F1 0.494 -> 0.502
/// (0.52 -> 0.94 and 0.43 -> 0.65 on two of them; one falls, 0.18 -> 0.04), no other
/// page type changes.
pub(super) fn product_block<'a>(dom: &'a Dom, description: &str) -> Option<dom_query::NodeRef<'a>> {
    let squash = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let start: Vec<&str> = description.split_whitespace().take(DESCRIPTION_WORDS).collect();
    if start.len() < DESCRIPTION_WORDS {
        return None;
    }
    let start = squash(&start.join(" "));
    let name_line = product_name_line(dom)?;
    let described = dom
        .select("body p, body div, body span, body section, body li, body td")
        .nodes()
        .iter()
        .map(|node| (squash(&node.text()), node))
        .filter(|(text, _)| text.contains(&start))
        .min_by_key(|(text, _)| text.len())
        .map(|(_, node)| *node)?;
    let block = std::iter::once(described).chain(described.ancestors_it(None)).find(|n| name_line.contains(&n.id))?;
    (!block.node_name().is_some_and(|n| matches!(n.as_ref(), "body" | "html"))).then_some(block)
}

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
    super::drop_named_blocks(dom, SHOP_EXTRAS, |node| name_line.contains(&node.id));
}
