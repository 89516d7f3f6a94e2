//! What a page puts around its content: captions and credits, galleries, bylines,
//! authors' bios and the site's own header and footer, which readability keeps when
//! they sit inside the content; blocks named as chrome; and the forms and form
//! controls a whole-page answer would read as text (a shop's size pickers, "Add to
//! cart" buttons).

use dom_query::{Document as Dom, NodeData, NodeRef, Selection};

use crate::ascii::holds_ignoring_case;

/// Class words (any part of a class attribute) of parts of article pages that are
/// never the main content, though readability keeps them when they sit inside the
/// article: captions, photo credits and galleries; `<figcaption>` is one too. (Share
/// bars, related links and tag lists were tried too: they cost more on WCXB's page
/// types than they gained on ScrapingHub's articles.)
const FURNITURE: &[&str] = &["caption", "credit", "gallery", "slideshow", "byline", "dateline", "timestamp"];

/// Class and id words of a page's fine print: the disclaimers under a phone's
/// specifications, an insurer's coverage notes, an affiliate notice under a review.
const FINE_PRINT: &[&str] = &["disclaimer", "disclaimers"];

/// Class names (whole, any case) of the card beside a forum post that counts its
/// author's posts, reactions and years: XenForo 2's and 1's, vBulletin's, Invision's
/// and phpBB's. Only the parts that never hold the author's name, which stays with
/// the post.
const POSTER_STATS: &[&str] = &[
    "message-userextras",
    "extrauserinfo",
    "userinfo_extra",
    "userstats",
    "ipsentry__authorfields",
    "profile-posts",
    "profile-joined",
    "profile-rank",
    "profile-custom-field",
];

/// Removes what qualifies or decorates the content, from every answer before any is
/// read: the page's disclaimers ([`FINE_PRINT`]) and forum posters' statistics
/// ([`POSTER_STATS`]; "Joined Jun 29, 2016 Messages 11 Reaction score 10" under every
/// post's author). A block holding most of the page's text stays (a site's
/// disclaimer page is its content).
///
/// Disclaimers, chosen on WCXB's tuning part: 0.8840 -> 0.8844, 13 pages gain (a
/// Samsung phone's footnoted claims, 0.37 -> 0.64; NPR's transcript notice and
/// copyright under a transcript, 0.96 -> 1.00) and six lose (an insurer's service page
/// whose truth keeps its coverage notes, 0.97 -> 0.89); checking part 0.8627 -> 0.8636
/// (six pages gain, none loses), ScrapingHub unchanged. Tried before as a chrome word
/// of the whole-page answer alone, it lost on a part (see [`BOILERPLATE_WORDS`]);
/// dropped from readability's answer alone it lost on tuning (-0.0002), as readability
/// then weighs a page without it differently from the whole-page answers. `legal`,
/// `fineprint`, `smallprint`, `footnote`, `copyright` and `terms` beside it each lost
/// on a part (an article whose body sits in a block named for its licence, 0.98 ->
/// 0.06).
///
/// Posters' statistics: tuning 0.8849 -> 0.8853 (seven threads gain, a medical
/// students' thread 0.44 -> 0.76, and none loses), checking 0.8636 -> 0.8641 (four
/// gain, none loses). The
/// title and banner beside them ("Full Member", "7+ Year Member") cost two threads
/// whose choice of answer then changed; SMF's `user_info` holds the author's name.
pub(super) fn drop_fine_print(dom: &Dom) {
    let poster_stats = |node: &NodeRef<'_>| {
        class_is(node, |class| {
            class.split_ascii_whitespace().any(|name| POSTER_STATS.iter().any(|stats| name.eq_ignore_ascii_case(stats)))
        })
    };
    super::drop_named_blocks(dom, |node| super::named_with(node, FINE_PRINT) || poster_stats(node));
}

/// Class and id words of a forum post's signature: XenForo's `message-signature`,
/// phpBB's, vBulletin's and SMF's `signature`, FluxBB's `postsignature`, Invision's
/// `cSignature` and `ipsSignature`.
const SIGNATURES: &[&str] = &["signature", "signatures", "postsignature", "csignature", "ipssignature"];

