//! Repeated items: the run of sibling blocks built alike (a thread's posts) that holds
//! much of a page's text, found from the DOM's shape rather than from any one forum
//! engine's class names, and the rule that prefers a thread's posts to readability's
//! answer when that answer is one of them.

use std::collections::HashMap;

use dom_query::{Document as Dom, NodeId, NodeRef};

use super::sizes::Sizes;
use super::{Forms, Known, PageType, clean_for_reading};
use crate::markdown;

/// Tags an item can be: blocks that hold a post or an entry, not inline text.
const ITEM_TAGS: &[&str] = &["div", "article", "section", "li", "tr", "tbody", "table", "dl", "details"];

/// A thread has at least this many posts; the opening post and one reply make one.
const MIN_ITEMS: usize = 2;

/// The items hold at least this many tenths of the page's text (what is left after
/// [`clean_for_reading`]).
const MIN_SHARE_TENTHS: usize = 4;

/// Items whose text is this many tenths link text or more are lists of other pages
/// (a blog's sidebar widgets of article titles), not posts.
const MAX_LINK_TENTHS: usize = 3;

/// Readability's answer is one post of the thread when at least this share of its
/// words are in the posts...
const MAIN_IN_POSTS: f64 = 0.8;

/// ...and the posts' words are not mostly in it (then it is the thread already, its
/// authors' badges and buttons left out, and it stays).
const POSTS_IN_MAIN: f64 = 0.7;

/// Markdown of a forum thread's posts: the page cleaned as for the whole-page answer
/// but keeping its forms (Invision and SMF wrap a thread in a moderation form), then
/// its [`repeated_items`] one after the other. `None` when no run of items is found.
///
/// Chosen on the tuning part of WCXB dev (forum pages 0.736 -> 0.767, all 0.855 ->
/// 0.858; without keeping forms 0.744) and held on its checking part (forum 0.780 ->
/// 0.788, all 0.8396 -> 0.8403); ScrapingHub unchanged. Using the items on pages of
/// other kinds (listings, products, collections) moved the tuning part by 0.001 or
/// less and was left out.
pub(super) fn thread_markdown(dom: &Dom, url: Option<&str>) -> Option<String> {
    clean_for_reading(dom, Known { url, page_type: PageType::Forum, product: false }, Forms::Keep);
    let body = dom.body()?;
    let items = repeated_items(&body)?;
    drop_post_extras(&items);
    Some(items.iter().map(|item| item.md(None).to_string()).collect::<Vec<_>>().join("\n\n"))
}

/// Class and id words of a list of comments on a post (Stack Exchange's
/// `comments-list`, with `comment` items)...
const COMMENT_LIST_WORDS: &[&str] = &["comment", "comments", "commentlist"];

/// ...and of what a post says about its author rather than its subject: signatures
/// (Stack Exchange's `post-signature` user cards, a forum's signature line).
const AUTHOR_CARD_WORDS: &[&str] = &["signature", "usercard", "userinfo"];

