//! Lists of links to other pages ("people who viewed this also viewed", "more
//! stories", tag clouds, a site's menus) dropped from the whole-page answer, with the
//! bounds that tell such a list from a page whose content is links (a listing's cards,
//! a thread's posts, a reference's entries).

use ctxd_domain::model::PageType;
use dom_query::Document as Dom;

use super::{MIN_MAIN_CHARS, holds_most_of, sizes};

/// A block with at least this many links...
const LINK_LIST_MIN_LINKS: usize = 10;

/// ...whose text is at least this many tenths link text is a list of other pages.
const LINK_LIST_TENTHS: usize = 8;

/// On a page whose content is made of links among its words (a listing's or a
/// collection's cards, a thread's posts, a reference's entries), a list of other pages
/// is a block of nothing but links, this many or more (see [`drop_link_lists`]).
const LINKS_ONLY_MIN_LINKS: usize = 17;

/// Removes blocks that are lists of links to other pages ("people who viewed this
/// also viewed", "more stories", tag clouds) from the whole-page answer, unless the
/// block holds most of the page: then the links are the page (a listing). Measured on
/// both article benchmarks: ScrapingHub F1 0.954 -> 0.957, WCXB dev within 0.001
/// (product and service pages gain what listings and collections lose).
///
/// On an `article` page a block of nothing but links goes even when it holds most of
/// the page, as long as the rest has [`MIN_MAIN_CHARS`] of text that is not links: a
/// short news item under a long ticker of other headlines. Chosen on ScrapingHub
/// (0.965 -> 0.967, the one page it changes); WCXB's tuning and checking parts are
/// unchanged. Listings and collections keep theirs: there the links are the content.
///
/// On a listing or collection page a block whose links average [`HEADLINE_CHARS`]
/// or more stays whatever its share: those are its items' titles (a news front page's
/// rows of headlines), where a menu's links are a word or two. Chosen on WCXB's
/// tuning part: 0.8666 -> 0.8673 at 20 characters (0.8670 at 25, 0.8669 at 35; 15
/// gains 0.0001 more and loses two more pages); checking 0.8421 -> 0.8435;
/// ScrapingHub unchanged.
///
/// On a listing, collection, forum or documentation page only a block of nothing but
/// links, [`LINKS_ONLY_MIN_LINKS`] of them or more, is such a list: a product card's
/// title among its price and badges, a post's links among its words, a reference's
/// entries beside their descriptions are blocks mostly of link text that are the
/// content. Swept on WCXB's tuning part (auto-30, these four types; tuning 0.89171):
/// all link text at 10, 12, 15, 17, 20, 25 and 30 links 0.89225, 0.89242, 0.89255,
/// 0.89258, 0.89255, 0.89249, 0.89245; 20 links at eight or nine tenths +0.0006; no
/// list dropped at all +0.0007. Each type gains on its own (collections most, an
/// iFixit parts category 0.30 -> 0.77, Wikipedia's category of programming languages
/// 0.63 -> 0.91; the largest loss Figma's home page, a service read as a listing,
/// 0.90 -> 0.80). Checking 0.86774 -> 0.86968;
/// ScrapingHub unchanged. Products and services lost on tuning; articles gained but
/// cost ScrapingHub 0.971 -> 0.965, so they keep the rule above.
pub(super) fn drop_link_lists(dom: &Dom, page_type: PageType) {
    let article = page_type == PageType::Article;
    let catalogue = matches!(page_type, PageType::Listing | PageType::Collection);
    // Pages whose content is links among words: only a block of nothing but links is
    // a list of other pages there.
    let links_among_words = catalogue || matches!(page_type, PageType::Forum | PageType::Documentation);
    let block = |node: &dom_query::NodeRef<'_>| ["div", "section", "ul", "ol"].iter().any(|name| node.has_name(name));
    let Some((page, blocks)) = sizes::of_body(dom, block) else { return };
    let page_prose = page.chars.saturating_sub(page.link_chars);
    for (node, sizes::Sizes { chars, links, link_chars }) in blocks {
        let only_links = link_chars * 20 >= chars * 19;
        let prose_elsewhere = page_prose.saturating_sub(chars.saturating_sub(link_chars)) >= MIN_MAIN_CHARS;
        let headlines = catalogue && link_chars >= links * HEADLINE_CHARS;
        let of_links = if links_among_words {
            // All of its text, not the nineteen twentieths of `only_links`, which took
            // a parts category's and a shop's cards too (tuning -0.00045).
            link_chars >= chars && links >= LINKS_ONLY_MIN_LINKS
        } else {
            links >= LINK_LIST_MIN_LINKS && link_chars * 10 >= chars * LINK_LIST_TENTHS
        };
        let list = chars > 0
            && !headlines
            && (!holds_most_of(chars, page.chars) || (article && only_links && prose_elsewhere))
            && of_links;
        if list {
            node.remove_from_parent();
        }
    }
}

/// Characters a listing's links hold on average, from which they are its items'
/// titles rather than a menu (see [`drop_link_lists`]).
const HEADLINE_CHARS: usize = 20;
