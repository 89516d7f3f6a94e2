//! Copies inside an answer: the second drawing of a block a page shows twice (once
//! for phones, once for desktops; a reply under its quote; a description repeated in
//! a tab), dropped by runs of lines compared by their words.

use ctxd_domain::model::PageType;

use crate::markdown;

/// Characters of text a run of repeated lines must hold to be dropped as a copy, on a
/// page other than an article, a documentation page, a forum thread or a product page
/// (which have their own bounds below). Chosen on the tuning part of
/// WCXB dev with lines compared by their words (see [`without_repeated_blocks`]):
/// 300 -> 100 took tuning 0.8757 -> 0.8784 (forums 0.778 -> 0.794: a reply drawn in
/// the thread and again under its quote; shop cards drawn twice for two screen
/// sizes), where 50 gave 0.8782 and 150 0.8777; checking 0.8536 -> 0.8555,
/// ScrapingHub unchanged (its articles keep [`ARTICLE_REPEATED_RUN_CHARS`]).
const REPEATED_RUN_CHARS: usize = 100;

/// A documentation page's bound: its references repeat short runs on purpose (a
/// parameter's description under two methods). 100 cost the tuning part's
/// documentation pages 0.9304 -> 0.9294 (checking 0.9261 -> 0.9258), so they keep
/// the earlier bound.
const DOCUMENTATION_REPEATED_RUN_CHARS: usize = 300;

/// An article's second copy of a run of this many characters is dropped: a page that
/// draws its story twice (once for phones, once for desktops). Chosen on the tuning
/// part of WCXB dev: 300 gained most there (0.8690 -> 0.8697) but cost ScrapingHub
/// 0.9707 -> 0.9695 (a meal plan's repeated days, a recipe's steps); 1,000 still cost
/// it 0.0003; 2,000 gains as much on tuning (0.8696; a trade blog printed twice, 0.66
/// -> 0.97) and leaves ScrapingHub as it was. Checking part 0.8448 -> 0.8458.
const ARTICLE_REPEATED_RUN_CHARS: usize = 2_000;

/// The bound on a forum thread and on a product page: every line said again goes,
/// however short. What a thread repeats is its engine's furniture, drawn on every
/// post ("Quote", "Reply", a member's rank, "Re: " and the thread's title); what a
/// product page repeats is drawn once per variant, size or screen ("Add to cart",
/// "In stock", a price shown twice). Their content rarely repeats a line.
///
/// Chosen on the tuning part of WCXB dev, lowering the bound from 100. Forums: 70
/// +0.00007, 40 +0.00017, 20 +0.00024, 10 +0.00031, 1 +0.00037 (forums 0.802 ->
/// 0.806; the most a thread lost was a medical students' thread whose truth keeps the
/// lines its replies quote, 0.76 -> 0.72); checking +0.00020 at 1. ScrapingHub stays
/// 0.971: two of its pages read as forums lose a repeated "Advert" line. Then
/// products: 60 +0.00009, 20 +0.00022, 5 +0.00025, 1 +0.00027 (46 pages gain, 11
/// lose: a sheet set's comparison cards, whose truth keeps each card's labels, 0.73
/// -> 0.56); checking +0.00024. Collections and listings lost on both parts (their
/// cards share lines the truth counts), services moved under 0.0001.
const EVERY_COPY: usize = 1;

/// The bound [`without_repeated_blocks`] drops copies from, for a page of `kind`.
pub(super) fn repeated_run_chars(kind: PageType) -> usize {
    match kind {
        PageType::Article => ARTICLE_REPEATED_RUN_CHARS,
        PageType::Documentation => DOCUMENTATION_REPEATED_RUN_CHARS,
        PageType::Forum | PageType::Product => EVERY_COPY,
        _ => REPEATED_RUN_CHARS,
    }
}

/// The body without a second copy of a block of text: responsive pages draw the same
/// block twice (once for phones, once for desktops), forums quote the post they
/// answer, shops repeat a description in a tab. A copy is a run of lines (blank lines
/// aside) each already seen, holding at least `min_chars` ([`repeated_run_chars`]):
/// shorter repeats are labels that items share ("Pros", "Key features", a price
/// line), which are content. Lines are compared by their words in lower case, so a
/// heading drawn at two levels or a line emphasised once is still a copy. Code and
/// table rows are left alone. Chosen on the tuning part of WCXB dev (0.851 -> 0.854;
/// 66 pages gain, 22 lose, where the truth keeps both copies of tabs), held on its
/// checking part (0.837 -> 0.841); comparing words rather than the lines as written
/// took tuning 0.8771 -> 0.8784 and checking 0.8550 -> 0.8555 (at a bound of 100).
pub(super) fn without_repeated_blocks(body: &str, min_chars: usize) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut fences = markdown::Fences::default();
    let lines: Vec<&str> = body.lines().collect();
    let repeated: Vec<bool> = lines
        .iter()
        .map(|line| {
            let in_code = fences.in_code();
            let toggled = fences.feed(line);
            let text = line.trim();
            if in_code || toggled || text.starts_with('|') {
                return false;
            }
            let key = line_words(text);
            !key.is_empty() && !seen.insert(key)
        })
        .collect();
    let mut dropped = vec![false; lines.len()];
    let mut at = 0;
    while at < lines.len() {
        if !repeated[at] {
            at += 1;
            continue;
        }
        let mut end = at;
        while end < lines.len() && (repeated[end] || lines[end].trim().is_empty()) {
            end += 1;
        }
        let chars: usize = (at..end).filter(|&i| repeated[i]).map(|i| lines[i].trim().chars().count()).sum();
        if chars >= min_chars {
            (at..end).filter(|&i| repeated[i]).for_each(|i| dropped[i] = true);
        }
        at = end;
    }
    let mut out = String::with_capacity(body.len());
    for (line, _) in lines.iter().zip(&dropped).filter(|(_, dropped)| !**dropped) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A line's words in lower case, one space apart: what [`without_repeated_blocks`]
/// compares (the markup and punctuation around them aside).
pub(super) fn line_words(line: &str) -> String {
    let mut key = String::with_capacity(line.len());
    for word in line.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !key.is_empty() {
            key.push(' ');
        }
        key.extend(word.chars().flat_map(char::to_lowercase));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_or_a_product_page_says_each_line_once_and_a_service_page_keeps_its_short_labels() {
        let thread = "## Re: Best filament for outdoor parts\n\nMember\n\nPETG holds up in the sun for years.\n\n\
                      Reply\n\n## Re: Best filament for outdoor parts\n\nMember\n\nASA is better still, if your \
                      printer has an enclosure.\n\nReply\n";
        let once = without_repeated_blocks(thread, repeated_run_chars(PageType::Forum));
        assert_eq!(once.matches("Re: Best filament").count(), 1, "{once}");
        assert_eq!((once.matches("Member").count(), once.matches("Reply").count()), (1, 1), "{once}");
        assert!(once.contains("PETG holds up") && once.contains("ASA is better still"), "{once}");
        let kept = without_repeated_blocks(thread, repeated_run_chars(PageType::Service));
        assert_eq!(kept, thread, "on a service page, repeated labels under the bound stay");
        let product = "# Linen apron\n\n$48.00\n\nIn stock\n\nAdd to cart\n\nWashed linen, two pockets.\n\n$48.00\n\nAdd to cart\n";
        let once = without_repeated_blocks(product, repeated_run_chars(PageType::Product));
        assert_eq!(once, "# Linen apron\n\n$48.00\n\nIn stock\n\nAdd to cart\n\nWashed linen, two pockets.\n\n\n");
    }
}
