//! HTML → markdown: main-content extraction (readability scoring from `dom_smoothie`)
//! then markdown that keeps headings, lists, links, tables and code blocks with their
//! language, all on one parsed DOM.

use dom_query::Document as Dom;
use dom_smoothie::{Config, Readability, TextMode};

use crate::markdown;

/// A page's main content as markdown, and its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub title: Option<String>,
    pub markdown: String,
}

/// Pages with more elements than this are scored on their first elements only, which
/// bounds the time a pathological page can take.
const MAX_ELEMENTS: usize = 30_000;

/// Below this many characters of extracted text the readability result is treated as
/// a miss and the whole visible page is used instead.
const MIN_MAIN_CHARS: usize = 200;

/// Extracts the main content of `html`; relative links resolve against `url`.
pub fn extract(html: &str, url: Option<&str>) -> Extracted {
    let dom = Dom::from(html);
    mark_code_languages(&dom);
    let title = page_title(&dom);
    let fallback = || visible_markdown(&Dom::from(html), url);
    let config = Config {
        text_mode: TextMode::Markdown,
        max_elements_to_parse: MAX_ELEMENTS,
        keep_classes: true,
        ..Config::default()
    };
    let main = Readability::with_document(dom, url, Some(config))
        .ok()
        .and_then(|mut readability| readability.parse().ok())
        .map(|article| article.text_content.to_string())
        .filter(|md| markdown::plain_text(md).trim().chars().count() >= MIN_MAIN_CHARS);
    let body = main.unwrap_or_else(fallback);
    Extracted { title, markdown: markdown::tidy(&body) }
}

/// The `<title>` (or first `<h1>`), with whitespace collapsed.
fn page_title(dom: &Dom) -> Option<String> {
    let from = |selector: &str| {
        let text = dom.select(selector).first().text();
        let title = text.split_whitespace().collect::<Vec<_>>().join(" ");
        (!title.is_empty()).then_some(title)
    };
    from("title").or_else(|| from("h1"))
}

/// Markdown of everything a reader would see, minus scripts, forms and page chrome:
/// the fallback when no main content stands out.
fn visible_markdown(dom: &Dom, url: Option<&str>) -> String {
    dom.select("script, style, noscript, template, nav, header, footer, aside, form, iframe, svg").remove();
    if let Some(base) = url.and_then(|u| url::Url::parse(u).ok()) {
        absolutize(dom, &base);
    }
    let body = dom.select("body");
    let root = if body.exists() { body } else { dom.select("html") };
    root.nodes().first().map(|node| node.md(None).to_string()).unwrap_or_default()
}

/// Makes link and image addresses absolute, as readability does for the main content.
fn absolutize(dom: &Dom, base: &url::Url) {
    for (selector, attribute) in [("a[href]", "href"), ("img[src]", "src")] {
        for node in dom.select(selector).nodes() {
            let Some(value) = node.attr(attribute) else { continue };
            if let Ok(absolute) = base.join(value.trim()) {
                node.set_attr(attribute, absolute.as_str());
            }
        }
    }
}

/// Writes the language of each code block as `data-lang` on its `<pre>`, from the many
/// conventions highlighters use (`language-x`, `lang-x`, `highlight-source-x`,
/// `brush: x`, `sourceCode x`, a `data-language` on the `<code>`), so the markdown
/// fence carries it.
fn mark_code_languages(dom: &Dom) {
    for pre in dom.select("pre").nodes() {
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
        return clean_language(rest.split(';').next().unwrap_or(""));
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
        && !matches!(language.as_str(), "none" | "text" | "plain" | "plaintext" | "nohighlight" | "source");
    ok.then_some(language)
}

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

    const ARTICLE: &str = r#"<!doctype html><html><head><title>Deploying ctxd | Example Blog</title></head>
<body>
<nav><a href="/">Home</a> <a href="/about">About</a> <a href="/login">Login</a></nav>
<article>
<h1>Deploying ctxd</h1>
<p>This guide explains how to deploy ctxd behind a reverse proxy. It covers the configuration,
the database and the workers in enough detail that a reader can follow it from start to end.</p>
<h2>Configuration</h2>
<p>Set the listen address and the database URL. The service reads them from the environment
and from a configuration file, and flags beat both of them.</p>
<ul><li>CTXD_LISTEN</li><li>DATABASE_URL</li></ul>
<pre><code class="lang-bash">ctxd serve --listen 0.0.0.0:8080</code></pre>
<table><tr><th>Setting</th><th>Default</th></tr><tr><td>workers</td><td>4</td></tr></table>
<p>See <a href="/docs/config">the configuration reference</a> for every setting.</p>
</article>
<footer>Copyright 2026 Example Blog. All rights reserved.</footer>
</body></html>"#;

    #[test]
    fn the_article_is_kept_and_the_page_chrome_dropped() {
        let out = extract(ARTICLE, Some("https://blog.example.com/posts/deploy"));
        assert_eq!(out.title.as_deref(), Some("Deploying ctxd | Example Blog"));
        let md = &out.markdown;
        assert!(md.contains("## Configuration"), "{md}");
        assert!(md.contains("- CTXD\\_LISTEN"), "markdown escapes: {md}");
        assert!(md.contains("```bash\nctxd serve --listen 0.0.0.0:8080\n```"), "{md}");
        assert!(md.contains("| Setting | Default |"), "{md}");
        assert!(md.contains("(https://blog.example.com/docs/config)"), "relative links are made absolute: {md}");
        assert!(!md.contains("Login"), "navigation is dropped: {md}");
        assert!(!md.contains("All rights reserved"), "the footer is dropped: {md}");
    }

    #[test]
    fn a_page_without_a_main_block_falls_back_to_its_visible_text() {
        let html = "<html><body><nav>Menu</nav><p>Short note.</p><script>var x = 1;</script></body></html>";
        let out = extract(html, None);
        assert_eq!(out.markdown, "Short note.\n");
        assert_eq!(out.title, None);
    }

    #[test]
    fn code_languages_are_read_from_common_highlighter_conventions() {
        assert_eq!(language_of("language-rust").as_deref(), Some("rust"));
        assert_eq!(language_of("highlight-source-python").as_deref(), Some("python"));
        assert_eq!(language_of("brush: js; gutter: false").as_deref(), Some("js"));
        assert_eq!(language_of("sourceCode python").as_deref(), Some("python"));
        assert_eq!(language_of("hljs language-ts").as_deref(), Some("ts"));
        assert_eq!(language_of("rust").as_deref(), Some("rust"));
        assert_eq!(language_of("language-plaintext"), None);
        assert_eq!(language_of("wide dark"), None);
    }
}
