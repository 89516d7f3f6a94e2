//! Code artifacts with syntax highlighting: syntect's grammars (the Sublime Text ones
//! it ships) mark tokens with CSS classes (`hl-keyword`, `hl-string`, ...), which the
//! console's stylesheet colours in light and dark schemes. Unknown languages and very
//! large blocks stay plain text.

use std::sync::OnceLock;

use syntect::{
    html::{ClassStyle, ClassedHTMLGenerator},
    parsing::SyntaxSet,
    util::LinesWithEndings,
};

/// Larger blocks are shown plain: highlighting is a regex walk over every line.
const MAX_BYTES: usize = 64 * 1024;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// `code` as escaped HTML with highlighting spans, when `language` is one syntect
/// knows (by name or file extension, any case); `None` otherwise.
pub fn to_html(code: &str, language: Option<&str>) -> Option<String> {
    let language = language?.trim();
    if code.len() > MAX_BYTES || language.is_empty() {
        return None;
    }
    let set = syntaxes();
    let syntax =
        set.find_syntax_by_token(language).or_else(|| set.find_syntax_by_extension(&language.to_ascii_lowercase()))?;
    let mut generator =
        ClassedHTMLGenerator::new_with_class_style(syntax, set, ClassStyle::SpacedPrefixed { prefix: "hl-" });
    for line in LinesWithEndings::from(code) {
        generator.parse_html_for_line_which_includes_newline(line).ok()?;
    }
    Some(generator.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_are_marked_and_everything_is_escaped() {
        let html = to_html("fn main() { let s = \"<b>\"; }\n", Some("rust")).unwrap();
        assert!(html.contains("hl-keyword") || html.contains("hl-storage"), "{html}");
        assert!(html.contains("hl-string"), "{html}");
        assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"), "{html}");
        assert!(to_html("SELECT 1;\n", Some("SQL")).is_some(), "names match without case");
        assert!(to_html("x = 1\n", Some("py")).is_some(), "extensions too");
        assert_eq!(to_html("anything", Some("no-such-language")), None);
        assert_eq!(to_html("anything", None), None);
    }
}
