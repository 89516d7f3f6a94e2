//! The chat part of `bench extract`: the context extractor on real transcripts with
//! hand-written annotations (`../shared/data/transcripts`, and the bench's own
//! `data/transcripts`), by part (tuning, checking): compression, turns, code blocks
//! kept verbatim, decision values kept, open questions.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use ctxd_domain::model::{ArtifactKind, NormalizeInput, Role};
use ctxd_extractors::{ExtractiveContextExtractor, InputType, artifacts, normalize_as};
use serde_json::Value;

use super::{Part, floors, part_of};

/// Distinctive tokens of an annotation item: numbers, identifiers and hashes, which
/// a context must keep verbatim. A thousands separator stays inside its number
/// ("10,000" is one value, matched with or without the comma), and an annotator's
/// "a/b" shorthand between bare words ("readConfig/writeConfig", "border/label")
/// stands for each word on its own, while paths ("new_file/getdata.py") stay whole;
/// notation without a letter or digit ("+/-") is no value.
fn distinctive(item: &str) -> Vec<String> {
    let bytes = item.as_bytes();
    let digit = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_digit);
    // A comma between a digit and exactly three more.
    let thousands = |i: usize| i > 0 && digit(i - 1) && (1..=3).all(|k| digit(i + k)) && !digit(i + 4);
    let is_separator = |(i, c): (usize, char)| {
        c.is_whitespace() || matches!(c, ';' | '(' | ')' | '\'' | '"' | '`') || (c == ',' && !thousands(i))
    };
    let mut words = Vec::new();
    let mut start = 0;
    for (i, c) in item.char_indices() {
        if is_separator((i, c)) {
            words.push(&item[start..i]);
            start = i + c.len_utf8();
        }
    }
    words.push(&item[start..]);
    let bare_word = |w: &str| {
        w.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && w.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    };
    words
        .into_iter()
        .map(|w| w.trim_end_matches(['.', ':', ',']))
        .flat_map(|w| {
            let parts: Vec<&str> = w.split('/').collect();
            if parts.len() > 1 && parts.iter().all(|p| bare_word(p)) { parts } else { vec![w] }
        })
        .filter(|w| {
            w.len() >= 3
                && w.chars().any(char::is_alphanumeric)
                && (w.chars().any(|c| c.is_ascii_digit()) || w.contains('_') || w.contains('.') || w.contains('/'))
        })
        .map(str::to_lowercase)
        .collect()
}

/// Whether the (lowercased) context keeps a distinctive value; a number with
/// thousands separators also counts when written without them.
fn keeps(content: &str, value: &str) -> bool {
    content.contains(value) || (value.contains(',') && content.contains(&value.replace(',', "")))
}

