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
/// and sliders of other products, "related", "recommended" and upsell rows, and the
/// legal notices under it (a game's licence terms and ratings boilerplate on Steam
/// and EA's store: tuning part of WCXB dev 0.8844 -> 0.8849, five product pages gain,
/// a Steam game 0.59 -> 0.86, none loses; no checking page holds one). `faq`,
/// `shipping`, `warranty` and `questions` lost on a part.
const SHOP_EXTRAS: &[&str] = &[
    "reviews",
    "carousel",
    "upsell",
    "upsells",
    "recommendations",
    "recommended",
    "crosssell",
    "accessories",
    "legal",
];

/// Removes the [`SHOP_EXTRAS`] of a product page, for every answer (readability's and
/// the whole page's): they are most of a shop page's words and none of its product.
/// A block that holds the product's name (the first `<h1>`) or most of the page's
/// text stays: it is the product, whatever a theme calls it.
pub(super) fn drop_shop_extras(dom: &Dom) {
    let name_line = product_name_line(dom).unwrap_or_default();
    super::drop_named_blocks(dom, |node| super::named_with(node, SHOP_EXTRAS) && !name_line.contains(&node.id));
}

/// Words a declared description must hold to be added to an answer ("Soft cotton tee"
/// is a tagline, not a description).
const MIN_DESCRIPTION_WORDS: usize = 10;

/// `body` with the product's declared description (JSON-LD `Product.description`) at
/// its top when the answer leaves most of it out: a shop that renders its
/// description with scripts, or keeps it in a tab the page never draws, still
/// declares it for search engines, and it is the part of a product page a reader
/// wants most. Markup in the description is read as text. Chosen on the tuning part
/// of WCXB dev (+0.0009: three pages, a T-shirt's description and care list 0.13 ->
/// 0.74); checking part +0.0002 (one page).
pub(super) fn with_description(body: &str, description: &str) -> String {
    let text = if description.contains('<') {
        Dom::from(format!("<body>{description}</body>")).select("body").text().to_string()
    } else {
        description.to_owned()
    };
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let words: Vec<String> = lines.iter().flat_map(|line| lower_words(line)).collect();
    if words.len() < MIN_DESCRIPTION_WORDS {
        return body.to_owned();
    }
    let shown: std::collections::HashSet<String> = lower_words(&crate::markdown::plain_text(body)).collect();
    let missing = words.iter().filter(|word| !shown.contains(*word)).count();
    if missing * 2 <= words.len() {
        return body.to_owned();
    }
    format!("{}\n\n{body}", lines.join("\n\n"))
}

/// The words of `text` in lower case (letters and digits; the rest separates them).
fn lower_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESCRIPTION: &str =
        "Our lightest training tee, cut slim, with sweat-wicking fabric and flat seams that never rub.";

    #[test]
    fn a_description_the_answer_leaves_out_goes_on_top() {
        let body = "Size\n\n- S\n- M\n- L\n\n$22\n";
        assert_eq!(with_description(body, DESCRIPTION), format!("{DESCRIPTION}\n\n{body}"));
    }

    #[test]
    fn a_description_the_answer_already_holds_or_a_tagline_is_not_added() {
        let body = format!("# Training tee\n\n{DESCRIPTION}\n\n$22\n");
        assert_eq!(with_description(&body, DESCRIPTION), body);
        assert_eq!(with_description("$22\n", "Soft cotton tee"), "$22\n");
    }

    #[test]
    fn markup_in_a_description_is_read_as_text() {
        let marked = "<p><strong>MADE TO MOVE</strong></p><p>Our lightest training tee, cut slim, with flat seams.</p>";
        let with = with_description("$22\n", marked);
        assert!(with.starts_with("MADE TO MOVE"), "{with}");
        assert!(with.contains("Our lightest training tee") && !with.contains('<'), "{with}");
    }

    #[test]
    fn a_product_page_whose_description_is_only_declared_gets_it() {
        let page = format!(
            r#"<html><head><script type="application/ld+json">
            {{"@context":"https://schema.org","@type":"Product","name":"Training tee",
              "description":"{DESCRIPTION}","offers":{{"price":"22.00","priceCurrency":"USD"}}}}
            </script></head><body><h1>Training tee</h1><p>$22</p>
            <button>Add to cart</button><div id="app-description"></div></body></html>"#
        );
        let extracted = super::super::extract(&page, Some("https://shop.example.com/products/training-tee"));
        assert_eq!(extracted.page_type, ctxd_domain::model::PageType::Product);
        assert!(extracted.markdown.contains(DESCRIPTION), "{}", extracted.markdown);
    }

    #[test]
    fn a_product_description_in_a_clipped_tailwind_box_is_kept() {
        // Enough text that readability keeps weighing names (it reads a short page
        // again without them) and that its answer stands beside the whole page's.
        let features: String = (1..=8)
            .map(|n| {
                format!("<p>Feature {n}: the mat holds every screw of a repair in its place, and washes clean.</p>")
            })
            .collect();
        let page = format!(
            r#"<html><head><script type="application/ld+json">
            {{"@context":"https://schema.org","@type":"Product","name":"Project mat",
              "offers":{{"price":"29.99","priceCurrency":"USD"}}}}
            </script></head><body><main><h1>Project mat</h1><p>$29.99</p><button>Add to cart</button>
            <div class="product-info">{features}
            <div class="grid overflow-hidden"><h2>Specifications</h2><p>Size: 8 by 10 inches, weight 200 grams.</p></div>
            </div></main></body></html>"#
        );
        let extracted = super::super::extract(&page, Some("https://shop.example.com/products/project-mat"));
        assert_eq!(extracted.page_type, ctxd_domain::model::PageType::Product);
        assert!(extracted.markdown.contains("Size: 8 by 10 inches"), "{}", extracted.markdown);
    }

    #[test]
    fn a_product_pages_reviews_and_legal_notices_go() {
        let dom = Dom::from(
            r#"<body><h1>Red Ridge</h1><div class="game_description"><p>Ride across a frontier of outlaws.</p></div>
            <div id="game_area_legal"><p>Software license terms apply.</p></div>
            <section class="product-reviews"><p>Five stars.</p></section></body>"#,
        );
        drop_shop_extras(&dom);
        let text = dom.select("body").text();
        assert!(text.contains("Red Ridge") && text.contains("frontier of outlaws"), "{text}");
        assert!(!text.contains("license terms") && !text.contains("Five stars"), "{text}");
    }
}