/// Removes forum posts' signatures from the whole-page answers and the thread's posts
/// (the lines a poster carries under every post are not the thread). Readability's
/// answer keeps them: dropped there too, a thread whose readability answer was mostly
/// signatures fell under [`super::choose`]'s share and took the whole page instead
/// (0.54 -> 0.12, tuning -0.0002 then). Chosen on WCXB's tuning part: +0.0001, five
/// threads gain (0.81 -> 0.86 at most), none loses; checking +0.0005 (one thread,
/// 0.72 -> 0.94), none loses.
pub(super) fn drop_signatures(dom: &Dom) {
    super::drop_named_blocks(dom, |node| super::named_with(node, SIGNATURES));
}

/// Parts of one class name that, next to "author" or "contributor" in it, make a
/// box about the writer (`author-bio`, `about-the-author`, `entry-author-profile`,
/// `contributor-bio`, `article-author-box`) rather than a byline or a forum post by
/// an author.
const BIO_PARTS: &[&str] = &["bio", "box", "info", "profile", "desc", "card", "about"];

/// Removes the [`FURNITURE`], authors' bios ([`is_author_bio`]), and the page's own
/// `<header>`, `<nav>` and `<footer>`: readability scores those like any block, and
/// when the content is many sibling blocks (a shop's product cards) the common parent
/// it picks carries the site's menu along (on twelve REI pages, about 900 menu items
/// each). Those inside an `<article>` or `<main>` belong to the content and stay.
/// Measured: WCXB dev F1 0.820 -> 0.826 (collections 0.546 -> 0.587, listings 0.630 ->
/// 0.648, services 0.786 -> 0.794), ScrapingHub unchanged at 0.957. One pass reading
/// classes in place: as CSS selectors (`[class*="caption"]`, ...) this took 0.17 ms of
/// a ScrapingHub page's 4.
pub(super) fn drop_page_furniture(dom: &Dom) {
    let mut gone = Vec::new();
    for node in dom.root().descendants_it() {
        let chrome = ["header", "nav", "footer"].iter().any(|name| node.has_name(name));
        let furniture = node.has_name("figcaption")
            || class_is(&node, |class| FURNITURE.iter().any(|part| class.contains(part)))
            || is_author_bio(&node);
        if furniture || (chrome && !node.ancestors_it(None).any(|a| a.has_name("article") || a.has_name("main"))) {
            gone.push(node);
        }
    }
    for node in gone {
        node.remove_from_parent();
    }
}

/// Whether `node` is a box about the writer: one of its class names mentions "author"
/// or "contributor" and a [`BIO_PARTS`] word, any case. A page's wrappers (`<body>`,
/// `<article>`, `<main>`) never are, whatever a theme calls them.
///
/// Chosen on the tuning part of WCXB dev: 0.8690 -> 0.8694, 23 pages gain (a glossary
/// page's two-paragraph bio, 0.924 -> 0.958) and none loses by more than 0.001;
/// checking part 0.8448 -> 0.8450, ScrapingHub 0.9707 -> 0.9709. Every class
/// mentioning "author" went too far: forum posts carry their author's name in such
/// classes (a Warrior Forum thread 0.86 -> 0.31).
fn is_author_bio(node: &NodeRef<'_>) -> bool {
    if ["body", "html", "article", "main"].iter().any(|name| node.has_name(name)) {
        return false;
    }
    class_is(node, |class| {
        class.split_ascii_whitespace().any(|name| {
            let name = name.as_bytes();
            (holds_ignoring_case(name, b"author") || holds_ignoring_case(name, b"contributor"))
                && BIO_PARTS.iter().any(|part| holds_ignoring_case(name, part.as_bytes()))
        })
    })
}

/// Whether `node`'s class attribute passes `test`, read in place.
fn class_is(node: &NodeRef<'_>, test: impl Fn(&str) -> bool) -> bool {
    node.query(|inner| {
        let NodeData::Element(element) = &inner.data else { return false };
        element.attrs.iter().any(|attr| &*attr.name.local == "class" && test(&attr.value))
    })
    .unwrap_or(false)
}

/// Buttons and labels of at most this many words are controls ("Add to cart", "Quick
/// shop", a colour swatch's name); longer ones, or ones holding a heading, are a
/// theme's way of drawing content (an accordion's question, a product card).
const CONTROL_WORDS: usize = 4;

/// Text outside a page's forms, in characters other than whitespace, under which a
/// form holding most of the page is the page ([`drop_forms`]): a skip link or a
/// copyright line.
const FORM_PAGE_OUTSIDE_CHARS: usize = 50;

