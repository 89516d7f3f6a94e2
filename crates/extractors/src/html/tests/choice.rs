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