/// Removes from a thread's posts the remarks attached to each one and their authors'
/// cards: within a post, a list of comments (an element named with
/// [`COMMENT_LIST_WORDS`] that is a `<ul>`/`<ol>` or has a child named so) and a block
/// named with [`AUTHOR_CARD_WORDS`]. Only when at least two posts have them: a
/// question-and-answer site attaches them to every post, while a forum whose replies
/// sit in one "comments" list inside one item (Vanilla) would lose its replies.
/// (A post's own body can be named "comment" too, as Invision's are: a single
/// element so named is not a list.)
///
/// Chosen on the tuning part of WCXB dev: 0.8694 -> 0.8704, forum pages 0.767 ->
/// 0.778 (a Server Fault question 0.66 -> 0.93), none loses; checking part 0.8450 ->
/// 0.8456. Every comment-named block inside a post went too far: Invision posts,
/// 0.95 -> 0.35.
fn drop_post_extras(items: &[NodeRef<'_>]) {
    let extras: Vec<Vec<NodeRef<'_>>> = items
        .iter()
        .map(|item| {
            item.descendants_it()
                .filter(|node| {
                    // The name first: asking for an element's children copies them.
                    let listed = || {
                        node.has_name("ul")
                            || node.has_name("ol")
                            || node.element_children().iter().any(|child| super::named_with(child, COMMENT_LIST_WORDS))
                    };
                    (super::named_with(node, COMMENT_LIST_WORDS) && listed())
                        || super::named_with(node, AUTHOR_CARD_WORDS)
                })
                .collect()
        })
        .collect();
    if extras.iter().filter(|found| !found.is_empty()).count() < 2 {
        return;
    }
    for node in extras.into_iter().flatten() {
        node.remove_from_parent();
    }
}

/// Whether readability's answer `main` is one post of the thread `posts`: most of its
/// words are in the posts, and the posts hold much it does not.
pub(super) fn is_one_post_of(main: &str, posts: &str) -> bool {
    let (main, posts) = (word_bag(main), word_bag(posts));
    share_within(&main, &posts) >= MAIN_IN_POSTS && share_within(&posts, &main) < POSTS_IN_MAIN
}

/// A text's words, lowercased, with how often each occurs.
fn word_bag(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in markdown::plain_text(text).split_whitespace() {
        *counts.entry(word.to_lowercase()).or_default() += 1;
    }
    counts
}

/// The share of `part`'s words that `whole` holds too, each word as often as both do.
fn share_within(part: &HashMap<String, usize>, whole: &HashMap<String, usize>) -> f64 {
    let total: usize = part.values().sum();
    let held: usize = part.iter().map(|(word, n)| (*n).min(whole.get(word).copied().unwrap_or(0))).sum();
    if total == 0 { 1.0 } else { held as f64 / total as f64 }
}

/// The repeated items under `root`: a group of at least [`MIN_ITEMS`] element
/// siblings of one [`signature`] that holds at least [`MIN_SHARE_TENTHS`] of `root`'s
/// text, little of it link text. Of those, the group scoring highest on its text
/// times `(n - 1) / n` for its `n` items wins: a thread's ten posts win over the two
/// columns that hold them and the sidebar.
pub(super) fn repeated_items<'a>(root: &NodeRef<'a>) -> Option<Vec<NodeRef<'a>>> {
    let sizes = sizes_by_element(root);
    let size = |node: &NodeRef<'_>| sizes.get(&node.id).copied().unwrap_or_default();
    let count = |node: &NodeRef<'_>| size(node).chars;
    let total = count(root);
    if total == 0 {
        return None;
    }
    let mut best: Option<(usize, Vec<NodeRef<'a>>)> = None;
    for parent in std::iter::once(*root).chain(root.descendants_it()).filter(NodeRef::is_element) {
        let mut groups: HashMap<String, Vec<NodeRef<'a>>> = HashMap::new();
        for child in parent.element_children() {
            if let Some(signature) = signature(&child) {
                groups.entry(signature).or_default().push(child);
            }
        }
        for items in groups.into_values() {
            if items.len() < MIN_ITEMS {
                continue;
            }
            let held: usize = items.iter().map(count).sum();
            if held * 10 < total * MIN_SHARE_TENTHS {
                continue;
            }
            let links: usize = items.iter().map(|item| size(item).link_chars).sum();
            if links * 10 >= held * MAX_LINK_TENTHS {
                continue;
            }
            let score = held * (items.len() - 1) / items.len();
            if best.as_ref().is_none_or(|(best_score, _)| score > *best_score) {
                best = Some((score, items));
            }
        }
    }
    best.map(|(_, items)| items)
}

/// An item's kind: its tag and the first word of its class with digits dropped
/// (phpBB's `post bg2` and `post bg1` are one kind, Discourse's `topic-post` another).
/// A `<div>` without a class is no kind: page layouts are built of them.
fn signature(node: &NodeRef<'_>) -> Option<String> {
    let tag = node.node_name()?;
    if !ITEM_TAGS.contains(&tag.as_ref()) {
        return None;
    }
    let class = node.class().unwrap_or_default();
    let first = class.split_whitespace().next().unwrap_or_default();
    if first.is_empty() && matches!(tag.as_ref(), "div" | "section" | "article") {
        return None;
    }
    let first: String = first.chars().filter(|c| !c.is_ascii_digit()).collect();
    Some(format!("{tag}.{first}"))
}