/// The transcript part: per file, compression, turns, code blocks found, how many of
/// the annotated decisions' distinctive values the context keeps, and open questions
/// reported. Returns gate failures: a part keeping fewer of the decision values its
/// transcripts contain than its floor, and any transcript reporting more open
/// questions than annotated; values only the annotators' wording has ("5-year" for
/// `acs5`) cannot be kept verbatim and are listed, not counted.
pub(super) fn transcripts(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut failures = Vec::new();
    // Per part: decision values kept and seen, open questions reported and annotated.
    let mut totals = [[0usize; 4]; 2];
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/transcripts");
    let mut names: Vec<(Part, PathBuf)> = [dir, own.as_path()]
        .into_iter()
        .filter(|d| d.is_dir())
        .map(std::fs::read_dir)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".expected.json"))
        .map(|p| (part_of(&p.file_name().unwrap_or_default().to_string_lossy()), p))
        .collect();
    names.sort();
    println!("# Context extraction on chat transcripts\n");
    println!(
        "  {:<42} {:>5} {:>7} {:>7} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>6}",
        "transcript", "part", "tokens", "ratio", "bytes×", "turns", "code", "verbatim", "dec.val", "q.count", "ms"
    );
    for (part, expected_path) in names {
        let expected: Value = serde_json::from_slice(&std::fs::read(&expected_path)?)?;
        let stem = expected_path.to_string_lossy().trim_end_matches(".expected.json").to_owned();
        let (path, content_type) = if Path::new(&format!("{stem}.json")).exists() {
            (PathBuf::from(format!("{stem}.json")), "application/json")
        } else {
            (PathBuf::from(format!("{stem}.md")), "text/markdown")
        };
        let bytes = std::fs::read(&path)?;
        let started = Instant::now();
        let input = NormalizeInput { bytes: &bytes, content_type: Some(content_type), url: None };
        let document = normalize_as(input, InputType::Auto).map_err(anyhow::Error::msg)?;
        let found = artifacts::extract(&document);
        let context = ExtractiveContextExtractor.draft(&document, &found);
        let ms = started.elapsed().as_secs_f64() * 1000.0;

        // User messages answered by the assistant before the next user message.
        let mut exchanges = 0;
        let mut waiting = false;
        for turn in &document.turns {
            match turn.role {
                Role::User => waiting = true,
                Role::Assistant if waiting => {
                    exchanges += 1;
                    waiting = false;
                }
                _ => {}
            }
        }
        let code = found.iter().filter(|a| a.kind != ArtifactKind::Table).count();
        // Every block of the normalized transcript, repeats included, must survive
        // verbatim in some artifact (the `code` column compares the count with the
        // annotation; raw files are no reference: cut-off replies leave fences open).
        let tool_lines: Vec<(u32, u32)> =
            document.turns.iter().filter(|t| t.role == Role::Tool).map(|t| (t.start_line, t.end_line)).collect();
        let blocks: Vec<String> = written_code_blocks(&document.markdown)
            .into_iter()
            .filter(|(line, _)| !tool_lines.iter().any(|(start, end)| (*start..=*end).contains(line)))
            .map(|(_, block)| block)
            .collect();
        let retained = blocks
            .iter()
            .filter(|block| {
                found.iter().any(|a| a.content.trim_end() == block.trim_end() || a.content.contains(block.trim()))
            })
            .count();
        let content = context.content.to_lowercase();
        let transcript = document.markdown.to_lowercase();
        let (values, composed): (Vec<String>, Vec<String>) = expected["decisions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .flat_map(distinctive)
            .partition(|value| keeps(&transcript, value));
        let missed: Vec<&str> = values.iter().filter(|v| !keeps(&content, v)).map(String::as_str).collect();
        let kept = values.len() - missed.len();
        let annotated_questions = expected["open_questions"].as_array().map_or(0, Vec::len);
        let total = &mut totals[usize::from(part == Part::Checking)];
        for (slot, value) in
            total.iter_mut().zip([kept, values.len(), context.open_questions.len(), annotated_questions])
        {
            *slot += value;
        }
        let ratio = context.original_tokens as f64 / context.context_tokens.max(1) as f64;
        let byte_ratio = bytes.len() as f64 / context.content.len().max(1) as f64;
        let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
        println!(
            "  {:<42} {:>5} {:>7} {:>7.2} {:>6.1} {:>3}/{:<2} {:>4}/{:<4} {:>4}/{:<4} {:>4}/{:<4} {:>4}/{:<4} {:>6.1}",
            name,
            &part.label()[..5],
            context.original_tokens,
            ratio,
            byte_ratio,
            exchanges,
            expected["min_turns"].as_u64().unwrap_or(0),
            code,
            expected["code_blocks"].as_u64().unwrap_or(0),
            retained,
            blocks.len(),
            kept,
            values.len(),
            context.open_questions.len(),
            annotated_questions,
            ms
        );
        if !missed.is_empty() {
            println!("  {:<42} decision values missed: {}", "", missed.join(" "));
        }
        // A question reported beyond the annotated count is a false one, whatever the
        // others are.
        if context.open_questions.len() > annotated_questions {
            failures.push(format!(
                "{name}: {} open questions reported, {annotated_questions} annotated",
                context.open_questions.len()
            ));
        }
        let (composed_kept, composed_missed): (Vec<&str>, Vec<&str>) =
            composed.iter().map(String::as_str).partition(|v| keeps(&content, v));
        for (list, label) in
            [(composed_missed, "only in the annotation"), (composed_kept, "only in the annotation, kept")]
        {
            if !list.is_empty() {
                println!("  {:<42} {label}: {}", "", list.join(" "));
            }
        }
        if context.original_tokens > 4000 && ratio < floors::TRANSCRIPT_COMPRESSION {
            failures.push(format!("{name}: compression {ratio:.2} < {}", floors::TRANSCRIPT_COMPRESSION));
        }
        // Every code block written in the conversation must be an artifact (the
        // context points at each): the count may exceed the annotation's only
        // through blocks a CommonMark parser sees and the annotators did not count.
        if (code as u64) < expected["code_blocks"].as_u64().unwrap_or(0) * 9 / 10 {
            failures.push(format!("{name}: {code} code blocks found, {} annotated", expected["code_blocks"]));
        }
        if retained < blocks.len() {
            failures.push(format!("{name}: {retained} of {} written code blocks kept verbatim", blocks.len()));
        }
        if (exchanges as u64) < expected["min_turns"].as_u64().unwrap_or(0) {
            failures.push(format!("{name}: {exchanges} exchanges, at least {} expected", expected["min_turns"]));
        }
    }
    println!(
        "\n  tokens: o200k tokens of the normalized transcript; ratio: original / context tokens; bytes×: file bytes / \
         context bytes;\n  turns: user→assistant exchanges / annotated minimum; code: code artifacts / annotated blocks;\n  \
         verbatim: written code blocks (repeats counted) found verbatim in an artifact / all of them;\n  \
         dec.val: the annotated decisions' distinctive values (numbers, identifiers, hashes) that the transcript \
         contains, found in the context;\n  \
         q.count: open questions reported / annotated"
    );
    for part in Part::BOTH {
        let [kept, values, reported, annotated] = totals[usize::from(part == Part::Checking)];
        println!(
            "\n  {} part: decision values kept {kept} of {values}; open questions reported {reported}, annotated {annotated}",
            part.label()
        );
        let floor = floors::transcript_decision_values(part);
        if (kept as f64) < values as f64 * floor {
            failures.push(format!("{} part: decision values kept {kept} of {values}, under {floor}", part.label()));
        }
    }
    Ok(failures)
}

