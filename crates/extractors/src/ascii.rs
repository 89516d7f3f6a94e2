//! ASCII case-insensitive search in bytes: tag names in raw HTML, words in class and id
//! names. One helper, so every caller gets the same memchr-driven scan.

/// Where `needle` (lowercase ASCII, not empty) first occurs in `haystack` at or after
/// `from`, in any case. Candidates are found by the needle's first byte in either
/// case with memchr, so a scan costs little more than a plain search.
pub(crate) fn find_ignoring_case(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut at = from;
    while at < haystack.len() {
        let start = at + memchr::memchr2(first, first.to_ascii_uppercase(), &haystack[at..])?;
        if haystack.get(start..start + needle.len()).is_some_and(|w| w.eq_ignore_ascii_case(needle)) {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// Whether `haystack` holds `needle` (lowercase ASCII), in any case.
pub(crate) fn holds_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    find_ignoring_case(haystack, 0, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_needle_in_any_case_from_an_offset_and_never_past_the_end() {
        assert_eq!(find_ignoring_case(b"<p><NoScript>", 0, b"<noscript"), Some(3));
        assert_eq!(find_ignoring_case(b"media Media", 1, b"media"), Some(6));
        assert_eq!(find_ignoring_case(b"cda-medi", 0, b"media"), None, "a needle cut off by the end is not there");
        assert_eq!(find_ignoring_case(b"abc", 5, b"a"), None);
        assert!(holds_ignoring_case(b"Author-BIO", b"bio"));
        assert!(!holds_ignoring_case(b"author", b""), "an empty needle is never found");
    }
}
