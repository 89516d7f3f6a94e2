//! Mojibake: text that was UTF-8 but was read as windows-1252 before the page was
//! written ("isnâ€™t" for "isn’t", "Ã©" for "é"), mended word by word.
//!
//! The page's bytes are decoded right ([`crate::text::decode`]); the damage is in the
//! text itself, often as entities (`&acirc;&euro;&trade;`), made by a CMS that
//! imported UTF-8 as windows-1252. A reader of the page sees the garbled letters, but
//! a user of its context wants the words. A word is mended when its characters are all
//! windows-1252's and its windows-1252 bytes are valid UTF-8 that says something else:
//! a word with a real Latin letter ("café", "NÃO", "naïve") is not valid UTF-8 that
//! way, so it stays. ftfy (Python) does this with more heuristics; no maintained
//! Rust crate does it, and the round trip is a few lines over `encoding_rs`.

use std::borrow::Cow;

use encoding_rs::WINDOWS_1252;

use crate::markdown::Fences;

/// Mojibake is at most this many layers deep (UTF-8 read as windows-1252 twice over
/// is seen: "â€™" saved again as "Ã¢â‚¬â„¢").
const MAX_LAYERS: usize = 2;

/// `markdown` with its garbled words mended; code blocks are left as written (a post
/// about encodings shows mojibake on purpose, and its examples are code).
pub fn mended(markdown: &str) -> Cow<'_, str> {
    if !markdown.chars().any(leads_a_sequence) {
        return Cow::Borrowed(markdown);
    }
    let mut fences = Fences::default();
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.split_inclusive('\n') {
        let in_code = fences.in_code();
        let toggled = fences.feed(line.trim_end_matches('\n'));
        if in_code || toggled || !line.chars().any(leads_a_sequence) {
            out.push_str(line);
            continue;
        }
        for (i, word) in line.split(' ').enumerate() {
            if i > 0 {
                out.push(' ');
            }
            match mended_word(word) {
                Some(word) => out.push_str(&word),
                None => out.push_str(word),
            }
        }
    }
    Cow::Owned(out)
}

/// Whether `c`, read as a windows-1252 byte, would open a UTF-8 sequence of two to
/// four bytes (0xC2..=0xF4): every mojibake word holds one.
fn leads_a_sequence(c: char) -> bool {
    ('\u{c2}'..='\u{f4}').contains(&c)
}

/// `word` re-read as the UTF-8 it was, when it is mojibake; `None` when it is not,
/// or when it is quoted: a post about encodings shows mojibake as an example ("I saw
/// \"Ã¤\" instead of \"ä\"").
fn mended_word(word: &str) -> Option<String> {
    if is_quoted(word) {
        return None;
    }
    let mut current = Cow::Borrowed(word);
    for _ in 0..MAX_LAYERS {
        if !current.chars().any(leads_a_sequence) {
            break;
        }
        let (bytes, _, unmappable) = WINDOWS_1252.encode(&current);
        if unmappable {
            break;
        }
        let Ok(text) = std::str::from_utf8(&bytes) else { break };
        if text == current {
            break;
        }
        current = Cow::Owned(text.to_owned());
    }
    match current {
        Cow::Owned(text) => Some(text),
        Cow::Borrowed(_) => None,
    }
}

/// Whether `word`, its trailing punctuation aside, is wrapped in ASCII quotes or
/// backticks.
fn is_quoted(word: &str) -> bool {
    let word = word.trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
    let quotes = ['"', '\'', '`'];
    word.len() >= 2 && word.starts_with(quotes) && word.ends_with(quotes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_read_as_windows_1252_is_read_again_as_utf8() {
        assert_eq!(
            mended("Artificial intelligence isnâ€™t just changing SEO."),
            "Artificial intelligence isn’t just changing SEO."
        );
        assert_eq!(mended("**CafÃ©** â€œau laitâ€\u{9d} â€” done\n"), "**Café** “au lait” — done\n");
        assert_eq!(mended("isnÃ¢â‚¬â„¢t"), "isn’t", "two layers deep");
    }

    #[test]
    fn real_latin_letters_and_other_scripts_stay_as_written() {
        for text in ["Le café est naïve.", "NÃO É VERDADE", "Ärger über Öl", "£5 for ½ a cake", "日本語 and 🎉â€™"]
        {
            assert_eq!(mended(text), text);
        }
        assert!(matches!(mended("plain ASCII"), Cow::Borrowed(_)));
        let example = "I often saw \"Ã¤\" instead of \"ä\", or `Ã¶`.";
        assert_eq!(mended(example), example, "mojibake quoted as an example stays");
    }

    #[test]
    fn code_blocks_keep_their_mojibake() {
        let md = "Donâ€™t.\n\n```text\nDonâ€™t\n```\nDonâ€™t.\n";
        assert_eq!(mended(md), "Don’t.\n\n```text\nDonâ€™t\n```\nDon’t.\n");
    }
}
