//! Turning fetched bytes into UTF-8 text: what the content really is (the declared
//! type corrected by sniffing) and which character set it is written in.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// The kinds of content ctxd accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Html,
    Markdown,
    Text,
    Json,
    Pdf,
}

/// The content's kind: the declared `content_type` when it is one ctxd knows,
/// corrected by the bytes (a PDF or HTML page served as `text/plain` or
/// `application/octet-stream` is still a PDF or an HTML page).
///
/// # Errors
/// A message naming the declared type when it is neither known nor recognisable.
pub fn kind_of(content_type: Option<&str>, bytes: &[u8]) -> Result<Kind, String> {
    let essence = content_type.and_then(|ct| ct.split(';').next()).map(|e| e.trim().to_ascii_lowercase());
    let sniffed = sniff(bytes);
    let declared = match essence.as_deref() {
        None | Some("") | Some("application/octet-stream") | Some("binary/octet-stream") => None,
        Some("text/html" | "application/xhtml+xml") => Some(Kind::Html),
        Some("text/markdown" | "text/x-markdown") => Some(Kind::Markdown),
        // JSON Lines too (a Claude Code session file): read as JSON, and fenced as
        // such when it is not a transcript.
        Some("application/json" | "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines") => {
            Some(Kind::Json)
        }
        Some(e) if e.ends_with("+json") => Some(Kind::Json),
        Some("application/pdf") => Some(Kind::Pdf),
        Some(e) if e.starts_with("text/") => Some(Kind::Text),
        Some(other) => {
            // A server mislabelling a PDF or a page is common; anything else is refused.
            return sniffed
                .filter(|k| matches!(k, Kind::Pdf | Kind::Html))
                .ok_or_else(|| format!("content type {other} is not supported"));
        }
    };
    refuse_binary(bytes)?;
    Ok(match (declared, sniffed) {
        // Bytes that are unmistakably a PDF or HTML beat a generic text label.
        (Some(Kind::Text) | None, Some(kind @ (Kind::Pdf | Kind::Html))) => kind,
        (None, Some(kind)) => kind,
        (Some(kind), _) => kind,
        (None, None) => Kind::Text,
    })
}

/// How much of the input the binary check looks at.
const BINARY_SAMPLE: usize = 8192;

/// Refuses bytes that are not text in any encoding ctxd reads: a known binary format
/// (an image, an archive, an executable...) by its magic number, or bytes dense with
/// control characters. Only input that is not valid UTF-8 is judged, so text that
/// merely holds a NUL or begins like a magic number ("MZ...") is still text, and
/// legacy 8-bit text (windows-1252) has no control characters to trip on.
///
/// # Errors
/// A message naming the format when it is known.
pub fn refuse_binary(bytes: &[u8]) -> Result<(), String> {
    if bytes.starts_with(b"%PDF-") || has_unicode_bom(bytes) {
        return Ok(());
    }
    let sample = &bytes[..bytes.len().min(BINARY_SAMPLE)];
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => true,
        // A sample cut inside a character is still text.
        Err(e) => e.error_len().is_none() && bytes.len() > BINARY_SAMPLE,
    };
    if valid {
        return Ok(());
    }
    if let Some(kind) = infer::get(sample).filter(|k| k.matcher_type() != infer::MatcherType::Text) {
        return Err(format!("the content is binary ({}), not text ctxd can read", kind.mime_type()));
    }
    let controls = sample
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b)) || b == 0x7f)
        .count();
    // Random bytes hold about 11% controls; text in a legacy encoding next to none.
    if controls * 20 > sample.len() {
        return Err("the content is binary data, not text ctxd can read".into());
    }
    Ok(())
}

fn has_unicode_bom(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\xEF\xBB\xBF") || bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF")
}

fn sniff(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(b"%PDF-") {
        return Some(Kind::Pdf);
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)])
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    if head.starts_with("<!doctype html") || head.starts_with("<html") || head.starts_with("<head") {
        return Some(Kind::Html);
    }
    if head.starts_with('{') || head.starts_with('[') {
        return Some(Kind::Json);
    }
    None
}

