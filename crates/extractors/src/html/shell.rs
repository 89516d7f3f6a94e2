//! Pages whose content is not in their HTML: a script-rendered shell (a shop's app
//! page, a single-page application) leaves an answer of interface text only, a search
//! box's placeholder, a menu, "Sold out" labels. Such an answer is no content. Only a
//! page read from an address is judged so (`html::extract_prepared`): HTML pasted or
//! uploaded is what its owner wrote, however short.

use crate::markdown;

/// Words under which an answer that holds no sentence is interface text. WCXB dev
/// marks its single-page-application pages and gives them no content at all; jusText
/// likewise drops a page whose blocks are all short. Chosen on the tuning part: 15
/// words gained 0.0011, 25 gained 0.0022 (a search box's "I'm shopping for...", a
/// menu, ten "Sold Out" labels), 30 and 40 no more; the checking part gained 0.0044
/// at each (two app pages). Without the sentence guard 25 gained 0.0033 on tuning,
/// but a short page of real text ("Back on Monday. Orders ship then.") would lose it.
const MAX_WORDS: usize = 25;

/// Characters (whitespace aside) under which an answer may be interface text: about
/// [`MAX_WORDS`] English words. Words alone would not do: Japanese or Chinese text
/// has no spaces between its words, and a whole article counted as 18 "words".
const MAX_CHARS: usize = 150;

/// Whether `answer` (markdown) is interface text and not content: under
/// [`MAX_WORDS`] words and [`MAX_CHARS`] characters, and not one line that reads as a
/// sentence.
pub(super) fn is_interface_text(answer: &str) -> bool {
    let text = markdown::plain_text(answer);
    let words = text.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count();
    words > 0 && words < MAX_WORDS && super::dense_chars(&text) < MAX_CHARS && !text.lines().any(is_sentence)
}

/// Characters a line must hold to count as a sentence ("Short note." does, "Sale." not).
const MIN_SENTENCE_CHARS: usize = 6;

/// A line that ends as a sentence does (`.`, `!` or `?`, or their full-width forms,
/// before a closing quote or bracket); an ellipsis ends a placeholder, not a sentence.
fn is_sentence(line: &str) -> bool {
    let line = line.trim().trim_end_matches(['"', '\'', ')', '”', '’', '」']);
    let ellipsis = line.ends_with("...") || line.ends_with('…');
    !ellipsis && line.ends_with(['.', '!', '?', '。', '！', '？']) && super::dense_chars(line) >= MIN_SENTENCE_CHARS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_placeholder_a_menu_or_sold_out_labels_are_interface_text() {
        assert!(is_interface_text("I'm shopping for...\n"));
        assert!(is_interface_text("Menu\n\n- Desks\n- Chairs\n- Storage\n- Sale\n"));
        assert!(is_interface_text(&"Sold Out ".repeat(10)));
    }

    #[test]
    fn a_short_answer_with_a_sentence_is_content() {
        assert!(!is_interface_text("Closed for the holidays\n\nBack on Monday. Orders placed now ship then.\n"));
        assert!(!is_interface_text("Is the shop open on Sundays?\n"));
        assert!(!is_interface_text("The meeting moved to room 4 (\"the big one\").\n"));
        assert!(!is_interface_text("Short note.\n"));
    }

    #[test]
    fn a_fetched_shell_page_has_no_content_but_pasted_html_keeps_its_few_words() {
        let page = r#"<html><body><header><a href="/">Shop</a></header>
            <div class="search"><input placeholder="I'm shopping for..."></div>
            <p>I'm shopping for...</p><div id="root"></div></body></html>"#;
        let fetched = super::super::extract(page, Some("https://shop.example.com/item/1005"));
        assert_eq!(fetched.markdown, "", "a shell read from the web");
        let pasted = super::super::extract("<html><body><p>Buy milk</p></body></html>", None);
        assert_eq!(pasted.markdown, "Buy milk\n", "a note pasted as HTML");
    }

    #[test]
    fn text_without_spaces_between_words_is_measured_by_its_characters() {
        // Japanese: one sentence, then lines without a closing mark.
        assert!(!is_interface_text("先日、不正に改造したiPhoneを販売したとして男性が逮捕されました。\n"));
        let long = "商標には商品の出所を表示する機能と品質を保証する機能があります".repeat(6);
        assert!(!is_interface_text(&long), "{} characters of text is content", long.chars().count());
    }

    #[test]
    fn an_answer_of_many_words_is_content_and_an_empty_one_is_left_alone() {
        let labels: String = (0..30).map(|i| format!("- Item {i}\n")).collect();
        assert!(!is_interface_text(&labels), "60 words of labels is a list, not a shell");
        assert!(!is_interface_text(""));
        assert!(!is_interface_text("\n\n"));
    }
}
