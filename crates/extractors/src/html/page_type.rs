//! What kind of page an HTML document is (article, documentation, forum, product,
//! listing, collection, service, other), from signals that hold across sites: the
//! types a page declares (schema.org JSON-LD and microdata, Open Graph), the shape of
//! its address, and statistics of its DOM (repeated item structures, prices, posts,
//! code). The extractor takes each kind's content its own way (see `html.rs`).
//!
//! The evidence is weighed, not ruled on: each signal adds points to the kinds it
//! speaks for and the kind with the most points wins, so one misleading signal (a
//! WordPress service page that calls itself `og:type` article, a blog address on a
//! shop) is outvoted by the others. Weights were chosen on the tuning part of WCXB
//! dev only (`cargo xtask bench extract` prints the checking part beside it).

use dom_query::Document as Dom;
use serde_json::Value;

use ctxd_domain::model::PageType;

/// What the classifier reads off a page.
#[derive(Debug, Clone, Default)]
pub(crate) struct Signals {
    /// schema.org types the page declares (JSON-LD `@type`, microdata `itemtype`).
    pub declared: Vec<String>,
    /// JSON-LD `Product` entities: one is a product page, many a shop's list.
    pub products: usize,
    /// The page declares itself a product: JSON-LD typed `Product` at its top (alone,
    /// in a list or in `@graph`), microdata typed `schema.org/Product…`, or an
    /// `og:type` ending in product. Stricter than [`products`](Self::products), which
    /// also counts the products a page lists.
    pub declares_product: bool,
    /// The `description` of that JSON-LD `Product`: the shop's own words for it.
    pub product_description: Option<String>,
    /// The page declares itself an article: `og:type` article, or JSON-LD that names
    /// an article or blog post type anywhere (read as text, so a script that does not
    /// parse still counts).
    pub declares_article: bool,
    pub og_type: Option<String>,
    /// Visible characters (no whitespace) of the body.
    pub text_chars: usize,
    /// Characters inside `<pre>` and block `<code>`.
    pub code_chars: usize,
    pub code_blocks: usize,
    /// Prices shown on the page (a currency sign or code next to a number).
    pub prices: usize,
    /// The largest set of siblings built alike and named as posts, comments,
    /// replies or answers, each holding some text: a thread.
    pub posts: usize,
    /// The largest set of siblings built alike (same tag and class) that each hold
    /// a link: cards of a listing, rows of a table of contents, menu items.
    pub repeated_items: usize,
    /// The most items of such a set that show a price: a shop's product cards.
    pub priced_items: usize,
    /// Characters inside links over all characters, in hundredths.
    pub link_percent: usize,
    /// Words inside `<p>` elements: prose.
    pub paragraph_words: usize,
    /// "Add to cart" and its kin.
    pub buy_button: bool,
}

impl Signals {
    /// Reads the signals off `dom` (before anything is removed from it).
    pub(crate) fn read(dom: &Dom) -> Self {
        let mut signals = Self::default();
        for script in dom.select("script[type=\"application/ld+json\"]").iter() {
            let text = script.text();
            signals.declares_article |= ARTICLE_TYPES.iter().any(|t| text.contains(t));
            if let Ok(value) = serde_json::from_str::<Value>(text.trim()) {
                collect_types(&value, &mut signals.declared, &mut signals.products, 0);
                if let Some(product) = ld_product(&value) {
                    signals.declares_product = true;
                    let description = product.get("description").and_then(Value::as_str);
                    signals.product_description =
                        signals.product_description.take().or_else(|| description.map(str::to_owned));
                }
            }
        }
        for node in dom.select("[itemtype]").nodes() {
            let Some(itemtype) = node.attr("itemtype") else { continue };
            signals.declares_product |= itemtype.contains("schema.org/Product");
            if let Some(kind) = itemtype.rsplit('/').next() {
                signals.declared.push(kind.trim().to_owned());
            }
        }
        let og_type = dom.select_single("meta[property=\"og:type\"]").attr("content");
        let og_type = og_type.as_deref().map(str::trim);
        signals.declares_product |= og_type.is_some_and(|t| t.ends_with("product"));
        signals.declares_article |= og_type == Some("article");
        signals.og_type = og_type.map(str::to_ascii_lowercase).filter(|t| !t.is_empty());

        read_structure(dom, &mut signals);
        signals
    }