/// Removes the page's forms (logins, searches, reply boxes), except one that holds
/// most of the page's text when the page has less than [`FORM_PAGE_OUTSIDE_CHARS`]
/// outside its forms: then that form is the page itself, wrapped in one form the way
/// ASP.NET WebForms wraps every page, and only its controls go (with the other form
/// controls). Without this such a page's whole-page answer was empty.
///
/// Only so narrow because WCXB's truths leave out what pages put in forms otherwise:
/// a shop whose product grid is one form (its truth is the text around the grid), a
/// ranking whose table sits in a form beside 194 characters of text (its truth is
/// readability's answer, which the larger whole-page answer then displaced).
pub(super) fn drop_forms(dom: &Dom) {
    let Some((page, forms)) = super::sizes::of_body(dom, |node| node.has_name("form")) else { return };
    // Forms do not nest (the parser drops an inner form's tag), so their text adds up.
    let outside = page.chars.saturating_sub(forms.iter().map(|(_, sizes)| sizes.chars).sum());
    for (form, sizes) in forms {
        if outside >= FORM_PAGE_OUTSIDE_CHARS || !super::holds_most_of(sizes.chars, page.chars) {
            form.remove_from_parent();
        }
    }
}

/// Removes the form controls a reader of the whole page operates rather than reads:
/// every `<select>` (each of its options would be read), `<textarea>` and `<input>`,
/// and short buttons and labels ([`CONTROL_WORDS`]), links drawn as buttons among
/// them ([`is_link_button`]). Forms themselves go elsewhere
/// ([`drop_forms`]); these are the controls outside them, which shops
/// scatter over a product grid.
///
/// Chosen on the tuning part of WCXB dev: 0.8704 -> 0.8711 (collections 0.702 ->
/// 0.711: a coffee shop's grid with a size picker per card, 0.20 -> 0.40); checking
/// part 0.8456 -> 0.8459, ScrapingHub unchanged. Removing every button and label
/// gained more on the checking part (0.8471) but less on tuning (0.8709): some shops
/// draw a whole product card, or a colour's name the truth keeps, inside one.
pub(super) fn drop_form_controls(dom: &Dom) {
    dom.select("select, textarea, input").remove();
    for node in dom.select("button, label, a[class]").nodes() {
        if node.has_name("a") && !is_link_button(node) {
            continue;
        }
        let short = node.text().split_whitespace().nth(CONTROL_WORDS).is_none();
        if short && !Selection::from(*node).select("h1, h2, h3, h4, h5, h6").exists() {
            node.remove_from_parent();
        }
    }
}

/// Whether a link is drawn as a button: a class that mentions "btn" or "button", any
/// case ("Quick shop", "Shop now", "Add comment", "Learn more" on every card of a
/// grid or a feed). Read in place, since every classed link is asked.
///
/// Chosen on the tuning part of WCXB dev: 0.8726 -> 0.8736 (a developer feed whose
/// cards' "Add comment" links had made it read as a list of links to drop, 0.10 ->
/// 0.68; shop grids' "Add to cart" and "See details" links, +0.04; the worst loss a
/// service page, 0.97 -> 0.95); checking part 0.8483 -> 0.8489; ScrapingHub
/// unchanged (an article keeps readability's answer, which this does not touch).
/// Links with `role="button"` as well gained 0.0001 more on tuning, nothing elsewhere.
fn is_link_button(node: &NodeRef<'_>) -> bool {
    class_is(node, |class| {
        let class = class.as_bytes();
        holds_ignoring_case(class, b"btn") || holds_ignoring_case(class, b"button")
    })
}

