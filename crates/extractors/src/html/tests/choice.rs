//! Tests of [`choose`]: which of a page's answers is its content.

use super::*;

#[test]
fn readability_is_kept_unless_it_holds_a_small_share_of_what_a_reader_sees() {
    let words = |n: usize, word: &str| vec![word; n].join(" ");
    let (main, visible) = (words(75, "main"), words(100, "seen"));
    assert_eq!(choose(&candidates_with(Some(&main), None, &visible, false)), main, "75% is enough");
    let visible = words(140, "seen");
    assert_eq!(choose(&candidates_with(Some(&main), None, &visible, false)), visible, "54% is not");
    // A page that declares itself an article is trusted further, and wholly when it
    // also reads as one.
    let mut declared = candidates_with(Some(&main), None, &visible, true);
    declared.page_type = PageType::Service;
    assert_eq!(choose(&declared), main, "54% of a declared article");
    let visible = words(400, "seen");
    declared.visible.clone_from(&visible);
    assert_eq!(choose(&declared), visible, "19% is not");
    declared.page_type = PageType::Article;
    declared.visible = words(250, "seen");
    assert_eq!(choose(&declared), main, "an article keeps readability's answer at 30%");
    declared.visible = words(400, "seen");
    assert_eq!(choose(&declared), declared.visible, "unless it holds under two tenths of the page: a miss");
}

#[test]
fn a_declared_articles_answer_that_holds_little_of_its_main_landmark_gives_way_to_it() {
    let words = |n: usize, word: &str| vec![word; n].join(" ");
    let (main, visible) = (words(300, "section"), words(1000, "page"));
    let mut article = candidates_with(Some(&main), Some(&words(900, "main")), &visible, true);
    article.page_type = PageType::Article;
    assert_eq!(choose(&article), article.landmark.clone().unwrap(), "a third of the landmark is one section of it");
    article.landmark = Some(words(600, "main"));
    assert_eq!(choose(&article), main, "half of the landmark is the story");
    article.landmark = None;
    assert_eq!(choose(&article), main, "without a landmark the page is not the measure");
}

#[test]
fn readability_is_weighed_against_the_running_text_a_reader_sees_not_its_labels() {
    let line = |n: usize, word: &str| vec![word; n].join(" ");
    assert_eq!(Size::of("# Shop\n\n- Sale\n- New in\n\nOur shoes are made to last.\n").weighed(PageType::Other), 6);
    let main: String = (0..8).map(|_| format!("{}\n\n", line(10, "story"))).collect();
    let menu: String = (0..100).map(|i| format!("- Menu {i}\n")).collect();
    let visible = format!("{menu}\n{main}");
    // 80 of 280 words, and all of the page's running text.
    assert_eq!(choose(&candidates_with(Some(&main), None, &visible, false)), main);
    let mut product = candidates_with(Some(&main), None, &visible, false);
    product.page_type = PageType::Product;
    assert_eq!(choose(&product), visible, "a product's short lines (price, options) are its content");
}

/// A story of six paragraphs and a thread of 40 comments under it, on a page that does
/// not declare itself an article.
fn story_under_comments(article_class: &str) -> String {
    let story: String = (1..=6)
        .map(|n| format!("<p>Paragraph {n} of the story: the city council voted to rebuild the old harbour bridge, and the works start in spring after a year of surveys.</p>"))
        .collect();
    // A short story under a thousand words of comments reads as a thread (a forum):
    // under this longer thread the page's prose passes an article's bound.
    let comments: String = (1..=70)
        .map(|n| format!("<li class=\"comment\"><div class=\"details\">by reader{n}</div><p>Comment {n}: I drove over that bridge every day for twenty years and never once thought it would last, so this is overdue and welcome news for all of us.</p></li>"))
        .collect();
    format!(
        r#"<html><head><title>Harbour bridge to be rebuilt</title></head><body>
        <article class="{article_class}"><h1>Harbour bridge to be rebuilt</h1>{story}</article>
        <ul id="commentlisting">{comments}</ul></body></html>"#
    )
}

#[test]
fn an_undeclared_articles_comment_thread_is_not_its_content() {
    let out = extract(&story_under_comments("story"), Some("https://news.example.com/story/25/12/19/harbour-bridge"));
    assert_eq!(out.page_type, PageType::Article);
    assert!(out.markdown.contains("Paragraph 6 of the story"), "{}", out.markdown);
    assert!(!out.markdown.contains("Comment 1:"), "the comments are not the article: {}", out.markdown);
}

#[test]
fn a_block_named_for_comments_that_holds_most_of_the_page_is_kept() {
    // Squarespace names a story that takes comments `has-comments`.
    let dom = Dom::from(story_under_comments("BlogItem has-comments"));
    dom.select("#commentlisting").remove();
    drop_comment_threads(&dom);
    assert!(dom.select("body").text().contains("Paragraph 6 of the story"));
}
