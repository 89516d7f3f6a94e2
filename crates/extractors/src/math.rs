//! LaTeX math in prose, as plain text for the context: chat assistants write
//! `\( \frac{1}{3} \)` where a reader (and the next model) wants `1/3`. Only the
//! delimited spans `\( … \)` and `\[ … \]` are touched, so prose and prices that merely
//! contain a backslash or a dollar sign stay as they are.
//!
//! Hand-written rather than a LaTeX crate: what is needed is a few dozen symbol
//! names and `\frac`/`\sqrt`, with unknown commands kept verbatim; the LaTeX-to-Unicode
//! crates render to MathML or need a TeX engine. Nesting is bounded, so no span can
//! recurse deeply whatever a document holds.

/// `text` with every delimited math span rendered as plain text.
pub(crate) fn plain(text: &str) -> String {
    if !text.contains("\\(") && !text.contains("\\[") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('\\') {
        let (before, from) = rest.split_at(open);
        out.push_str(before);
        let close = match from.get(..2) {
            Some("\\(") => "\\)",
            Some("\\[") => "\\]",
            _ => {
                out.push('\\');
                rest = &from[1..];
                continue;
            }
        };
        match from[2..].find(close) {
            Some(end) => {
                out.push_str(&render(&from[2..2 + end]));
                rest = &from[2 + end + 2..];
            }
            // An unclosed span is not math.
            None => {
                out.push_str(&from[..2]);
                rest = &from[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// How deep `\frac`/`\sqrt`/`\text` groups are rendered; deeper groups stay as
/// written. Real formulas nest a few levels; the bound keeps a hostile span's
/// recursion (and the copying of each level) small.
const MAX_NESTING: usize = 8;

/// One span's LaTeX as plain text.
fn render(latex: &str) -> String {
    render_nested(latex, 0)
}

fn render_nested(latex: &str, nesting: usize) -> String {
    let latex = latex.trim();
    if nesting >= MAX_NESTING {
        return latex.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let render = |inner: &str| render_nested(inner, nesting + 1);
    let mut out = String::new();
    let mut chars = latex.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                let name_len: usize =
                    latex[at + 1..].chars().take_while(char::is_ascii_alphabetic).map(char::len_utf8).sum();
                let name = &latex[at + 1..at + 1 + name_len];
                if name.is_empty() {
                    // `\,` `\;` `\!` `\ ` are spacing; `\{` `\%` and the like are the character.
                    if let Some((_, escaped)) = chars.next() {
                        match escaped {
                            ',' | ';' | ':' | ' ' => out.push(' '),
                            '!' => {}
                            other => out.push(other),
                        }
                    }
                    continue;
                }
                for _ in 0..name.chars().count() {
                    chars.next();
                }
                match name {
                    "frac" | "dfrac" | "tfrac" => {
                        let numerator = group(latex, &mut chars);
                        let denominator = group(latex, &mut chars);
                        out.push_str(&operand(&render(&numerator)));
                        out.push('/');
                        out.push_str(&operand(&render(&denominator)));
                    }
                    "sqrt" => {
                        out.push('√');
                        out.push_str(&operand(&render(&group(latex, &mut chars))));
                    }
                    "text" | "mathrm" | "mathbf" | "mathit" | "textbf" | "operatorname" | "mathbb" => {
                        out.push_str(&render(&group(latex, &mut chars)));
                    }
                    "left" | "right" | "big" | "Big" | "bigg" | "displaystyle" => {}
                    "quad" | "qquad" => out.push(' '),
                    other => match symbol(other) {
                        Some(symbol) => out.push_str(symbol),
                        None => {
                            out.push('\\');
                            out.push_str(other);
                        }
                    },
                }
            }
            // Grouping braces are not printed; `x^{2}` reads as `x^2`.
            '{' | '}' => {}
            other => out.push(other),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The next `{…}` group (or the next single character) after a command.
fn group(latex: &str, chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> String {
    while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    let Some((start, first)) = chars.next() else { return String::new() };
    if first != '{' {
        return first.to_string();
    }
    let mut depth = 1;
    for (at, c) in chars.by_ref() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return latex[start + 1..at].to_owned();
                }
            }
            _ => {}
        }
    }
    latex[start + 1..].to_owned()
}

/// A fraction's side in parentheses when it is more than one term.
fn operand(text: &str) -> String {
    if text.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '√') {
        text.to_owned()
    } else {
        format!("({text})")
    }
}

fn symbol(name: &str) -> Option<&'static str> {
    Some(match name {
        "cdot" => "·",
        "times" => "×",
        "div" => "÷",
        "pm" => "±",
        "mp" => "∓",
        "in" => "∈",
        "notin" => "∉",
        "le" | "leq" => "≤",
        "ge" | "geq" => "≥",
        "ne" | "neq" => "≠",
        "approx" => "≈",
        "sim" => "~",
        "equiv" => "≡",
        "infty" => "∞",
        "to" | "rightarrow" => "→",
        "leftarrow" => "←",
        "Rightarrow" | "implies" => "⇒",
        "sum" => "Σ",
        "prod" => "Π",
        "int" => "∫",
        "partial" => "∂",
        "ldots" | "dots" | "cdots" => "…",
        "alpha" => "α",
        "beta" => "β",
        "gamma" => "γ",
        "delta" => "δ",
        "Delta" => "Δ",
        "epsilon" | "varepsilon" => "ε",
        "theta" => "θ",
        "lambda" => "λ",
        "mu" => "μ",
        "pi" => "π",
        "rho" => "ρ",
        "sigma" => "σ",
        "Sigma" => "Σ",
        "tau" => "τ",
        "phi" | "varphi" => "φ",
        "omega" => "ω",
        "Omega" => "Ω",
        "mid" => "|",
        "vert" => "|",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn inline_fractions_read_as_plain_fractions() {
        assert_eq!(plain(r"the theoretical average of \( \frac{1}{3} \)."), "the theoretical average of 1/3.");
        assert_eq!(
            plain(r"\[ E[|x-y|] = \int_0^1 \int_0^1 |x - y| \, dx \, dy \]"),
            "E[|x-y|] = ∫_0^1 ∫_0^1 |x - y| dx dy"
        );
        assert_eq!(plain(r"\( \frac{x+1}{2} \)"), "(x+1)/2");
        assert_eq!(plain(r"\( z \in U(0,1) \), \( \sqrt{2} \approx 1.41 \)"), "z ∈ U(0,1), √2 ≈ 1.41");
        assert_eq!(plain(r"\( \text{mean} \pm 1\sigma \)"), "mean ± 1σ");
    }

    #[test]
    fn deeply_nested_groups_render_without_deep_recursion() {
        let depth = 200_000;
        let span = format!("\\( {}x{} \\)", "\\sqrt{".repeat(depth), "}".repeat(depth));
        let rendered = plain(&span);
        assert!(rendered.starts_with("√(√("), "{}", &rendered[..40]);
        assert_eq!(rendered.matches('√').count(), super::MAX_NESTING, "rendered to the bound, then kept as written");
        assert!(rendered.contains("x"));
        assert_eq!(plain(r"\( \frac{\frac{1}{2}}{3} \)"), "(1/2)/3", "shallow nesting still renders");
    }

    #[test]
    fn text_without_delimited_math_is_left_alone() {
        for text in [r"C:\Users\me and \n in a string", "costs $5 and $10", r"an unclosed \( span", r"\unknown"] {
            assert_eq!(plain(text), text);
        }
        assert_eq!(plain(r"\( \weird{x} \)"), r"\weirdx", "unknown commands are kept, braces dropped");
    }
}
