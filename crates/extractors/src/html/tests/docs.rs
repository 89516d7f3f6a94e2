//! Tests of what a documentation page keeps that readability alone would drop: its
//! hidden tab panels and the opening paragraphs set in its content's header.

use super::*;

#[test]
fn a_documentation_page_keeps_every_tab_and_an_article_keeps_the_tab_shown() {
    let tabs = r#"<h2>Install the tools</h2>
        <div role="tablist"><a role="tab" aria-selected="true">Windows</a><a role="tab">Linux</a></div>
        <section role="tabpanel"><p>On Windows, install the package with winget and restart the shell so that it
        finds the new command on its path.</p><pre><code>winget install ctxd</code></pre></section>
        <section role="tabpanel" hidden aria-hidden="true"><p>On Linux, add the package repository and its signing key,
        then install the package with apt and check its version.</p><pre><code>sudo apt-get install ctxd</code></pre></section>"#;
    let html = ARTICLE.replace("<h2>Configuration</h2>", &format!("{tabs}<h2>Configuration</h2>"));
    let docs = extract(&html, Some("https://docs.example.dev/guide/install/"));
    assert_eq!(docs.page_type, PageType::Documentation);
    assert!(
        docs.markdown.contains("winget install") && docs.markdown.contains("sudo apt-get install ctxd"),
        "{}",
        docs.markdown
    );
    // Elsewhere a hidden panel is as often a shop's or a service's extras, and
    // showing it can move readability to another block (measured on WCXB).
    let article = extract(&html, Some("https://blog.example.com/2026/deploying-ctxd"));
    assert_ne!(article.page_type, PageType::Documentation);
    assert!(
        article.markdown.contains("winget install") && !article.markdown.contains("apt-get"),
        "{}",
        article.markdown
    );
}

#[test]
fn a_documentation_pages_opening_paragraphs_in_its_content_header_are_kept() {
    let body = (1..=6)
        .map(|i| {
            format!(
                "<h2>Step {i}</h2><p>Each request in step {i} goes through the client, which sets the headers, \
            sends the body and reads the response before the next one starts, so that the order holds.</p>"
            )
        })
        .collect::<String>();
    let html = format!(
        r##"<html><head><title>Using the client | Example Docs</title></head><body><main>
        <div class="layout__header"><h1>Using the client</h1><section>
        <p>The <a href="/docs/client">client</a> sends HTTP requests for you and hands back the parsed responses as values.</p>
        </section></div>
        <aside><nav><a href="#step-1">Step 1</a></nav></aside>
        <div class="layout__body">{body}</div></main></body></html>"##
    );
    let out = extract(&html, Some("https://docs.example.dev/guide/client/"));
    assert_eq!(out.page_type, PageType::Documentation);
    assert!(out.markdown.contains("Step 6"), "{}", out.markdown);
    assert!(
        out.markdown.contains("The [client](https://docs.example.dev/docs/client) sends HTTP requests"),
        "{}",
        out.markdown
    );
}
