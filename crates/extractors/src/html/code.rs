//! Code blocks of an HTML page made ready for markdown: each `<pre>`'s language from
//! the many conventions highlighters use, and its lines kept apart.

use dom_query::{Document as Dom, NodeRef};

/// Readies `<pre>` blocks for markdown: out of a table of line numbers (see
/// [`unwrap_numbered_code`]), fitted to the table cells they sit in (see
/// [`fit_code_in_cells`]), their language (see [`mark_code_languages`]) and their
/// line breaks (see [`flatten_code_lines`]).
pub(super) fn prepare_code_blocks(dom: &Dom) {
    // One walk finds the blocks for every step (a CSS selector per step cost four
    // walks of the page); most pages have none.
    let blocks: Vec<NodeRef<'_>> = dom.root().descendants_it().filter(|node| node.has_name("pre")).collect();
    if blocks.is_empty() {
        return;
    }
    let in_cells: Vec<NodeRef<'_>> = blocks.iter().filter(|pre| cell_of(pre).is_some()).copied().collect();
    if !in_cells.is_empty() {
        unwrap_numbered_code(&in_cells);
        fit_code_in_cells(dom, &in_cells);
    }
    // A block of one line in a cell is inline code now, out of the page.
    let blocks: Vec<NodeRef<'_>> = blocks.into_iter().filter(|pre| pre.parent().is_some()).collect();
    mark_code_languages(&blocks);
    flatten_code_lines(&blocks);
}

/// The table cell `pre` sits in, if any (the nearest, inside its nearest table).
fn cell_of<'a>(pre: &NodeRef<'a>) -> Option<NodeRef<'a>> {
    pre.ancestors_it(None).take_while(|a| !a.has_name("table")).find(|a| a.has_name("td") || a.has_name("th"))
}