/// The text sizes of every element under `root` (see [`super::sizes`]).
fn sizes_by_element(root: &NodeRef<'_>) -> HashMap<NodeId, Sizes> {
    let mut sizes = HashMap::new();
    super::sizes::walk(root, &mut |node, inside| {
        sizes.insert(node.id, inside);
    });
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items_of(html: &str) -> Vec<String> {
        let dom = Dom::from(html);
        let body = dom.body().expect("a body");
        repeated_items(&body).unwrap_or_default().iter().map(|item| item.text().trim().to_owned()).collect()
    }

    #[test]
    fn a_threads_posts_win_over_the_layout_columns_that_hold_them() {
        let posts: String = (1..=5)
            .map(|i| {
                format!(r#"<div class="post bg{}"><p>Post {i} says something long enough to count.</p></div>"#, i % 2)
            })
            .collect();
        let html = format!(
            r#"<body><div class="col"><div class="thread">{posts}</div></div><div class="col"><p>Side</p></div></body>"#
        );
        let items = items_of(&html);
        assert_eq!(items.len(), 5, "{items:?}");
        assert!(items[4].starts_with("Post 5"), "{items:?}");
    }

    #[test]
    fn bare_divs_and_lists_of_links_are_not_items() {
        let bare = "<body><div><p>One half of the page, written out.</p></div><div><p>The other half, written out.</p></div></body>";
        assert!(items_of(bare).is_empty(), "a layout of bare divs");
        let widgets: String = (1..=4)
            .map(|i| format!(r#"<div class="widget"><a href="/{i}">A title of another article, number {i}</a></div>"#))
            .collect();
        assert!(items_of(&format!("<body>{widgets}<p>Short.</p></body>")).is_empty(), "widgets of links");
    }

    /// A question-and-answer page whose question has a list of comments and a user
    /// card, and whose answers have them too when `extras_on_each`.
    fn answered(extras_on_each: bool) -> String {
        let post = |kind: &str, body: &str, extras: bool| {
            let extras = if extras {
                r#"<div class="post-signature"><a href="/u/1">sam</a> 10.6k gold badges</div>
                <div class="comments"><ul class="comments-list"><li class="comment">Did you try a reboot? - pat</li></ul></div>"#
            } else {
                ""
            };
            format!(r#"<div class="{kind}"><div class="post-text"><p>{body}</p></div>{extras}</div>"#)
        };
        let mut posts = post("post", &"Why is RAID not a backup when every disk is mirrored? ".repeat(4), true);
        for i in 1..=2 {
            let body = format!("Answer {i}: a mirror copies mistakes as fast as data. ").repeat(4);
            posts.push_str(&post("post", &body, extras_on_each));
        }
        format!(r#"<html><body><div class="layout"><div id="mainbar">{posts}</div></div></body></html>"#)
    }

    #[test]
    fn comment_lists_and_user_cards_attached_to_every_post_are_left_out() {
        let md = thread_markdown(&Dom::from(answered(true).as_str()), None).unwrap_or_default();
        assert!(md.contains("Why is RAID not a backup") && md.contains("Answer 2:"), "{md}");
        assert!(!md.contains("Did you try a reboot"), "the comments go: {md}");
        assert!(!md.contains("gold badges"), "the user cards go: {md}");
    }

    #[test]
    fn a_comment_list_in_one_post_alone_is_the_threads_replies_and_stays() {
        let md = thread_markdown(&Dom::from(answered(false).as_str()), None).unwrap_or_default();
        assert!(md.contains("Did you try a reboot") && md.contains("gold badges"), "{md}");
    }

    #[test]
    fn one_post_of_a_thread_is_told_from_the_thread_itself() {
        assert!(is_one_post_of("the opening post", "the opening post and three long replies after it"));
        assert!(!is_one_post_of(
            "the opening post and three long replies",
            "the opening post and three long replies Joined"
        ));
        assert!(!is_one_post_of("an article about something else", "the opening post and replies"));
    }
}
