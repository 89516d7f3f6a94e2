//! Tests of main-content extraction on small pages written for each rule.

use super::*;

mod choice;
mod docs;

const ARTICLE: &str = r#"<!doctype html><html><head><title>Deploying ctxd | Example Blog</title></head>
<body>
<nav><a href="/">Home</a> <a href="/about">About</a> <a href="/login">Login</a></nav>
<article>
<h1>Deploying ctxd</h1>
<p>This guide explains how to deploy ctxd behind a reverse proxy. It covers the configuration,
the database and the workers in enough detail that a reader can follow it from start to end.</p>
<h2>Configuration</h2>
<p>Set the listen address and the database URL. The service reads them from the environment
and from a configuration file, and flags beat both of them.</p>
<ul><li>CTXD_LISTEN</li><li>DATABASE_URL</li></ul>
<pre><code class="lang-bash">ctxd serve --listen 0.0.0.0:8080</code></pre>
<table><tr><th>Setting</th><th>Default</th></tr><tr><td>workers</td><td>4</td></tr></table>
<p>See <a href="/docs/config">the configuration reference</a> for every setting.</p>
</article>
<footer>Copyright 2026 Example Blog. All rights reserved.</footer>
</body></html>"#;

/// The whole-page answer for `html` read as a `page_type`, with the product flag read
/// off the page as [`gather`] reads it.
fn whole_page(html: impl AsRef<str>, page_type: PageType) -> String {
    let dom = Dom::from(html.as_ref());
    let product = page_type::Signals::read(&dom).declares_product;
    visible_markdown(&dom, Known { url: None, page_type, product }, Scope::Body).unwrap_or_default()
}