/// Class and id words that mark page chrome rather than content.
///
/// The interface's own widgets joined in auto-18: `alert`, `cart`, `minicart`,
/// `dropdown`, `overlay`, `feedback` and `tooltip`. Each gained on WCXB's tuning part
/// alone (+0.0001 to +0.0005) without losing on its checking part; together tuning
/// 0.8746 -> 0.8757 (an eBay listing whose cart and alert panels outweighed it 0.30
/// -> 0.64, an Etsy page 0.69 -> 0.96), checking 0.8529 -> 0.8536, ScrapingHub
/// unchanged. Tried and left out: `download` (tuning +0.0004, checking -0.0001),
/// `widget` (-0.0057 on tuning), `rating`, `review`, `tags`, `promo`, `filter`,
/// `facet`, `badge`, `disclaimer` and `rail` (each a loss on a part); `sort`,
/// `subnav`, `utility`, `announcement`, `legal`, `copyright`, `sitemap`, `offcanvas`,
/// `drawer`, `account`, `wishlist`, `megamenu`, `flyout`, `toast`, `survey`, `chat`,
/// `language`, `country`, `recirculation`, `trending`, `popular`, `promoted` and
/// `outbrain` (0.0001 or less on tuning).
const BOILERPLATE_WORDS: &[&str] = &[
    "menu",
    "nav",
    "navbar",
    "navigation",
    "footer",
    "sidebar",
    "cookie",
    "cookies",
    "consent",
    "banner",
    "breadcrumb",
    "breadcrumbs",
    "share",
    "sharing",
    "social",
    "related",
    "newsletter",
    "subscribe",
    "signup",
    "login",
    "modal",
    "popup",
    "advert",
    "ad",
    "ads",
    "sponsor",
    "sponsored",
    "skip",
    "pagination",
    "toolbar",
    "search",
    "masthead",
    "topbar",
    "alert",
    "cart",
    "minicart",
    "dropdown",
    "overlay",
    "feedback",
    "tooltip",
];

/// Removes elements whose class or id names them as chrome (`site-footer`,
/// `main-nav`, `cookie-banner`, ...), or as the site's header ([`names_site_header`]).
///
/// Every class or id holding the word "header" was chrome until auto-18; on WCXB's
/// tuning part that dropped the cards of shop grids and job boards (an REI grid 0.66
/// -> 0.88, a job board 0.74 -> 0.93, Apple's store cards 0.57 -> 0.67). Taking the
/// word alone out: tuning 0.8736 -> 0.8746, checking 0.8512 -> 0.8529, ScrapingHub
/// unchanged; keeping the site's own header as chrome gains a little more on both
/// (0.87463, 0.85292). "nav" and "banner" out as well gained on tuning (+0.0003,
/// +0.0006) but nothing or a loss on checking, "nav"'s gain from one page.
///
/// Only for the whole-page answer: readability weighs these names itself. An element
/// holding most of the page's text is a wrapper, whatever it is called (Steam wraps
/// every page in `responsive_page_frame with_header`), and stays.
pub(super) fn drop_boilerplate_blocks(dom: &Dom) {
    let content = |node: &NodeRef<'_>| ["main", "article"].iter().any(|name| node.has_name(name));
    super::drop_named_blocks(dom, |node| {
        (super::named_with(node, BOILERPLATE_WORDS) || names_site_header(node)) && !content(node)
    });
}

/// Words that, beside "header" in one class or id name, make it the site's header
/// (`site-header`, `global-header`, `header-wrapper`, `main-header-container`). A
/// header named for anything else heads a part of the content: a card's, an
/// accordion's, a comment's, a product's (`rf-ccard-content-header`,
/// `cdr-accordion__header`, `comment-header`).
const SITE_HEADER_WORDS: &[&str] = &[
    // The word itself, so that a name of nothing else (`header`) is the site's.
    "header",
    "site",
    "global",
    "main",
    "page",
    "top",
    "primary",
    "wrapper",
    "wrap",
    "container",
    "inner",
    "outer",
    "sticky",
    "fixed",
    "desktop",
    "mobile",
];

