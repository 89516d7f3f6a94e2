//! The page-type classifier's cases: declared types, addresses, DOM statistics.

use super::*;

fn kind(html: &str, url: &str) -> PageType {
    classify(&Signals::read(&Dom::from(html)), Some(url))
}

fn prose(words: usize) -> String {
    let sentence = "The committee met again on Tuesday and argued about the budget for a long time. ";
    format!("<p>{}</p>", sentence.repeat(words / 16 + 1))
}

#[test]
fn a_thread_of_posts_is_a_forum_even_without_declared_types() {
    let posts: String = (0..5)
        .map(|i| format!(r#"<div class="post"><p>Answer {i}: restarting the service fixed it for me too.</p></div>"#))
        .collect();
    let page = format!("<html><body><h1>Service will not start</h1>{posts}</body></html>");
    assert_eq!(kind(&page, "https://community.example.org/t/service-will-not-start/812"), PageType::Forum);
    assert_eq!(kind(&page, "https://example.org/help/812"), PageType::Forum, "the posts alone");
}

#[test]
fn an_faq_is_not_a_thread() {
    let ld = r#"<script type="application/ld+json">{"@type": "FAQPage", "mainEntity": [{"@type": "Question",
        "acceptedAnswer": {"@type": "Answer"}}]}</script>"#;
    let page = format!("<html><head>{ld}</head><body>{}</body></html>", prose(2400));
    assert_eq!(kind(&page, "https://example.com/what-are-taxes"), PageType::Article);
}

#[test]
fn a_front_page_of_a_thousand_words_of_prose_is_a_service_page_and_of_a_story_length_an_article() {
    let page = |words: usize| format!("<html><body><h1>Pest control</h1>{}</body></html>", prose(words));
    assert_eq!(kind(&page(1000), "https://example.com/"), PageType::Service);
    assert_eq!(kind(&page(2400), "https://example.com/"), PageType::Article);
}