/// The fenced and indented code blocks of normalized markdown with the 1-based line
/// they start on, repeats included, except those quoted in `> ` blocks.
fn written_code_blocks(markdown: &str) -> Vec<(u32, String)> {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let line_of = |offset: usize| u32::try_from(markdown[..offset].matches('\n').count() + 1).unwrap_or(u32::MAX);
    let mut blocks = Vec::new();
    let (mut quoted, mut current): (usize, Option<(u32, String)>) = (0, None);
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::BlockQuote(_)) => quoted += 1,
            Event::End(TagEnd::BlockQuote(_)) => quoted = quoted.saturating_sub(1),
            Event::Start(Tag::CodeBlock(_)) if quoted == 0 => current = Some((line_of(range.start), String::new())),
            Event::Text(text) => {
                if let Some((_, block)) = current.as_mut() {
                    block.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((line, block)) = current.take()
                    && !block.trim().is_empty()
                {
                    blocks.push((line, block));
                }
            }
            _ => {}
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::{distinctive, keeps};

    #[test]
    fn distinctive_values_keep_numbers_and_paths_whole_and_split_word_alternatives() {
        assert_eq!(
            distinctive("Monte Carlo (10,000 draws), readConfig/writeConfig, new_file/getdata.py, border/label, 1,2"),
            ["10,000", "new_file/getdata.py"]
        );
        assert_eq!(
            distinctive("last_map/refresh-mode and +/- 1 and commit 81549ab, 1/3."),
            ["last_map", "81549ab", "1/3"]
        );
        assert!(keeps("n_simulations = 10000", "10,000"));
        assert!(!keeps("1000 draws", "10,000"));
    }
}