#[test]
fn code_drawn_one_element_per_line_keeps_its_lines() {
    let line = |code: &str| format!(r#"<div class="cm-line">{code}<br/></div>"#);
    let lines = ["<span class=\"k\">function</span> MyButton() {", "  return 1;", "}"].map(line).concat();
    // CSS-in-JS styles and a gutter of line numbers inside the block are not code.
    let lines = format!(
        r#"<style>.x{{color:red}}</style><span class="line-number">1</span><span style="user-select: none">2</span>{lines}"#
    );
    let page = ARTICLE.replace(
        r#"<pre><code class="lang-bash">ctxd serve --listen 0.0.0.0:8080</code></pre>"#,
        &format!(r#"<pre class="sp-javascript"><code class="language-js">{lines}</code></pre>"#),
    );
    let md = extract(&page, None).markdown;
    assert!(md.contains("```js\nfunction MyButton() {\n  return 1;\n}\n```"), "{md}");
}

#[test]
fn the_article_is_kept_and_the_page_chrome_dropped() {
    let out = extract(ARTICLE, Some("https://blog.example.com/posts/deploy"));
    assert_eq!(out.title.as_deref(), Some("Deploying ctxd | Example Blog"));
    let md = &out.markdown;
    assert!(md.contains("## Configuration"), "{md}");
    assert!(md.contains("- CTXD\\_LISTEN"), "markdown escapes: {md}");
    assert!(md.contains("```bash\nctxd serve --listen 0.0.0.0:8080\n```"), "{md}");
    assert!(md.contains("| Setting | Default |"), "{md}");
    assert!(md.contains("(https://blog.example.com/docs/config)"), "relative links are made absolute: {md}");
    assert!(!md.contains("Login"), "navigation is dropped: {md}");
    assert!(!md.contains("All rights reserved"), "the footer is dropped: {md}");
}

#[test]
fn a_site_header_is_never_content_but_an_articles_own_header_is() {
    // A shop's mega-menu sits in the page's header, beside the product list that is
    // the content; the article page below keeps the header of its own article.
    let menu: String = (0..40)
        .map(|i| {
            format!("<li><a href=\"/c/{i}\">Camping gear section {i}</a> <span>new arrivals and deals</span></li>")
        })
        .collect();
    let cards: String = (0..12)
        .map(|i| {
            format!(
                "<div class=\"card\"><p>Climbing shoe model {i}, a neutral slip-lasted shoe for long days on \
                 granite. Save 25% compared to the list price; 111 reviews with an average rating of 4.5.</p></div>"
            )
        })
        .collect();
    let shop = format!(
        "<html><head><title>Climbing shoes</title></head><body><div class=\"wrap\"><header><ul>{menu}</ul>\
         <p>Sign in for the best experience: speedier checkout and easier order tracking for members.</p></header>\
         {cards}<footer><p>Questions? Call us any day of the week.</p></footer>\
         </div></body></html>"
    );
    let md = extract(&shop, None).markdown;
    assert!(md.contains("Climbing shoe model 11"), "{md}");
    assert!(!md.contains("Camping gear section"), "the site's menu is not content: {md}");
    assert!(!md.contains("Sign in for the best experience"), "{md}");

    let article = ARTICLE.replace(
        "<article>\n<h1>Deploying ctxd</h1>",
        "<article>\n<header><h1>Deploying ctxd</h1><p>Written for operators who run ctxd on their own machines.</p></header>",
    );
    let md = extract(&article, None).markdown;
    assert!(md.contains("Written for operators"), "the article's own header stays: {md}");
}

#[test]
fn a_templates_unfilled_sample_text_is_not_content() {
    let sample = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.";
    let html = ARTICLE.replace(
        "<h2>Configuration</h2>",
        &format!("<section><h3>Lorem Ipsum</h3><p>{sample}</p><ul><li>Lorem ipsum 1</li></ul></section><h2>Configuration</h2>"),
    );
    let markdown = extract(&html, Some("https://example.com/deploy")).markdown;
    assert!(!markdown.to_lowercase().contains("lorem"), "{markdown}");
    assert!(markdown.contains("reverse proxy") && markdown.contains("## Configuration"), "{markdown}");
}

#[test]
fn a_page_without_a_main_block_falls_back_to_its_visible_text() {
    let html = "<html><body><nav>Menu</nav><p>Short note.</p><script>var x = 1;</script></body></html>";
    let out = extract(html, None);
    assert_eq!(out.markdown, "Short note.\n");
    assert_eq!(out.title, None);
}

#[test]
fn a_frame_named_like_chrome_that_holds_the_page_is_kept_but_real_chrome_goes() {
    let html = r#"<html><body><div class="page_frame with_header">
        <div class="site-header"><a href="/">Store</a> <a href="/cart">Cart</a></div>
        <div class="description"><p>Short blurb.</p><ul><li>Forage wild fruits.</li>
        <li>Hunt animals for pelts.</li></ul></div></div></body></html>"#;
    let md = extract(html, None).markdown;
    assert!(md.contains("Short blurb.") && md.contains("- Hunt animals for pelts."), "{md}");
    assert!(!md.contains("Cart"), "the header inside the frame is still dropped: {md}");
}

#[test]
fn a_page_wrapped_in_one_form_is_read_but_a_form_beside_the_content_is_not() {
    let items: String = (1..=6)
        .map(|i| format!("<div class=\"item\"><h3>Laser projector model {i}</h3><p>Manufacturer: Brand {i}. Price: ${i},499.00</p></div>"))
        .collect();
    // ASP.NET WebForms wraps every page in one form.
    let wrapped = format!(
        r#"<html><body><form id="MainForm" method="post"><input type="hidden" name="__VIEWSTATE" value="dDwtMTA4"/>
        <h1>Native 4K projectors</h1>{items}</form></body></html>"#
    );
    let md = whole_page(&wrapped, PageType::Collection);
    assert!(md.contains("Laser projector model 6") && md.contains("Price: $6,499.00"), "{md}");
    assert!(!md.contains("dDwtMTA4"), "the form's controls still go: {md}");
    let login = r#"<form action="/login"><p>Sign in to keep your wish list across every device you use.</p>
        <input name="user"/><p>Forgot your password? Reset it from the account settings page.</p></form>"#;
    let beside = format!("<html><body><h1>Native 4K projectors</h1>{items}{login}</body></html>");
    let md = whole_page(&beside, PageType::Collection);
    assert!(md.contains("Laser projector model 6"), "{md}");
    assert!(!md.contains("wish list") && !md.contains("Forgot"), "a form beside the content is chrome: {md}");
}

#[test]
fn a_header_named_for_a_card_is_content_and_one_named_for_the_site_is_not() {
    let cards: String = (1..=6)
        .map(|i| {
            format!(
                r#"<li class="card"><div class="rf-ccard-content-header"><h3>Phone model {i}</h3>
                <p>From ${i}99 or ${i}.50 a month for a year.</p></div></li>"#
            )
        })
        .collect();
    let chrome = r#"<div class="global-header"><p>Free delivery and returns on every order this week.</p></div>
        <div id="main-header-container"><p>Sign in for saved bags and faster checkout.</p></div>"#;
    let page = format!("<html><body>{chrome}<h1>Shop phones</h1><ul>{cards}</ul></body></html>");
    let md = whole_page(&page, PageType::Collection);
    assert!(md.contains("Phone model 6") && md.contains("From $699"), "a card's header is the card: {md}");
    assert!(!md.contains("Free delivery") && !md.contains("Sign in"), "the site's headers go: {md}");
    for (name, site) in [("site-header", true), ("header", true), ("comment-header", false)] {
        let dom = Dom::from(format!(r#"<div class="x {name}">y</div>"#).as_str());
        let node = dom.select_single("div").nodes()[0];
        assert_eq!(furniture::names_site_header(&node), site, "{name}");
    }
}

#[test]
fn the_interfaces_own_widgets_are_not_read_as_content() {
    let widgets = r#"<div class="mini-cart"><p>Your cart is empty. Shipping is free on orders over fifty dollars.</p></div>
        <div class="alert alert-info"><p>We have updated our privacy policy, please review it now.</p></div>
        <span class="tooltip">Tap an item to see every size and colour it comes in.</span>"#;
    let items: String = (1..=5)
        .map(|i| format!("<div class=\"card\"><h3>Walnut desk {i}</h3><p>Solid wood, ${i}40.</p></div>"))
        .collect();
    let page = format!("<html><body><h1>Desks</h1>{widgets}{items}</body></html>");
    let md = whole_page(&page, PageType::Collection);
    assert!(md.contains("Walnut desk 5") && md.contains("Solid wood, $540."), "{md}");
    for gone in ["cart is empty", "privacy policy", "every size"] {
        assert!(!md.contains(gone), "{gone:?} is the interface's, not the page's: {md}");
    }
}

#[test]
fn lists_of_links_to_other_pages_are_dropped_unless_they_are_the_page() {
    let items =
        |n: usize| (0..n).map(|i| format!("<li><a href=\"/p/{i}\">Other item {i}</a></li>")).collect::<String>();
    let body = "<p>This lamp is made of brass and linen, with a dimmer in the cord and a cloth \
        shade. See the <a href=\"/care\">care guide</a> before cleaning it.</p>\
        <p>The shade is hand-sewn in Porto from undyed linen; the base is turned from one \
        piece of solid brass and left unlacquered, so it darkens with age.</p>";
    let page =
        format!("<html><body><div>{body}</div><div><h2>Also viewed</h2><ul>{}</ul></div></body></html>", items(12));
    // The whole-page answer, which forum, product and listing pages often get.
    let md = whole_page(page, PageType::Other);
    assert!(md.contains("care guide"), "a paragraph with a link stays: {md}");
    assert!(!md.contains("Other item"), "the list of other pages goes: {md}");

    let listing = format!("<html><body><h1>All lamps</h1><ul>{}</ul></body></html>", items(40));
    let md = whole_page(listing, PageType::Other);
    assert!(md.contains("Other item 39"), "a list that is the page stays: {md}");
}

#[test]
fn an_articles_ticker_of_other_headlines_goes_even_when_it_outweighs_the_story() {
    let ticker = (0..15)
        .map(|i| format!("<div><a href=\"/news/{i}\"><span>Minister answers critics on the budget vote, part {i}</span><ul><li>By STAFF</li><li>11/20/2019 01:14 PM</li></ul></a></div>"))
        .collect::<String>();
    let story = "<div><p>The son of a former president was stabbed during a lecture at the clinic \
        where he worked as chief physician, and a man who tried to stop the attacker was \
        critically injured. Police arrested a 57-year-old suspect at the scene and said \
        the motive was not yet known.</p></div>";
    let page = format!("<html><body>{story}<div class=\"ticker\">{ticker}</div></body></html>");
    let read = |page_type| whole_page(&page, page_type);
    let md = read(PageType::Article);
    assert!(md.contains("57-year-old suspect") && !md.contains("budget vote"), "{md}");
    // On a listing the same links are the content.
    let md = read(PageType::Listing);
    assert!(md.contains("budget vote, part 14"), "{md}");
}

#[test]
fn a_listings_headlines_and_cards_stay_though_they_are_mostly_links_and_its_menu_goes() {
    let headlines = (0..3)
        .map(|i| {
            format!("<div class=\"row\"><ul>{}</ul></div>", (0..12).map(|j| format!(
            "<li><a href=\"/news/{i}-{j}\">Regulators approve the new reactor design, story {i}-{j}</a></li>"
        )).collect::<String>())
        })
        .collect::<String>();
    let menu = (0..20).map(|i| format!("<li><a href=\"/s/{i}\">Topic {i}</a></li>")).collect::<String>();
    // Cards whose short titles are most of their text, beside a price: not only links.
    let cards = (0..12).map(|i| format!("<li><a href=\"/p/{i}\">Blue mug {i}</a> $8</li>")).collect::<String>();
    let page = format!(
        "<html><body><div class=\"topics\"><ul>{menu}</ul></div>{headlines}<div><ul>{cards}</ul></div></body></html>"
    );
    let read = |page_type| whole_page(&page, page_type);
    let md = read(PageType::Listing);
    assert!(md.contains("story 2-11"), "a listing's headlines are its items: {md}");
    assert!(!md.contains("Topic 11"), "a block of nothing but short links is a menu: {md}");
    assert!(md.contains("Blue mug 11"), "cards with words beside their links are items: {md}");
    let md = read(PageType::Other);
    assert!(!md.contains("story 2-11"), "elsewhere a list of headlines is other pages: {md}");
    assert!(!md.contains("Blue mug 11"), "and so are cards mostly of link text: {md}");
}

#[test]
fn a_consent_banner_is_not_taken_for_the_content_of_a_page_of_headlines() {
    let consent = "<div id=\"onetrust-consent-sdk\"><div><p>We and our 977 partners store and access \
        personal data, like browsing data or unique identifiers, on your device. Selecting Allow all \
        enables tracking technologies to support the purposes shown under we and our partners process \
        data to provide. Selecting Reject all or withdrawing your consent will disable them. If \
        trackers are disabled, some content and ads you see may not be as relevant to you.</p></div></div>";
    let items = (0..12)
        .map(|i| format!("<li class=\"card\"><h3><a href=\"/n/{i}\">A headline about the markets, number {i}</a></h3><p>Short teaser {i}.</p></li>"))
        .collect::<String>();
    let page = format!("<html><body><main><h1>Economy</h1><ul>{items}</ul></main>{consent}</body></html>");
    let md = extract(&page, None).markdown;
    assert!(!md.contains("977 partners"), "{md}");
    assert!(md.contains("number 11"), "{md}");
}

#[test]
fn text_for_screen_readers_only_is_not_read() {
    let cards = (0..8)
        .map(|i| {
            format!(
                "<li class=\"card\"><h3><a href=\"/p/{i}\">Dark roast coffee, blend {i}</a></h3>\
            <span class=\"visually-hidden\">Regular price</span><span>$19.99</span>\
            <span class=\"sr-only\">Dark roast coffee, blend {i}</span></li>"
            )
        })
        .collect::<String>();
    let page = format!("<html><body><h1>Coffee</h1><ul class=\"grid\">{cards}</ul></body></html>");
    let md = extract(&page, None).markdown;
    assert!(md.contains("blend 7") && md.contains("$19.99"), "{md}");
    assert!(!md.contains("Regular price"), "{md}");
    assert_eq!(md.matches("blend 7").count(), 1, "{md}");
}

/// An article page (`og:type` article) whose story is an `<article>` holding the
/// `<h1>`, followed by `teasers` other `<article>` posts.
fn story_with_teasers(teasers: usize) -> String {
    let teaser = |i: usize| {
        format!(
            "<article class=\"teaser\"><h3><a href=\"/p/{i}\">Another reflection {i}</a></h3><p>Life asks of us \
             courage and patience, and a teaser of post {i} says so in a few lines of its own text \
             that a reader would only see on that post's page.</p></article>"
        )
    };
    let teasers: String = (0..teasers).map(teaser).collect();
    format!(
        r#"<html><head><meta property="og:type" content="article"><title>Only who loves</title></head><body>
        <div class="content"><article class="entry"><h1>Only who loves</h1>
        <p>Living a true experience of love is one of the greatest pleasures of life. Liking is
        feeling with the soul, but expressing feelings depends on the ideas of each one of us.
        Each one is the only one responsible for their own needs, and only who loves himself
        can find a true love in life.</p><p>We condition love on our needs and end it, and we
        spend a life asking others to answer for what we abandon in ourselves.</p></article>
        <article class="related"><h3>You may also like</h3>{teasers}</article></div></body></html>"#
    )
}

#[test]
fn an_articles_story_is_kept_without_the_other_stories_that_outweigh_it() {
    let out = extract(&story_with_teasers(6), None);
    assert_eq!(out.page_type, PageType::Article);
    assert!(out.markdown.contains("only who loves himself"), "{}", out.markdown);
    assert!(!out.markdown.contains("teaser of post"), "{}", out.markdown);
}

#[test]
fn other_stories_lighter_than_the_story_are_left_to_readability() {
    let count = |html: &str| {
        let dom = Dom::from(html);
        related::drop_other_stories(&dom);
        dom.select("article").length()
    };
    assert_eq!(count(&story_with_teasers(6)), 1, "six teasers outweigh the story and go");
    assert_eq!(count(&story_with_teasers(1)), 3, "one teaser (and its wrapper) is lighter and stays");
    let no_h1 = story_with_teasers(6).replace("h1>", "h2>");
    assert_eq!(count(&no_h1), 8, "without a headline there is no story to tell apart");
}

#[test]
fn a_product_pages_features_beside_its_name_and_description_stay() {
    let page = "<html><head><script type=\"application/ld+json\">{\"@type\":\"Product\",\"name\":\"Glass cup\",\
         \"description\":\"A hand-blown glass cup with a silicone sleeve for your morning espresso.\"}</script>\
         </head><body><div class=\"page\"><div class=\"buy\"><h1>Glass cup</h1><span>$24.00</span>\
         <p>A hand-blown glass cup with a silicone sleeve for your morning espresso.</p></div>\
         <div class=\"features\"><h2>Features</h2><ul><li>Anti-splash lid with a nose dome</li>\
         <li>Thermal shock resistant borosilicate</li><li>Waist width 65 mm, height 69 mm</li></ul></div></div>\
         </body></html>";
    let md = whole_page(page, PageType::Product);
    assert!(md.contains("hand-blown glass cup"), "{md}");
    assert!(md.contains("Thermal shock resistant") && md.contains("Waist width 65 mm"), "the features stay: {md}");
}

#[test]
fn a_whole_page_drops_images_and_dialogs_and_a_product_page_what_the_shop_hides() {
    let page = |ld: &str| {
        format!(
            "<html><head>{ld}</head><body>\
             <div role=\"dialog\"><p>Sign up for 10% off your first order today</p></div>\
             <div style=\"display: none\"><p>Your cart is empty, find your next favourite</p></div>\
             <div class=\"wrap\" hidden><h1>Walnut desk organiser</h1>\
             <p><img src=\"/a.jpg\" alt=\"Front view of the organiser on a desk\">Solid walnut, three trays \
             and a slot for a phone, oiled by hand in our workshop.</p></div></body></html>"
        )
    };
    let ld = r#"<script type="application/ld+json">{"@type":"Product","name":"Walnut desk organiser"}</script>"#;
    let md = whole_page(page(ld), PageType::Other);
    assert!(md.contains("Solid walnut, three trays"), "the hidden block holding the name stays: {md}");
    assert!(!md.contains("Front view"), "images go: {md}");
    assert!(!md.contains("Sign up"), "dialogs go: {md}");
    assert!(!md.contains("cart is empty"), "a product page's hidden blocks go: {md}");

    // Elsewhere hidden blocks stay (tabs and accordions of the content).
    let md = whole_page(page(""), PageType::Other);
    assert!(md.contains("cart is empty") && !md.contains("Sign up") && !md.contains("Front view"), "{md}");
}

#[test]
fn a_product_page_drops_its_reviews_and_the_carousels_of_other_products() {
    let ld = r#"<script type="application/ld+json">{"@type":"Product","name":"Linen apron",
        "offers":{"@type":"Offer","price":"48.00"}}</script>"#;
    let review = "<li>Bought it for my sister, she wears it every weekend at the market stall.</li>";
    let page = |ld: &str| {
        format!(
            "<html><head>{ld}</head><body><main><div class=\"pdp\"><h1>Linen apron</h1><p>$48.00</p>\
             <p>Washed linen with two deep pockets and a cross-back strap that spares the neck \
             through a long day at the stove or the potter's wheel.</p><button>Add to cart</button></div>\
             <section id=\"product-reviews\"><h2>What customers say</h2><ul>{}</ul></section>\
             <div class=\"carousel\"><h2>Complete the look</h2><p>Cotton tea towel, set of three in \
             undyed cotton, $24.00</p></div></main></body></html>",
            review.repeat(2)
        )
    };
    let md = extract(&page(ld), Some("https://shop.example.com/products/linen-apron")).markdown;
    assert!(md.contains("cross-back strap"), "the product stays: {md}");
    assert!(!md.contains("market stall") && !md.contains("tea towel"), "reviews and carousels go: {md}");

    // On a page that is not a product, a block named so is content.
    let md = extract(&page("").replace("<button>Add to cart</button>", ""), None).markdown;
    assert!(md.contains("market stall"), "{md}");
}

#[test]
fn a_block_drawn_twice_is_kept_once_and_in_an_article_only_when_it_is_story_long() {
    let block = "<div class=\"plan\"><h3>Team plan</h3><p>Unlimited projects, shared spaces and a \
        history of every change kept for a year, with single sign-on for the whole company and a \
        named contact who answers within a working day.</p><p>Billed yearly at twelve dollars a \
        seat, cancel any time from the account page and keep every export you made before.</p></div>";
    let page = format!(
        "<html><body><main><h1>Pricing</h1><div class=\"mobile-only\">{block}</div>\
         <div class=\"desktop-only\">{block}</div><p>Questions? Write to sales.</p></main></body></html>"
    );
    let md = extract(&page, Some("https://example.com/pricing")).markdown;
    assert_eq!(md.matches("Unlimited projects").count(), 1, "{md}");
    assert!(md.contains("Billed yearly") && md.contains("Questions?"), "{md}");
    let short = "<p>Free shipping</p>";
    let md = extract(&page.replace("<p>Questions?", &format!("{short}{short}<p>Questions?")), None).markdown;
    assert_eq!(md.matches("Free shipping").count(), 2, "a short line repeated is a label, kept: {md}");

    let ld = r#"<script type="application/ld+json">{"@type":"NewsArticle"}</script>"#;
    let article = format!(
        "<html><head>{ld}</head><body><article><h1>Two weeks of meals</h1>\
        <h2>Week one</h2>{block}<h2>Week two</h2>{block}</article></body></html>"
    );
    let md = extract(&article, None).markdown;
    assert_eq!(md.matches("Unlimited projects").count(), 2, "an article repeats itself on purpose: {md}");

    // A story drawn twice whole (for phones and for desktops) is kept once.
    let story: String =
        (1..=8).map(|i| format!("<p>Paragraph {i} of the story. {}</p>", "Words of it. ".repeat(20))).collect();
    let twice = format!(
        "<html><head>{ld}</head><body><article><h1>Trends</h1><div class=\"mobile\">{story}</div>\
         <div class=\"desktop\">{story}</div></article></body></html>"
    );
    let md = extract(&twice, None).markdown;
    assert_eq!(md.matches("Paragraph 3 of the story.").count(), 1, "{md}");
    assert!(md.contains("Paragraph 8 of the story."), "{md}");
}

#[test]
fn a_short_run_drawn_twice_on_a_shop_page_is_kept_once_even_when_marked_up_differently() {
    // A feature card drawn for phones and again for desktops: 120 characters, under
    // the bound an article or a documentation page keeps copies below.
    let card = |level: u8, note: &str| {
        format!(
            "<div><h{level}>Capture every {note}</h{level}><p>A larger sensor balances bright and \
             shadowy areas in high-contrast scenes, for birds in patchy sunlight.</p></div>"
        )
    };
    let page = format!(
        "<html><body><main><h1>Smart feeder</h1><p>Price: 149 euros.</p>{}{}<p>Free shipping</p>\
         <p>Order today</p><p>Free shipping</p></main></body></html>",
        card(2, "<em>detail</em>"),
        card(3, "detail"),
    );
    let md = extract(&page, Some("https://shop.example/product/feeder")).markdown;
    assert_eq!(md.matches("Capture every").count(), 1, "the heading differs only in level and emphasis: {md}");
    assert_eq!(md.matches("larger sensor").count(), 1, "{md}");
    assert_eq!(md.matches("Free shipping").count(), 1, "a product page says a label once: {md}");
    assert!(md.contains("149 euros") && md.contains("Order today"), "{md}");
}

#[test]
fn a_page_past_its_deadline_gets_its_plain_text() {
    let html = "<html><title>Slow</title><body><p>Every word counts.</p><script>x()</script></body></html>";
    let late = extract_within(html, None, std::time::Duration::ZERO);
    assert_eq!(
        late,
        Extracted { title: Some("Slow".into()), markdown: "Every word counts.\n".into(), page_type: PageType::Other }
    );
    let on_time = extract_within(ARTICLE, None, std::time::Duration::from_secs(30));
    assert_eq!(on_time, extract(ARTICLE, None));
}

#[test]
fn a_page_kept_in_a_large_noscript_is_read() {
    let posts = "<p>A reply that says something useful about the question asked.</p>".repeat(120);
    let html = format!(
        "<html><body><noscript><img src=x></noscript><noscript><div id=\"main\">{posts}</div></noscript></body></html>"
    );
    let out = extract(&html, None);
    assert!(
        out.markdown.contains("A reply that says something useful"),
        "{}",
        &out.markdown[..out.markdown.len().min(200)]
    );
    let small =
        "<html><body><p>Visible text of the page.</p><noscript>Please enable JavaScript.</noscript></body></html>";
    assert!(!extract(small, None).markdown.contains("enable JavaScript"), "small noscripts stay hidden");
}

#[test]
fn a_noscript_that_never_closes_its_iframe_does_not_take_the_page_with_it() {
    let tracker = r#"<noscript><iframe src="https://tags.example/ns.html" height="0" width="0" /></noscript>"#;
    let html = format!(
        "<html><body><h1>Your fastest path to production</h1>{tracker}<section><h2>Click, click, done.</h2>\
         <p>Choose what you need to run your apps, APIs, databases and cron jobs. Just connect your \
         repository and every push deploys on the right runtime for your framework.</p></section></body></html>"
    );
    let md = extract(&html, None).markdown;
    assert!(md.contains("Click, click, done.") && md.contains("right runtime"), "{md}");
    assert!(!md.contains("iframe"), "{md}");
    // A page kept in a large noscript is read even when one of its posts opens an
    // iframe it never closes.
    let posts = "<p>A reply that says something useful about the question asked.</p>".repeat(120);
    let large = format!("<html><body><noscript><div>{posts}<iframe src=\"/embed\" /></div></noscript></body></html>");
    assert!(extract(&large, None).markdown.contains("A reply that says something useful"));
    assert!(holds_unclosed_raw_text(b"<IFRAME src=x />") && !holds_unclosed_raw_text(b"<iframe></iframe>"));
    assert!(!holds_unclosed_raw_text(b"<img src=x><style>.a{}</style>"));
}

#[test]
fn code_languages_are_read_from_common_highlighter_conventions() {
    assert_eq!(language_of("language-rust").as_deref(), Some("rust"));
    assert_eq!(language_of("highlight-source-python").as_deref(), Some("python"));
    assert_eq!(language_of("brush: js; gutter: false").as_deref(), Some("js"));
    assert_eq!(language_of("sourceCode python").as_deref(), Some("python"));
    assert_eq!(language_of("hljs language-ts").as_deref(), Some("ts"));
    assert_eq!(language_of("rust").as_deref(), Some("rust"));
    assert_eq!(language_of("language-plaintext"), None);
    assert_eq!(language_of("wide dark"), None);
    // MDN: the brush is the first word, and its wrapper's `code-example` names no language.
    assert_eq!(language_of("brush: js notranslate").as_deref(), Some("js"));
    assert_eq!(language_of("code-example"), None);
    assert_eq!(language_of("code-block lang-default"), None);
    assert_eq!(language_of("code-python").as_deref(), Some("python"));
}

fn candidates_with(main: Option<&str>, landmark: Option<&str>, visible: &str, marked_article: bool) -> Candidates {
    Candidates {
        title: None,
        page_type: PageType::Other,
        marked_article,
        main: main.map(str::to_owned),
        landmark: landmark.map(str::to_owned),
        visible: visible.to_owned(),
        posts: None,
        description: None,
    }
}

#[test]
fn a_declared_article_page_whose_answer_is_one_section_of_its_main_gets_the_main() {
    // Features too short for readability to score: it keeps the introduction alone.
    let feature = |i: usize| format!("<div class=\"feature\"><h3>Feature {i}</h3><p>Firewalls run for you</p></div>");
    let features: String = (0..30).map(feature).collect();
    let page = format!(
        r#"<html><head><meta property="og:type" content="article"><title>Network security</title></head>
        <body><main><div class="intro"><p>Network security protects the data that moves between your
        offices, your clouds and your people. Our engineers design, deploy and run the controls that
        keep it safe, from firewalls to zero trust access, and they stay on call for every incident.</p>
        <p>Every engagement starts with an assessment of what you run today, and it ends with a plan.</p></div>
        <div class="features">{features}</div></main></body></html>"#
    );
    let out = extract(&page, None);
    assert_eq!(out.page_type, PageType::Article);
    assert!(out.markdown.contains("Network security protects"), "{}", out.markdown);
    assert!(out.markdown.contains("Feature 29"), "the rest of the landmark is kept: {}", out.markdown);
}

#[test]
fn a_declared_article_whose_readability_answer_is_a_sliver_gets_the_page_without_its_comments() {
    let section = |n: usize| {
        format!(
            "<section><div class=\"col\"><div class=\"row\"><div class=\"elementor-widget\">\
            <div class=\"elementor-widget-container\"><h2>Step {n}</h2>\
            <p>Step {n} sets up the proxy. It says which settings change, why each one matters to the \
            workers behind it, and how to check that the change took before moving on.</p></div></div></div></div></section>"
        )
    };
    // Each step carries a label for screen readers, which no answer reads: the page
    // taken whole after readability's miss must lose them as readability's own does.
    let steps: String =
        (1..=60).map(|n| format!("{}<span class=\"sr-only\">Opens step {n}</span>", section(n))).collect();
    let disclosure = format!("<div class=\"disclosure\"><p>{}</p></div>", "We may earn a commission, a fee, a bonus, or a credit, from links on this page, which, as a rule, never changes what we write, test, or recommend. ".repeat(4));
    let comments = "<div id=\"comments\"><p>Great post, thanks for writing it up!</p></div>";
    let page = format!(
        r#"<html><head><meta property="og:type" content="article"><title>Proxy guide</title></head>
        <body>{disclosure}<div class="content">{steps}</div>{comments}</body></html>"#
    );
    let md = extract(&page, None).markdown;
    assert!(md.contains("Step 60 sets up the proxy"), "{md}");
    assert!(!md.contains("Great post"), "the comments are not the article: {md}");
    assert!(!md.contains("Opens step"), "what a reader never sees is no answer's: {md}");
}

#[test]
fn the_main_landmark_is_the_visible_content_when_it_holds_enough_of_the_page() {
    let words = |n: usize, word: &str| vec![word; n].join(" ");
    let (landmark, visible) = (words(300, "main"), words(1000, "page"));
    assert_eq!(choose(&candidates_with(None, Some(&landmark), &visible, false)), landmark);
    // A tiny `<main>` (a widget so named) is not the page's content.
    let tiny = words(50, "widget");
    assert_eq!(choose(&candidates_with(None, Some(&tiny), &visible, false)), visible);
}

#[test]
fn a_service_pages_sections_outweigh_readabilitys_one_section_sooner_than_another_pages() {
    let line = |word: &str| vec![word; 25].join(" ");
    let main = [line("first"), line("second"), line("third")].join("\n\n");
    // Readability kept three sections of four: three quarters of the running text.
    let visible = format!("{main}\n\n{}", line("fourth"));
    let mut found = candidates_with(Some(&main), None, &visible, false);
    assert_eq!(choose(&found), main, "another page's answer holding most of it stands");
    found.page_type = PageType::Service;
    assert_eq!(choose(&found), visible, "a service page's sections are its content");
}

#[test]
fn every_extraction_names_the_kind_of_page() {
    assert_eq!(extract(ARTICLE, Some("https://blog.example.com/posts/deploy")).page_type, PageType::Article);
}

/// A thread of `replies` replies after a long opening post, each post with its
/// author's badge, inside an Invision-style moderation form, next to a sidebar.
fn forum_thread(replies: usize) -> String {
    let opening = "My build keeps crashing when the render starts, and I have swapped the memory, \
        reinstalled the driver and checked every temperature I can read. "
        .repeat(6);
    let post = |author: &str, body: &str| {
        format!(
            r#"<article class="cPost ipsComment"><aside class="cAuthorPane">{author}</aside>
            <div class="cPost_contentWrap"><div data-role="commentContent"><p>{body}</p></div></div></article>"#
        )
    };
    let mut posts = post("Mr_Enigmatic", &opening);
    for i in 1..=replies {
        posts.push_str(&post(
            &format!("helper{i}"),
            &format!("Reply {i}: the power supply is the usual suspect here, try another one before anything else."),
        ));
    }
    let sidebar: String = (1..=12).map(|i| format!(r#"<li><a href="/t/{i}">Another topic {i}</a></li>"#)).collect();
    format!(
        r#"<html><head><title>Render crashes - Forum</title></head><body>
        <div class="layout"><div class="main"><h1>Render crashes</h1>
        <form action="/moderate" method="post">{posts}</form></div>
        <div class="side"><ul>{sidebar}</ul></div></div></body></html>"#
    )
}

#[test]
fn a_forum_thread_whose_readability_answer_is_its_opening_post_gets_every_post() {
    let page = forum_thread(6);
    let found = extract(&page, Some("https://forum.example.org/topic/812-render-crashes/"));
    assert_eq!(found.page_type, PageType::Forum);
    let md = found.markdown;
    assert!(md.contains("My build keeps crashing"), "{md}");
    for i in 1..=6 {
        assert!(md.contains(&format!("Reply {i}:")), "reply {i} is part of the thread: {md}");
    }
    assert!(!md.contains("Another topic"), "the sidebar is not: {md}");
}

#[test]
fn readability_gives_way_to_the_posts_only_when_it_kept_one_of_them() {
    let words = |n: usize, word: &str| vec![word; n].join(" ");
    let (question, replies) = (words(120, "question"), words(80, "reply"));
    let posts = format!("{question} {replies}");
    let mut found = candidates_with(Some(&question), None, &posts, false);
    found.page_type = PageType::Forum;
    found.posts = Some(posts.clone());
    assert_eq!(choose(&found), posts, "the opening post alone is one post of the thread");
    // The thread without its authors' badges: readability found it all.
    let badges = words(30, "joined");
    found.posts = Some(format!("{posts} {badges}"));
    found.main = Some(posts.clone());
    assert_eq!(choose(&found), posts, "the thread without its chrome stays");
    // An answer that is not in the posts (the items found were something else).
    let article = words(80, "article");
    found.main = Some(article.clone());
    found.visible = format!("{article} {}", words(20, "menu"));
    found.posts = Some(posts);
    assert_eq!(choose(&found), article, "readability's answer, by the usual rule");
}

#[test]
fn a_page_written_in_mojibake_is_read_as_the_words_it_meant() {
    let page = ARTICLE
        .replace("<title>Deploying ctxd", "<title>Deploying ctxd&acirc;&euro;&trade;s API")
        .replace("This guide explains", "This guide isn&acirc;&euro;&trade;t short; it explains");
    let extracted = extract(&page, None);
    assert!(extracted.markdown.contains("This guide isn’t short"), "{}", extracted.markdown);
    let title = extracted.title.unwrap_or_default();
    assert!(title.starts_with("Deploying ctxd’s API"), "{title}");
}

proptest::proptest! {
    /// The byte count for ASCII text is a shortcut: it must agree with counting the
    /// characters, vertical tab and form feed included.
    #[test]
    fn ascii_text_is_counted_as_its_characters_are(text in "[ -~\t\n\r\x0b\x0c\x1c-\x1f]{0,64}") {
        proptest::prop_assert_eq!(dense_chars(&text), text.chars().filter(|c| !c.is_whitespace()).count());
    }
}