/// Whether a class name or the id of `node` says "header" with nothing but
/// [`SITE_HEADER_WORDS`] (and numbers) beside it.
pub(super) fn names_site_header(node: &NodeRef<'_>) -> bool {
    let class = node.attr("class");
    let id = node.attr("id");
    let names = class.iter().flat_map(|class| class.split_ascii_whitespace()).chain(id.as_deref());
    names.into_iter().any(|name| {
        let words =
            || name.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.bytes().any(|b| b.is_ascii_alphabetic()));
        words().any(|w| w.eq_ignore_ascii_case("header"))
            && words().all(|w| SITE_HEADER_WORDS.iter().any(|site| w.eq_ignore_ascii_case(site)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authors_bio_goes_and_a_byline_or_a_forum_posts_author_does_not_count_as_one() {
        let dom = Dom::from(
            r#"<body><article class="post author-7"><p>The story itself.</p>
            <div class="Entry-Author-Profile"><p>Jane writes about gardens.</p></div>
            <div class="about-the-author"><p>She lives in Leeds.</p></div>
            <span class="author-name">Jane Doe</span></article></body>"#,
        );
        drop_page_furniture(&dom);
        let text = dom.select("body").text();
        assert!(text.contains("The story itself.") && text.contains("Jane Doe"), "{text}");
        assert!(!text.contains("gardens") && !text.contains("Leeds"), "{text}");
    }

    #[test]
    fn a_disclaimer_goes_unless_it_is_the_page() {
        let dom = Dom::from(
            r#"<body><article><p>The phone's battery lasts two days on a charge, and its camera sees in the dark.</p>
            <div class="common-bottom-disclaimer"><ol><li>Based on internal lab tests.</li></ol></div>
            <p id="Disclaimers">Results may vary.</p><p class="disclaimerish">Kept.</p></article></body>"#,
        );
        drop_fine_print(&dom);
        let text = dom.select("body").text();
        assert!(text.contains("battery lasts") && text.contains("Kept."), "{text}");
        assert!(!text.contains("lab tests") && !text.contains("may vary"), "{text}");

        let page = Dom::from(
            r#"<body><nav>Home</nav><div class="disclaimer"><h1>Disclaimer</h1>
            <p>Nothing on this site is financial advice; read every fund's prospectus before you invest.</p></div></body>"#,
        );
        drop_fine_print(&page);
        assert!(page.select("body").text().contains("financial advice"), "the page's own content stays");
    }

    #[test]
    fn a_forum_posts_signature_goes() {
        let dom = Dom::from(
            r#"<body><article class="message"><div class="bbWrapper">The fellowship sent its invitations today.</div>
            <aside class="message-signature">I don't believe in the market economy, I'm a sheep.</aside></article>
            <div class="post"><div class="content">Congratulations on the interview.</div>
            <div id="sig123" class="signature">UNIX is simple and coherent.</div></div></body>"#,
        );
        drop_signatures(&dom);
        let text = dom.select("body").text();
        assert!(text.contains("sent its invitations") && text.contains("Congratulations"), "{text}");
        assert!(!text.contains("market economy") && !text.contains("UNIX"), "{text}");
    }

    #[test]
    fn a_forum_posters_statistics_go_and_their_name_stays() {
        let dom = Dom::from(
            r#"<body><article class="message"><div class="message-user"><h4 class="message-name">boobaloobie</h4>
            <div class="message-userExtras"><dl><dt>Joined</dt><dd>Jun 29, 2016</dd><dt>Messages</dt><dd>11</dd></dl></div></div>
            <div class="message-content"><p>Cincinnati has already sent out interview invitations.</p></div></article>
            <div class="post"><dl class="postprofile"><dt>Minoa</dt><dd class="profile-posts"><strong>Posts:</strong> 6217</dd></dl>
            <div class="content">Thanks for the suggestion.</div></div></body>"#,
        );
        drop_fine_print(&dom);
        let text = dom.select("body").text();
        assert!(text.contains("boobaloobie") && text.contains("Minoa"), "{text}");
        assert!(text.contains("interview invitations") && text.contains("Thanks for the suggestion"), "{text}");
        assert!(!text.contains("Joined") && !text.contains("6217"), "{text}");
    }

    #[test]
    fn form_controls_go_and_buttons_that_hold_content_stay() {
        let dom = Dom::from(
            r#"<body><p>Mugs</p><select><option>1 bag</option><option>2 bags</option></select>
            <textarea>Your review</textarea>
            <button>Add to cart</button><label>dark mix</label>
            <button class="faq"><h3>How long does delivery take?</h3></button>
            <button>Read what our customers say about this mug before buying</button>
            <a class="card__Btn--quick" href="/mugs/1">Quick shop</a><a class="title" href="/mugs/2">Stoneware</a>
            <a class="button" href="/story">Why we fire our mugs twice in a wood kiln</a></body>"#,
        );
        drop_form_controls(&dom);
        let text = dom.select("body").text();
        assert!(text.contains("Stoneware") && text.contains("wood kiln"), "links and long link buttons stay: {text}");
        for gone in ["2 bags", "Your review", "Add to cart", "dark mix", "Quick shop"] {
            assert!(!text.contains(gone), "{gone} stays: {text}");
        }
        assert!(text.contains("How long does delivery take?") && text.contains("what our customers say"), "{text}");
    }
}