    fn declares(&self, kinds: &[&str]) -> bool {
        self.declared.iter().any(|d| kinds.iter().any(|k| d.eq_ignore_ascii_case(k)))
    }

    fn code_percent(&self) -> usize {
        self.code_chars * 100 / self.text_chars.max(1)
    }
}

/// JSON-LD types, quoted as they appear in a script, that make a page declare itself an
/// article ([`Signals::declares_article`]).
const ARTICLE_TYPES: &[&str] =
    &["\"NewsArticle\"", "\"BlogPosting\"", "\"Article\"", "\"ReportageNewsArticle\"", "\"TechArticle\""];

/// Whether class or id words name a post of a thread (`post`, `comment`, `reply`,
/// `answer`, `message`, and forum software's compounds like `postbody`).
fn names_a_post(names: &str) -> bool {
    names
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| POST_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)))
}

/// The words of [`names_a_post`], compared without regard to case (every page's
/// every block is asked, so no lower-cased copy is made).
const POST_WORDS: &[&str] = &[
    "post",
    "posts",
    "comment",
    "comments",
    "reply",
    "replies",
    "answer",
    "answers",
    "message",
    "postbody",
    "postcontent",
    "messagecontent",
    "commentbody",
];

/// Gathers `@type` names from JSON-LD, through `@graph`, lists and nested objects
/// (a `WebPage`'s `mainEntity`), counting `Product` entities.
fn collect_types(value: &Value, out: &mut Vec<String>, products: &mut usize, depth: usize) {
    if depth > 6 {
        return;
    }
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_types(v, out, products, depth + 1)),
        Value::Object(object) => {
            let kinds: Vec<&str> = match object.get("@type") {
                Some(Value::String(kind)) => vec![kind.as_str()],
                Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if kinds.iter().any(|k| matches!(*k, "Product" | "ProductGroup")) {
                *products += 1;
            }
            out.extend(kinds.iter().map(|k| (*k).to_owned()));
            for (key, nested) in object {
                // Who wrote or published a page says nothing of its kind.
                if !matches!(key.as_str(), "author" | "publisher" | "creator" | "brand" | "isPartOf" | "breadcrumb") {
                    collect_types(nested, out, products, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The JSON-LD object typed `Product` that `value` is, or holds in a list or in
/// `@graph` (not nested in another entity, as a list's items are).
fn ld_product(value: &Value) -> Option<&serde_json::Map<String, Value>> {
    match value {
        Value::Array(items) => items.iter().find_map(ld_product),
        Value::Object(object) => {
            let product = match object.get("@type") {
                Some(Value::String(kind)) => kind == "Product",
                Some(Value::Array(kinds)) => kinds.iter().any(|k| k.as_str() == Some("Product")),
                _ => false,
            };
            if product { Some(object) } else { object.get("@graph").and_then(ld_product) }
        }
        _ => None,
    }
}

/// Prices in `text`: a currency sign or code directly before or after a number.
fn count_prices(text: &str) -> usize {
    text.char_indices()
        .filter(|(i, c)| {
            matches!(c, '$' | '€' | '£' | '¥' | '₹') && {
                let after = text[i + c.len_utf8()..].chars().take(2).any(|c| c.is_ascii_digit());
                after || text[..*i].chars().rev().take(2).any(|c| c.is_ascii_digit())
            }
        })
        .count()
}

/// The page's visible text size and prices, and of the groups of element siblings
/// with the same tag and class: the largest whose members each contain a link and
/// some text, the most members of one that show a price, and the largest whose
/// members are named as posts.
fn read_structure(dom: &Dom, signals: &mut Signals) {
    let Some(body) = dom.body() else { return };
    let mut walk = Structure { signals, link_chars: 0, linked: 0, priced: 0, posts: 0, children: Vec::new() };
    walk.element(&body);
    let Structure { signals, link_chars, linked, priced, posts, .. } = walk;
    signals.link_percent = link_chars * 100 / signals.text_chars.max(1);
    (signals.repeated_items, signals.priced_items, signals.posts) = (linked, priced, posts);
}

/// What an element holds: its text size and words, whether a price shows in it and
/// whether it holds a link.
#[derive(Debug, Default, Clone, Copy)]
struct Inside {
    chars: usize,
    words: usize,
    price: bool,
    link: bool,
}

/// One walk over the body, children before parents, so each element's sums are whole
/// when it is met and no block's text is read twice. The recursion is as deep as the
/// page's nesting, which [`crate::prescan`] bounds.
struct Structure<'s, 'd> {
    signals: &'s mut Signals,
    link_chars: usize,
    /// The largest groups of like siblings: linked, priced and named as posts.
    linked: usize,
    priced: usize,
    posts: usize,
    /// The element children of the elements being walked, each element's after its
    /// parent's: one buffer for the walk rather than one per element.
    children: Vec<(dom_query::NodeRef<'d>, Inside)>,
}

impl<'d> Structure<'_, 'd> {
    fn element(&mut self, element: &dom_query::NodeRef<'d>) -> Inside {
        // A script's or a style's text is not read by anyone.
        let code = ["script", "style", "noscript", "template"].iter().any(|name| element.has_name(name));
        let mut sum = Inside::default();
        let first_child = self.children.len();
        let mut child = element.first_child();
        while let Some(node) = child {
            child = node.next_sibling();
            let inside = if node.is_text() {
                if code {
                    continue;
                }
                // Read in place: `NodeRef::text` would copy every text node.
                let (chars, prices, words) = super::sizes::text_of(&node, |text| {
                    (super::dense_chars(text), count_prices(text), text.split_whitespace().count())
                });
                self.signals.text_chars += chars;
                self.signals.prices += prices;
                Inside { chars, words, price: prices > 0, link: false }
            } else if node.is_element() {
                let inside = self.element(&node);
                self.children.push((node, inside));
                inside
            } else {
                continue;
            };
            sum.chars += inside.chars;
            sum.words += inside.words;
            sum.price |= inside.price;
            sum.link |= inside.link;
        }
        if element.has_name("a") {
            sum.link = true;
            self.link_chars += sum.chars;
        } else if element.has_name("pre") {
            self.signals.code_blocks += 1;
            self.signals.code_chars += sum.chars;
        } else if element.has_name("p") {
            self.signals.paragraph_words += sum.words;
        }
        if !self.signals.buy_button && is_buy_button(element) {
            self.signals.buy_button = true;
        }
        if self.children.len() - first_child >= 3 {
            self.weigh_groups(first_child);
        }
        self.children.truncate(first_child);
        sum
    }

    /// Groups an element's children (from `first` in [`Self::children`]) by tag and
    /// first class word and keeps the largest counts.
    fn weigh_groups(&mut self, first: usize) {
        #[derive(Default)]
        struct Group {
            linked: usize,
            priced: usize,
            posts: usize,
        }
        let mut groups: std::collections::HashMap<String, Group> = std::collections::HashMap::new();
        for (child, Inside { chars: size, price, link, .. }) in &self.children[first..] {
            if *size < 15 {
                continue;
            }
            let class = child.attr("class").unwrap_or_default();
            let signature = format!(
                "{}.{}",
                child.node_name().unwrap_or_default(),
                class.split_whitespace().next().unwrap_or_default()
            );
            let group = groups.entry(signature).or_default();
            if *link {
                group.linked += 1;
                if *price {
                    group.priced += 1;
                }
            }
            if *size >= 40 && (names_a_post(&class) || child.attr("id").is_some_and(|id| names_a_post(&id))) {
                group.posts += 1;
            }
        }
        for group in groups.values() {
            self.linked = self.linked.max(group.linked);
            self.priced = self.priced.max(group.priced);
            self.posts = self.posts.max(group.posts);
        }
    }
}

/// "Add to cart" and its kin on a button, a submit input or a cart link.
fn is_buy_button(element: &dom_query::NodeRef<'_>) -> bool {
    let candidate = element.has_name("button")
        || (element.has_name("input") && element.attr("type").is_some_and(|t| t.eq_ignore_ascii_case("submit")))
        || (element.has_name("a") && element.attr("class").is_some_and(|c| c.contains("cart")));
    if !candidate {
        return false;
    }
    let label = format!("{} {}", element.text(), element.attr("value").unwrap_or_default()).to_lowercase();
    ["add to cart", "add to bag", "add to basket", "buy now", "in den warenkorb", "ajouter au panier"]
        .iter()
        .any(|l| label.contains(l))
}

/// The kind of page `dom` (at `url`) is.
pub(crate) fn classify(signals: &Signals, url: Option<&str>) -> PageType {
    // A page with next to no text of its own and no declared kind (a sign-in form, a
    // script-rendered shell, an error page) is no article whatever its address says.
    if signals.text_chars < MIN_TEXT_CHARS && signals.declared.is_empty() && signals.og_type.is_none() {
        return PageType::Other;
    }
    let mut score = Scores::default();
    declared(signals, &mut score);
    address(url, &mut score);
    statistics(signals, &mut score);
    score.best()
}

/// Characters (no whitespace) under which a page has too little text to be any
/// kind of content page: about two short sentences.
const MIN_TEXT_CHARS: usize = 120;

#[derive(Debug, Default)]
struct Scores([i32; 8]);

impl Scores {
    fn add(&mut self, kind: PageType, points: i32) {
        self.0[index(kind)] += points;
    }

    /// The kind with the most points; article on a tie with it or when nothing spoke.
    fn best(&self) -> PageType {
        let mut best = PageType::Article;
        for kind in PageType::ALL {
            if self.0[index(*kind)] > self.0[index(best)] {
                best = *kind;
            }
        }
        best
    }
}

fn index(kind: PageType) -> usize {
    PageType::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// What the page says it is.
fn declared(s: &Signals, score: &mut Scores) {
    if s.declares(&["DiscussionForumPosting", "QAPage", "SocialMediaPosting"]) {
        score.add(PageType::Forum, 6);
    } else if s.declares(&["Question", "Answer"]) && !s.declares(&["FAQPage"]) {
        // An FAQ's questions and answers are the site's own, not a thread.
        score.add(PageType::Forum, 3);
    }
    if s.declares(&["TechArticle", "APIReference", "SoftwareSourceCode"]) {
        score.add(PageType::Documentation, 4);
    }
    let article =
        s.declares(&["NewsArticle", "BlogPosting", "Article", "ReportageNewsArticle", "Report", "ScholarlyArticle"]);
    if article {
        score.add(PageType::Article, 3);
    }
    if s.declares(&["CollectionPage", "OfferCatalog", "SearchResultsPage"]) {
        score.add(PageType::Collection, 3);
        score.add(PageType::Listing, 2);
    }
    if s.declares(&["ItemList"]) {
        score.add(PageType::Listing, 1);
        score.add(PageType::Collection, 1);
    }
    // Products inside an article are the ones it reviews.
    match s.products {
        0 => {}
        _ if article => {}
        1 | 2 => score.add(PageType::Product, 6),
        _ => score.add(PageType::Collection, 5),
    }
    if s.declares(&["Product"]) && s.products == 0 {
        // Microdata: one product's markup (several are a shop's cards).
        score.add(PageType::Product, 4);
    }
    if s.declares(&["Service", "ProfessionalService", "LocalBusiness", "FAQPage"]) {
        score.add(PageType::Service, 2);
    }
    match s.og_type.as_deref() {
        Some("article") => score.add(PageType::Article, 1),
        Some("product" | "og:product" | "product.item") => score.add(PageType::Product, 4),
        Some("product.group") => score.add(PageType::Collection, 4),
        _ => {}
    }
}

/// Words of the address that name a kind: a path segment (`/forum/`, `/docs/`,
/// `/products/`) or the host's first label (`community.`, `docs.`, `shop.`).
const ADDRESS_WORDS: &[(PageType, &[&str])] = &[
    (
        PageType::Forum,
        &[
            "forum",
            "forums",
            "community",
            "discuss",
            "discussion",
            "discussions",
            "thread",
            "threads",
            "topic",
            "topics",
            "t",
            "questions",
            "viewtopic.php",
            "showthread.php",
            "bbs",
        ],
    ),
    (
        PageType::Documentation,
        &[
            "docs",
            "doc",
            "documentation",
            "reference",
            "api",
            "manual",
            "guide",
            "guides",
            "tutorial",
            "tutorials",
            "wiki",
            "handbook",
            "man",
            "developer",
            "developers",
            "learn",
            "library",
        ],
    ),
    (PageType::Product, &["product", "products", "p", "dp", "item", "itm", "ip"]),
    (
        PageType::Collection,
        &["collections", "collection", "category", "categories", "c", "shop", "browse", "catalog", "store"],
    ),
    (PageType::Listing, &["search", "tag", "tags", "archive", "archives", "list", "directory", "events", "jobs"]),
    (PageType::Service, &["services", "service", "solutions", "solution", "pricing", "features", "about", "contact"]),
    (PageType::Article, &["blog", "news", "article", "articles", "post", "posts", "story", "stories", "opinion"]),
];

fn address(url: Option<&str>, score: &mut Scores) {
    let Some(url) = url.and_then(|u| url::Url::parse(u).ok()) else { return };
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let first_label = host.split('.').next().unwrap_or_default();
    let segments: Vec<String> =
        url.path_segments().map(|s| s.map(str::to_ascii_lowercase).collect()).unwrap_or_default();
    for (kind, words) in ADDRESS_WORDS {
        let in_host = host.split('.').count() > 2 && words.contains(&first_label);
        let in_path = segments.iter().any(|s| words.contains(&s.as_str()));
        if in_host || in_path {
            score.add(*kind, 2);
        }
    }
    // A site's front page or a section's index is rarely one article.
    let depth = segments.iter().filter(|s| !s.is_empty()).count();
    if depth == 0 {
        score.add(PageType::Service, 1);
    }
}

/// What the page's DOM looks like.
fn statistics(s: &Signals, score: &mut Scores) {
    if s.code_blocks >= 3 && s.code_percent() >= 10 {
        score.add(PageType::Documentation, 3);
    }
    if s.posts >= 3 {
        score.add(PageType::Forum, 3);
    }
    if s.buy_button && s.prices >= 1 && s.prices <= 6 {
        score.add(PageType::Product, 2);
    }
    if s.priced_items >= 6 {
        score.add(PageType::Collection, 4);
    }
    if s.repeated_items >= 10 && s.link_percent >= 30 && s.priced_items < 6 {
        score.add(PageType::Listing, 2);
    }
    if s.link_percent < 25 {
        match s.paragraph_words {
            1500.. => score.add(PageType::Article, 3),
            600.. => score.add(PageType::Article, 2),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
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
            .map(|i| {
                format!(r#"<div class="post"><p>Answer {i}: restarting the service fixed it for me too.</p></div>"#)
            })
            .collect();
        let page = format!("<html><body><h1>Service will not start</h1>{posts}</body></html>");
        assert_eq!(kind(&page, "https://community.example.org/t/service-will-not-start/812"), PageType::Forum);
        assert_eq!(kind(&page, "https://example.org/help/812"), PageType::Forum, "the posts alone");
    }

    #[test]
    fn an_faq_is_not_a_thread() {
        let ld = r#"<script type="application/ld+json">{"@type": "FAQPage", "mainEntity": [{"@type": "Question",
            "acceptedAnswer": {"@type": "Answer"}}]}</script>"#;
        let page = format!("<html><head>{ld}</head><body>{}</body></html>", prose(800));
        assert_eq!(kind(&page, "https://example.com/what-are-taxes"), PageType::Article);
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
        let code = "<pre><code>let client = Client::new(\"http://localhost:8080\");\nclient.sources().list().await?;</code></pre>";
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
        let declared =
            r#"<html><head><meta property="og:type" content="article"></head><body><p>Short.</p></body></html>"#;
        assert_eq!(kind(declared, "https://example.com/blog/post"), PageType::Article, "a declared kind stands");
    }

    #[test]
    fn a_long_declared_article_stays_an_article() {
        let ld = r#"<script type="application/ld+json">{"@type": "NewsArticle"}</script>"#;
        let page = format!("<html><head>{ld}</head><body><article>{}</article></body></html>", prose(2000));
        assert_eq!(kind(&page, "https://news.example.com/2026/12/03/budget"), PageType::Article);
    }
}
