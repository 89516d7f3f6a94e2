//! PDF → markdown: the text layer of each page in page order (lopdf), one section per
//! page. Encrypted and image-only PDFs fail with a message that says so.

use lopdf::Document;

use crate::markdown;

/// Decompressed content allowed per page: a small stream must not inflate without
/// bound (a PDF bomb), and real pages are far below this.
const MAX_PAGE_CONTENT: usize = 64 * 1024 * 1024;

/// The text of every page, as markdown with a `<!-- page N -->` marker per page.
///
/// # Errors
/// A message for the run: unreadable, encrypted, or without any text layer.
pub fn to_markdown(bytes: &[u8]) -> Result<String, String> {
    let document = Document::load_mem(bytes).map_err(|error| {
        let text = error.to_string();
        if text.to_ascii_lowercase().contains("encrypt") || text.to_ascii_lowercase().contains("password") {
            "the PDF is encrypted; upload a copy without a password".to_owned()
        } else {
            format!("the PDF cannot be read: {text}")
        }
    })?;
    if document.is_encrypted() {
        return Err("the PDF is encrypted; upload a copy without a password".into());
    }
    let mut out = String::new();
    for &number in document.get_pages().keys() {
        let text = document.extract_text_with_limit(&[number], MAX_PAGE_CONTENT).unwrap_or_default();
        let text = markdown::tidy(&text);
        if text.trim().is_empty() {
            continue;
        }
        out.push_str(&format!("<!-- page {number} -->\n\n{text}\n"));
    }
    if out.trim().is_empty() {
        return Err("the PDF has no text layer (scanned or image-only pages need OCR, which ctxd does not do)".into());
    }
    Ok(markdown::tidy(&out))
}

#[cfg(test)]
pub(crate) mod tests {
    use lopdf::{
        Object, Stream,
        content::{Content, Operation},
        dictionary,
    };

    use super::*;

    /// A PDF with one page per entry of `pages`, each showing its text in Helvetica.
    pub(crate) fn pdf_with_pages(pages: &[&str]) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let font_id = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        });
        let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
        let mut kids = Vec::new();
        for text in pages {
            let content = Content {
                operations: vec![
                    Operation::new("BT", vec![]),
                    Operation::new("Tf", vec!["F1".into(), 12.into()]),
                    Operation::new("Td", vec![72.into(), 720.into()]),
                    Operation::new("Tj", vec![Object::string_literal(*text)]),
                    Operation::new("ET", vec![]),
                ],
            };
            let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
            let page_id = doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            });
            kids.push(page_id.into());
        }
        let count = kids.len() as i64;
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources_id,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            }),
        );
        let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog_id);
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn pages_are_extracted_in_order() {
        let md = to_markdown(&pdf_with_pages(&["First page text", "Second page text"])).unwrap();
        let first = md.find("First page text").expect("page 1");
        let second = md.find("Second page text").expect("page 2");
        assert!(first < second, "{md}");
        assert!(md.starts_with("<!-- page 1 -->"), "{md}");
    }

    #[test]
    fn a_pdf_without_text_or_a_broken_one_fails_clearly() {
        let err = to_markdown(&pdf_with_pages(&[""])).unwrap_err();
        assert!(err.contains("no text layer"), "{err}");
        let err = to_markdown(b"%PDF-1.7\n garbage").unwrap_err();
        assert!(err.starts_with("the PDF cannot be read"), "{err}");
    }
}