/// Decodes text to UTF-8: a byte-order mark wins, then the `charset` of the content
/// type, then (for HTML) a `<meta charset>` near the top, then UTF-8 if the bytes are
/// valid UTF-8, else windows-1252 as browsers do. Malformed sequences become U+FFFD
/// rather than failing the run.
pub fn decode(bytes: &[u8], content_type: Option<&str>, kind: Kind) -> String {
    let declared =
        content_type.and_then(charset_param).or_else(|| (kind == Kind::Html).then(|| meta_charset(bytes)).flatten());
    let encoding = declared
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .unwrap_or_else(|| if std::str::from_utf8(bytes).is_ok() { UTF_8 } else { WINDOWS_1252 });
    let (text, _, had_errors) = encoding.decode(bytes);
    if had_errors && encoding == UTF_8 {
        // A wrong label (servers default to UTF-8 for legacy pages): the page's own
        // <meta charset>, else windows-1252, which decodes any byte.
        let fallback = (kind == Kind::Html)
            .then(|| meta_charset(bytes))
            .flatten()
            .and_then(|label| Encoding::for_label(label.as_bytes()))
            .filter(|e| *e != UTF_8)
            .unwrap_or(WINDOWS_1252);
        return fallback.decode(bytes).0.into_owned();
    }
    text.into_owned()
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        (name.trim().eq_ignore_ascii_case("charset")).then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// `<meta charset="x">` or `<meta http-equiv=... content="...; charset=x">` in the
/// first 1024 bytes.
fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let value: String = head[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_archives_and_random_bytes_are_refused_whatever_their_label() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10";
        let refused = kind_of(None, png).unwrap_err();
        assert!(refused.contains("image/png"), "{refused}");
        assert!(kind_of(Some("text/plain"), png).is_err(), "a text label does not make a PNG text");
        let zip = b"PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0\xb4\xe7";
        assert!(kind_of(None, zip).unwrap_err().contains("zip"));
        // Deterministic noise: every byte value, shuffled by a multiplier.
        let noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert_eq!(kind_of(None, &noise).unwrap_err(), "the content is binary data, not text ctxd can read");
    }

    #[test]
    fn text_that_holds_nuls_magic_words_or_legacy_bytes_is_still_text() {
        assert_eq!(kind_of(Some("text/plain"), b"first\0\0second\0 line\n"), Ok(Kind::Text));
        assert_eq!(kind_of(None, b"MZ Wallace bags, reviewed"), Ok(Kind::Text));
        assert_eq!(kind_of(None, b"caf\xe9 cr\xe8me br\xfbl\xe9e"), Ok(Kind::Text));
        assert_eq!(kind_of(None, b"\xFF\xFEh\0i\0"), Ok(Kind::Text), "UTF-16 with its mark is text");
        let long = "é".repeat(BINARY_SAMPLE);
        assert_eq!(kind_of(None, long.as_bytes()), Ok(Kind::Text), "a sample cut inside a character");
    }

    #[test]
    fn a_utf8_label_on_legacy_bytes_falls_back_to_the_page_or_windows_1252() {
        let latin1 = b"caf\xe9 cr\xe8me";
        assert_eq!(decode(latin1, Some("text/plain; charset=utf-8"), Kind::Text), "café crème");
        let cyrillic = b"<meta charset=\"windows-1251\"><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>";
        assert!(decode(cyrillic, Some("text/html; charset=UTF-8"), Kind::Html).contains("Привет"));
        assert_eq!(decode("ok ✓".as_bytes(), Some("text/plain; charset=utf-8"), Kind::Text), "ok ✓");
    }

    #[test]
    fn declared_types_are_corrected_by_sniffing() {
        assert_eq!(kind_of(Some("text/plain"), b"%PDF-1.7 ..."), Ok(Kind::Pdf));
        assert_eq!(kind_of(Some("application/octet-stream"), b"<!DOCTYPE html><p>x"), Ok(Kind::Html));
        assert_eq!(kind_of(None, b"  {\"a\": 1}"), Ok(Kind::Json));
        assert_eq!(kind_of(None, b"just words"), Ok(Kind::Text));
        assert_eq!(kind_of(Some("text/markdown; charset=utf-8"), b"# Title"), Ok(Kind::Markdown));
        assert_eq!(kind_of(Some("application/xhtml+xml"), b"<?xml ...?><html>"), Ok(Kind::Html));
        assert_eq!(kind_of(Some("image/png"), b"\x89PNG"), Err("content type image/png is not supported".into()));
        assert_eq!(kind_of(Some("application/zip"), b"<html><body>"), Ok(Kind::Html), "a mislabelled page");
    }

    #[test]
    fn charsets_come_from_the_bom_the_header_the_meta_tag_or_the_bytes() {
        let latin1 = b"caf\xe9";
        assert_eq!(decode(latin1, Some("text/plain; charset=ISO-8859-1"), Kind::Text), "café");
        assert_eq!(decode(latin1, None, Kind::Text), "café", "invalid UTF-8 falls back to windows-1252");
        let page = b"<html><head><meta charset=\"windows-1251\"></head><body>\xcf\xf0\xe8\xe2\xe5\xf2</body></html>";
        assert!(decode(page, Some("text/html"), Kind::Html).contains("Привет"));
        let sjis = b"\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd";
        assert_eq!(decode(sjis, Some("text/plain; charset=\"Shift_JIS\""), Kind::Text), "こんにちは");
        let bom_utf16 = b"\xff\xfeh\x00i\x00";
        assert_eq!(decode(bom_utf16, Some("text/plain; charset=utf-8"), Kind::Text), "hi", "the BOM wins");
        assert_eq!(decode("naïve".as_bytes(), None, Kind::Text), "naïve");
    }
}