#[test]
fn one_declared_product_with_a_price_is_a_product_and_many_priced_cards_a_collection() {
    let ld = r#"<script type="application/ld+json">{"@type": "Product", "name": "Mug",
        "offers": {"@type": "Offer", "price": "18.00"}}</script>"#;
    let product =
        format!("<html><head>{ld}</head><body><h1>Mug</h1><p>$18.00</p><button>Add to cart</button></body></html>");
    assert_eq!(kind(&product, "https://shop.example.com/products/mug"), PageType::Product);

    let cards: String = (0..12)
        .map(|i| format!(r#"<li class="card"><a href="/p/{i}">Stoneware mug {i}</a> <span>${i}.99</span></li>"#))
        .collect();
    let shop = format!("<html><body><h1>Mugs</h1><ul>{cards}</ul></body></html>");
    assert_eq!(kind(&shop, "https://example.com/mugs"), PageType::Collection);
}

#[test]
fn a_page_a_documentation_tool_built_is_documentation_and_a_blog_engines_is_not() {
    let page = |generator: &str| {
        format!(
            "<html><head><meta name=\"generator\" content=\"{generator}\"></head><body><h1>Runtime</h1>{}</body></html>",
            prose(700)
        )
    };
    assert_eq!(kind(&page("rustdoc"), "https://docs.rs/tokio/latest/tokio/runtime/"), PageType::Documentation);
    assert_eq!(
        kind(&page("Docutils 0.21.2: https://docutils.sourceforge.io/"), "https://x.dev/a/"),
        PageType::Documentation
    );
    assert_eq!(kind(&page("WordPress 6.7"), "https://docs.rs/tokio/latest/tokio/runtime/"), PageType::Article);
}

#[test]
fn products_an_article_reviews_do_not_make_it_a_shop() {
    let items: String = (0..5).map(|i| format!(r#"{{"@type": "Product", "name": "Blender {i}"}},"#)).collect();
    let ld = format!(
        r#"<script type="application/ld+json">[{items} {{"@type": "NewsArticle", "headline": "Best blenders"}}]</script>"#
    );
    let page = format!("<html><head>{ld}</head><body>{}</body></html>", prose(900));
    assert_eq!(kind(&page, "https://magazine.example.com/best-blenders-2026/"), PageType::Article);
}

#[test]
fn a_page_declares_a_product_by_its_own_type_not_by_the_products_it_lists() {
    let declares = |head: &str, body: &str| {
        let page = format!("<html><head>{head}</head><body>{body}</body></html>");
        Signals::read(&Dom::from(page.as_str())).declares_product
    };
    let ld = |json: &str| format!(r#"<script type="application/ld+json">{json}</script>"#);
    assert!(declares(&ld(r#"{"@type": "Product", "name": "Mug"}"#), ""));
    assert!(declares(&ld(r#"{"@graph": [{"@type": "WebPage"}, {"@type": ["Product", "Thing"]}]}"#), ""));
    assert!(declares(r#"<meta property="og:type" content=" og:product ">"#, ""));
    assert!(declares("", r#"<div itemscope itemtype="https://schema.org/Product"><h1>Mug</h1></div>"#));
    let list = r#"{"@type": "ItemList", "itemListElement": [{"@type": "Product", "name": "Mug"}]}"#;
    assert!(!declares(&ld(list), ""), "a list of products is not one");
    assert!(!declares(r#"<meta property="og:type" content="article">"#, "<h1>Mug</h1>"));
}

#[test]
fn a_page_declares_an_article_by_open_graph_or_a_json_ld_type_even_in_a_broken_script() {
    let declares = |head: &str| {
        let page = format!("<html><head>{head}</head><body><p>Text.</p></body></html>");
        Signals::read(&Dom::from(page.as_str())).declares_article
    };
    assert!(declares(r#"<meta property="og:type" content=" article">"#));
    assert!(declares(r#"<script type="application/ld+json">{"@type": "BlogPosting", "headline": </script>"#));
    assert!(!declares(r#"<meta property="og:type" content="website">"#));
    assert!(!declares(r#"<script type="application/ld+json">{"@type": "ArticleList"}</script>"#));
}

#[test]
fn code_heavy_pages_under_docs_are_documentation() {
    let code =
        "<pre><code>let client = Client::new(\"http://localhost:8080\");\nclient.sources().list().await?;</code></pre>";
    let page = format!("<html><body><h1>Client</h1><p>Create a client.</p>{}</body></html>", code.repeat(4));
    assert_eq!(kind(&page, "https://docs.example.dev/client/"), PageType::Documentation);
}

#[test]
fn many_linked_items_without_prices_are_a_listing() {
    let items: String = (0..15)
        .map(|i| format!(r#"<div class="teaser"><a href="/news/{i}">Story number {i} about the harbour</a></div>"#))
        .collect();
    let page = format!("<html><body><h1>Latest</h1>{items}</body></html>");
    assert_eq!(kind(&page, "https://example.com/tag/harbour"), PageType::Listing);
}

#[test]
fn a_page_with_next_to_no_text_is_other() {
    let shell = r#"<html><body><div id="root"></div><noscript>Enable JavaScript to use this app, please.</noscript>
        <script>window.app = {"route": "/blog/post"};</script></body></html>"#;
    assert_eq!(kind(shell, "https://example.com/blog/post"), PageType::Other);
    let declared = r#"<html><head><meta property="og:type" content="article"></head><body><p>Short.</p></body></html>"#;
    assert_eq!(kind(declared, "https://example.com/blog/post"), PageType::Article, "a declared kind stands");
}

#[test]
fn a_long_declared_article_stays_an_article() {
    let ld = r#"<script type="application/ld+json">{"@type": "NewsArticle"}</script>"#;
    let page = format!("<html><head>{ld}</head><body><article>{}</article></body></html>", prose(2000));
    assert_eq!(kind(&page, "https://news.example.com/2026/12/03/budget"), PageType::Article);
}