/// Code that static-site highlighters draw as a table of one row and two cells, the
/// line numbers in one and the code in the other (Hugo's `lntable`, Pygments'
/// `highlighttable`, Rouge's `rouge-table`), is put in the table's place without
/// the numbers. The markdown writer wrote that table as a table row whose cells held
/// two fenced blocks, which CommonMark reads as a row of backticks followed by code
/// that never ends: the rest of the page was a code block, and the code an artifact
/// no one could find.
fn unwrap_numbered_code(in_cells: &[NodeRef<'_>]) {
    let mut found = Vec::new();
    for pre in in_cells {
        // The cell's child that holds the code: the `<pre>`, or a wrapper naming its
        // language (Pygments' `<div class="highlight">`).
        let mut block = *pre;
        let cell = loop {
            match block.parent() {
                Some(parent) if parent.has_name("td") => break Some(parent),
                Some(parent) if !parent.has_name("table") => block = parent,
                _ => break None,
            }
        };
        let Some(table) = cell.as_ref().and_then(numbered_table_of) else { continue };
        found.push((table, block));
    }
    for (table, block) in found {
        table.replace_with(&block);
    }
}

/// Code in a table's cell, which a markdown table cannot hold as a block (nginx's
/// directive tables put "Default:" beside a `<pre>`): the writer wrote a fence inside
/// the row, which never closed, and the rest of the page read as code. A block of
/// one line becomes inline code in its cell; a table holding a block of several lines
/// is read as blocks, its cells one after another, so the code keeps its lines.
fn fit_code_in_cells(dom: &Dom, in_cells: &[NodeRef<'_>]) {
    let mut one_line = Vec::new();
    let mut tables = Vec::new();
    // Asked again: [`unwrap_numbered_code`] has moved some out of their tables.
    for pre in in_cells.iter().filter(|pre| cell_of(pre).is_some()) {
        let text = pre.text();
        let text = text.trim_matches(['\n', '\r']);
        if text.contains('\n') {
            let table = pre.ancestors_it(None).find(|a| a.has_name("table"));
            tables.extend(table.filter(|t| !tables.iter().any(|known: &NodeRef<'_>| known.id == t.id)));
        } else {
            one_line.push((*pre, text.to_owned()));
        }
    }
    for (pre, text) in one_line {
        let code = dom.tree.new_element("code");
        code.set_text(text);
        pre.replace_with(&code);
    }
    for table in tables {
        let own = |node: &NodeRef<'_>| {
            node.ancestors_it(None).find(|a| a.has_name("table")).is_some_and(|t| t.id == table.id)
        };
        let parts: Vec<_> = table
            .descendants_it()
            .filter(|node| ["thead", "tbody", "tfoot", "tr", "td", "th", "caption"].iter().any(|n| node.has_name(n)))
            .filter(own)
            .collect();
        for part in parts {
            part.rename("div");
        }
        table.rename("div");
    }
}

/// The table around code `cell` when it is one row of two cells, the other holding
/// line numbers only.
fn numbered_table_of<'a>(cell: &NodeRef<'a>) -> Option<NodeRef<'a>> {
    let row = cell.parent().filter(|row| row.has_name("tr"))?;
    let cells: Vec<_> = row.element_children().into_iter().filter(|c| c.has_name("td")).collect();
    let [first, second] = cells.as_slice() else { return None };
    let gutter = if first.id == cell.id { second } else { first };
    let numbers = gutter.text();
    let only_numbers =
        numbers.chars().any(|c| c.is_ascii_digit()) && numbers.chars().all(|c| c.is_ascii_digit() || c.is_whitespace());
    let table = row.ancestors_it(None).find(|a| a.has_name("table"))?;
    let one_row = dom_query::Selection::from(table).select("tr").length() == 1;
    (only_numbers && one_row).then_some(table)
}

/// Code highlighters that draw each line as its own element (CodeMirror's
/// `<div class="cm-line">…<br></div>`, as react.dev does) leave no newline characters
/// in the `<pre>`, and the markdown writer, which keeps a `<pre>`'s text as it is,
/// joined the lines into one. Such a block's content becomes its text with a newline
/// per `<br>` and after each line element.
fn flatten_code_lines(blocks: &[NodeRef<'_>]) {
    for pre in blocks {
        if dom_query::Selection::from(*pre).select("br, div, p").exists() {
            let mut text = String::new();
            code_text(pre, &mut text);
            let text = text.trim_end_matches('\n');
            match pre.first_element_child().filter(|c| c.node_name().as_deref() == Some("code")) {
                Some(code) if pre.element_children().len() == 1 => code.set_text(text),
                _ => pre.set_text(text),
            }
        }
    }
}

/// The text under `node`, with a newline for each `<br>` and after each `<div>` or
/// `<p>` that does not already end in one. Styles and scripts (CSS-in-JS writes
/// `<style>` into the block) and line-number gutters are not code.
fn code_text(node: &NodeRef<'_>, out: &mut String) {
    for child in node.children() {
        if child.is_text() {
            out.push_str(&child.text());
            continue;
        }
        if is_gutter(&child) {
            continue;
        }
        match child.node_name().as_deref() {
            Some("style" | "script" | "template" | "noscript") => {}
            Some("br") => out.push('\n'),
            Some("div" | "p") => {
                code_text(&child, out);
                if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
            _ => code_text(&child, out),
        }
    }
}

/// A line-number gutter as highlighters mark one: a class naming it, or text the
/// reader cannot select.
fn is_gutter(node: &NodeRef<'_>) -> bool {
    let class = node.attr("class").unwrap_or_default().to_ascii_lowercase();
    let style = node.attr("style").unwrap_or_default().to_ascii_lowercase().replace(' ', "");
    ["linenumber", "line-number", "lineno", "gutter", "hljs-ln-n"].iter().any(|g| class.contains(g))
        || style.contains("user-select:none")
}

/// Writes the language of each code block as `data-lang` on its `<pre>`, from the many
/// conventions highlighters use (`language-x`, `lang-x`, `highlight-source-x`,
/// `brush: x`, `sourceCode x`, a `data-language` on the `<code>`), so the markdown
/// fence carries it.
fn mark_code_languages(blocks: &[NodeRef<'_>]) {
    for pre in blocks {
        if pre.has_attr("data-lang") {
            continue;
        }
        let own = [pre.attr("class"), pre.attr("data-language")];
        let code = pre.first_element_child().filter(|c| c.node_name().as_deref() == Some("code"));
        let inner = code.map(|c| [c.attr("class"), c.attr("data-lang"), c.attr("data-language")]).unwrap_or_default();
        let parent = pre.parent().map(|p| p.attr("class")).unwrap_or_default();
        let language = own.iter().chain(inner.iter()).chain([&parent]).flatten().find_map(|v| language_of(v));
        if let Some(language) = language {
            pre.set_attr("data-lang", &language);
        }
    }
}

/// The language named by a class list or attribute value, if any.
pub(crate) fn language_of(value: &str) -> Option<String> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix("brush:") {
        // `brush: js; gutter: false`, and MDN's `brush: js notranslate`.
        return clean_language(rest.split(';').next().unwrap_or("").split_whitespace().next().unwrap_or(""));
    }
    let classes: Vec<&str> = value.split_whitespace().collect();
    for class in &classes {
        for prefix in ["language-", "lang-", "highlight-source-", "highlight-", "hljs-", "code-"] {
            if let Some(rest) = class.strip_prefix(prefix)
                && let Some(language) = clean_language(rest)
            {
                return Some(language);
            }
        }
    }
    // `<pre class="sourceCode python">`, `<code class="hljs rust">`, `<div class="highlight python">`
    if classes.len() >= 2 && matches!(classes[0], "sourceCode" | "hljs" | "highlight" | "prettyprint") {
        return classes[1..].iter().find_map(|c| KNOWN.contains(c).then(|| (*c).to_owned()));
    }
    // A bare attribute value such as `data-lang="rust"`.
    (classes.len() == 1 && KNOWN.contains(&classes[0])).then(|| classes[0].to_owned())
}

fn clean_language(raw: &str) -> Option<String> {
    let language = raw.trim().to_ascii_lowercase();
    let ok = !language.is_empty()
        && language.len() <= 24
        && language.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_' | '.'))
        && !matches!(language.as_str(), "none" | "text" | "plain" | "plaintext" | "nohighlight" | "source")
        && !NOT_LANGUAGES.split_ascii_whitespace().any(|word| word == language)
        && !language.starts_with("lang-");
    ok.then_some(language)
}

/// Words after a highlighter's prefix that name the block's layout, not its language:
/// `code-example` (MDN's wrapper of every sample), `code-block`, `lang-default`.
const NOT_LANGUAGES: &str = "example examples sample snippet block blocks wrapper wrap container toolbar \
    header title caption label box view content body tab tabs panel line lines \
    inline copy button editor frame scroll output result demo preview highlight \
    group file auto default height";

/// Languages recognised without a prefix.
const KNOWN: &[&str] = &[
    "bash",
    "c",
    "cpp",
    "csharp",
    "css",
    "diff",
    "dockerfile",
    "go",
    "graphql",
    "html",
    "java",
    "javascript",
    "js",
    "json",
    "kotlin",
    "lua",
    "makefile",
    "markdown",
    "mermaid",
    "perl",
    "php",
    "powershell",
    "protobuf",
    "python",
    "r",
    "ruby",
    "rust",
    "scala",
    "sh",
    "shell",
    "sql",
    "swift",
    "toml",
    "ts",
    "tsx",
    "typescript",
    "xml",
    "yaml",
    "zsh",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// An article whose code sits in a highlighter's table of line numbers.
    fn article_with(code: &str) -> String {
        let prose = "This paragraph explains the function below in enough words that readability takes \
                     the article for what it is, and so does every other rule of the extractor.";
        format!(
            "<html><body><article><h1>Parsing</h1><p>{prose}</p>{code}<p>After the code, the text \
             goes on as a paragraph with <a href=\"/more\">a link</a>.</p><p>{prose}</p></article></body></html>"
        )
    }

    #[test]
    fn code_beside_its_line_numbers_is_one_code_block_without_them() {
        let hugo = "<table class=lntable><tr><td class=lntd><pre class=chroma><code><span class=lnt>1\n</span>\
                    <span class=lnt>2\n</span></code></pre></td><td class=lntd><pre class=chroma>\
                    <code class=language-c data-lang=c>int x = 1;\nreturn x;\n</code></pre></td></tr></table>";
        let pygments = "<table class=highlighttable><tbody><tr><td class=linenos><div class=linenodiv><pre>1\n2</pre>\
                        </div></td><td class=code><div class=\"highlight python\"><pre>x = 1\nprint(x)\n</pre></div>\
                        </td></tr></tbody></table>";
        let one_line = "<table class=lntable><tr><td class=lntd><pre><code><span class=lnt>1\n</span></code></pre></td>\
                        <td class=lntd><pre><code class=language-bash>pip install x\n</code></pre></td></tr></table>";
        let cases = [
            (hugo, "```c\nint x = 1;\nreturn x;\n```"),
            (pygments, "```python\nx = 1\nprint(x)\n```"),
            (one_line, "```bash\npip install x\n```"),
        ];
        for (code, fenced) in cases {
            let md = crate::html::extract(&article_with(code), None).markdown;
            assert!(md.contains(fenced), "{md}");
            assert!(md.contains("\nAfter the code, the text goes on as a paragraph with [a link](/more)."), "{md}");
            let text = crate::markdown::plain_text(&md);
            assert!(!text.contains("](/more)") && !text.contains("\n1\n2\n"), "no numbers, no code after: {text}");
        }
    }

    #[test]
    fn a_table_of_code_samples_is_still_a_table() {
        let dom = Dom::from(
            "<table><tr><th>Syntax</th><td><pre>rewrite_log on;</pre></td></tr>\
             <tr><th>Default</th><td><pre>rewrite_log off;</pre></td></tr></table>",
        );
        prepare_code_blocks(&dom);
        assert_eq!(dom.select("table pre").length(), 0, "one line each: inline code");
        assert_eq!(dom.select("table td code").length(), 2, "in the table still");
    }

    #[test]
    fn code_in_a_cell_is_inline_code_or_the_table_is_read_as_blocks() {
        let after = "<p>The text after the table is a paragraph with <a href=\"/x\">a link</a>.</p>";
        let one_line = format!(
            "<table><tr><th>Syntax:</th><td><code>rewrite_log on | off;</code></td></tr>\
             <tr><th>Default:</th><td><pre>rewrite_log off;</pre></td></tr></table>{after}"
        );
        let md = crate::html::extract(&article_with(&one_line), None).markdown;
        assert!(md.contains("| Default: | `rewrite_log off;` |"), "{md}");
        assert!(md.contains("\nThe text after the table is a paragraph with [a link](/x)."), "{md}");
        let lines = format!(
            "<table><tr><th>Example:</th><td><pre><code class=language-nginx>location / {{\n    root /srv;\n}}</code></pre>\
             </td></tr></table>{after}"
        );
        let md = crate::html::extract(&article_with(&lines), None).markdown;
        assert!(md.contains("Example:\n\n```nginx\nlocation / {\n    root /srv;\n}\n```"), "{md}");
        assert!(md.contains("\nThe text after the table is a paragraph with [a link](/x)."), "{md}");
    }
}
