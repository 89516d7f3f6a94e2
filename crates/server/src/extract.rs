//! `ctxd extract`: the normalizers and extractors on local files or stdin, offline (no
//! server, no database), printing markdown or one JSON bundle per input.

use std::io::{Read, Write};

use anyhow::Context as _;
use ctxd_domain::{
    model::{ArtifactDraft, ContextDraft, NormalizeInput},
    ports::ArtifactExtractor,
    services::pipeline::extractor_version,
};
use ctxd_extractors::{AutoNormalizer, BlockArtifactExtractor, ExtractiveContextExtractor, InputType, normalize_as};
use serde_json::{Value, json};

/// What to extract and how to print it.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    pub input_type: InputType,
    pub url: Option<String>,
    pub json: bool,
    /// Paths; `-` is stdin.
    pub files: Vec<String>,
}

/// The content type a file name suggests; the content still corrects it.
fn content_type_of(path: &str) -> Option<&'static str> {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match extension.as_str() {
        "html" | "htm" | "xhtml" => "text/html",
        "md" | "markdown" => "text/markdown",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "txt" | "text" | "log" => "text/plain",
        _ => return None,
    })
}

/// The output for one input: markdown, or the JSON line.
fn process(options: &ExtractOptions, name: &str, bytes: &[u8]) -> Result<String, String> {
    let input = NormalizeInput { bytes, content_type: content_type_of(name), url: options.url.as_deref() };
    let document = normalize_as(input, options.input_type)?;
    if !options.json {
        return Ok(document.markdown);
    }
    let artifacts = BlockArtifactExtractor.extract(&document);
    let context = ExtractiveContextExtractor.draft(&document, &artifacts);
    let version = extractor_version(&AutoNormalizer, &ExtractiveContextExtractor, &BlockArtifactExtractor);
    let bundle = json!({
        "file": name,
        "format": document.format.as_str(),
        "markdown": document.markdown,
        "context": context_json(&context, &version),
        "artifacts": artifacts.iter().map(artifact_json).collect::<Vec<_>>(),
    });
    Ok(format!("{bundle}\n"))
}

/// The context as `GET /v1/sources/{id}/context` shows it, minus the source fields.
fn context_json(context: &ContextDraft, version: &str) -> Value {
    json!({
        "extractor_version": version,
        "format": "markdown",
        "content": context.content,
        "title": context.title,
        "summary": context.summary,
        "outline": context.outline,
        "key_points": context.key_points,
        "decisions": context.decisions,
        "open_questions": context.open_questions,
        "original_tokens": context.original_tokens,
        "context_tokens": context.context_tokens,
        "compression_ratio": context.compression_ratio(),
    })
}

fn artifact_json(artifact: &ArtifactDraft) -> Value {
    json!({
        "kind": artifact.kind.as_str(),
        "language": artifact.language,
        "title": artifact.title,
        "content": artifact.content,
        "metadata": artifact.metadata,
        "provenance": artifact.provenance,
    })
}

/// Runs `ctxd extract`; several files are processed on all cores, printed in the
/// order given. Returns false when any input failed (each failure is reported on
/// stderr and the others still print).
///
/// # Errors
/// Only failures to write the output.
pub fn run(options: &ExtractOptions) -> anyhow::Result<bool> {
    let files = if options.files.is_empty() { vec!["-".to_owned()] } else { options.files.clone() };
    let read = |name: &str| -> Result<Vec<u8>, String> {
        if name == "-" {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).map_err(|e| format!("cannot read stdin: {e}"))?;
            Ok(bytes)
        } else {
            std::fs::read(name).map_err(|e| format!("cannot read {name}: {e}"))
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len()).max(1);
    let mut results: Vec<Option<Result<String, String>>> = vec![None; files.len()];
    std::thread::scope(|scope| {
        let chunks: Vec<_> = results.chunks_mut(files.len().div_ceil(threads)).collect();
        let mut start = 0;
        for chunk in chunks {
            let names = &files[start..start + chunk.len()];
            start += chunk.len();
            scope.spawn(move || {
                for (slot, name) in chunk.iter_mut().zip(names) {
                    *slot = Some(read(name).and_then(|bytes| process(options, name, &bytes)));
                }
            });
        }
    });
    let mut stdout = std::io::stdout().lock();
    let mut ok = true;
    for (name, result) in files.iter().zip(results) {
        match result.unwrap_or_else(|| Err("not processed".into())) {
            Ok(output) => stdout.write_all(output.as_bytes()).context("cannot write the output")?,
            Err(message) => {
                ok = false;
                eprintln!("ctxd extract: {name}: {message}");
            }
        }
    }
    stdout.flush().context("cannot write the output")?;
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: bool) -> ExtractOptions {
        ExtractOptions { input_type: InputType::Auto, url: None, json, files: Vec::new() }
    }

    #[test]
    fn the_json_bundle_holds_markdown_context_and_artifacts() {
        let chat = b"User: How do I start ctxd?\nAssistant: Run it:\n\n```bash\nctxd serve\n```\n";
        let line = process(&options(true), "chat.txt", chat).unwrap();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1, "one line per input");
        let bundle: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(bundle["file"], "chat.txt");
        assert_eq!(bundle["format"], "chat");
        assert_eq!(bundle["artifacts"][0]["kind"], "COMMAND");
        assert_eq!(bundle["artifacts"][0]["provenance"]["turn"], 2);
        assert!(bundle["context"]["content"].as_str().unwrap().contains("A1 COMMAND bash"));
        assert!(bundle["context"]["original_tokens"].as_u64().unwrap() > 0);
    }

    #[test]
    fn markdown_output_and_file_types_by_extension() {
        let html = b"<html><title>T</title><body><p>Body text.</p></body></html>";
        assert_eq!(process(&options(false), "page.html", html).unwrap(), "# T\n\nBody text.\n");
        assert_eq!(content_type_of("a/B.PDF"), Some("application/pdf"));
        assert_eq!(content_type_of("noext"), None);
        let forced = ExtractOptions { input_type: InputType::Chat, ..options(false) };
        assert!(process(&forced, "x.txt", b"no speakers here").is_err());
    }
}
