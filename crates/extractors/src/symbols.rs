//! The names a code block defines — functions, classes, types, and methods qualified
//! by the class, impl or receiver the block shows them in — the literal values it
//! gives top-level names, and the file paths it names, so that a context can say
//! what each code artifact is without quoting it.
//!
//! A line scan in the manner of ctags' regex parsers, not a parser: code in
//! conversations is mostly fragments (a method without its class, an edit hunk, a
//! reply cut off mid-block) that a grammar rejects or misreads, and a name list needs
//! no more than the definition lines and the nesting around them. Edits count by their
//! new side: a SEARCH/REPLACE block's replacement, a diff's added and context lines.

use std::sync::LazyLock;

use regex::Regex;

/// At most this many names per block: a context lists them, it does not index them.
pub const MAX_SYMBOLS: usize = 12;

/// The families whose definitions read alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// Indentation nests (Python).
    Python,
    Rust,
    /// JavaScript and TypeScript.
    Script,
    Go,
    /// Java, Kotlin, C#, Swift, PHP, Scala, Dart: `class` bodies in braces.
    Braces,
}

fn family(language: &str) -> Option<Family> {
    Some(match language.to_ascii_lowercase().as_str() {
        "python" | "py" | "python3" => Family::Python,
        "rust" | "rs" => Family::Rust,
        "javascript" | "js" | "jsx" | "typescript" | "ts" | "tsx" | "mjs" | "cjs" => Family::Script,
        "go" | "golang" => Family::Go,
        "java" | "kotlin" | "kt" | "csharp" | "cs" | "c#" | "swift" | "php" | "scala" | "dart" => Family::Braces,
        _ => return None,
    })
}

/// The names `code` (in `language`) defines, in order of appearance, each once; empty
/// for languages it does not know.
pub fn defined(language: Option<&str>, code: &str) -> Vec<String> {
    let Some(family) = language.and_then(family) else { return Vec::new() };
    let lines = new_side(code);
    let mut names = match family {
        Family::Python => python(&lines),
        _ => braced(family, &lines),
    };
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| seen.insert(name.clone()));
    names.truncate(MAX_SYMBOLS);
    names
}

/// At most this many settings per block.
pub const MAX_SETTINGS: usize = 6;

/// The literal values `code` gives its top-level names (`n_simulations = 10000`,
/// `const TIMEOUT_MS: u64 = 500;`), as `name = value`: the parameters a script or module
/// settled on. Only unindented lines count, and only numbers, booleans and short
/// strings; a zero or false, which starts a counter or flag, is left out.
pub fn settings(language: Option<&str>, code: &str) -> Vec<String> {
    static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"^(?:export\s+)?(?:pub(?:\([^)]*\))?\s+)?(?:(?:const|let|var|static)\s+)?([A-Za-z_]\w*)\s*(?::\s*[\w&'<> ]+)?\s*:?=\s*(-?\d[\d_.]*(?:e-?\d+)?|true|false|True|False|"[^"\\]{1,40}"|'[^'\\]{1,40}')\s*;?\s*(?:(?:#|//).*)?$"#,
        )
        .expect("valid regex")
    });
    if language.and_then(family).is_none() {
        return Vec::new();
    }
    let mut found: Vec<String> = Vec::new();
    for line in new_side(code) {
        // A zero or false is a counter or flag starting out, not a choice.
        if let Some(c) = ASSIGNMENT.captures(line)
            && !matches!(&c[2], "0" | "0.0" | "false" | "False")
        {
            let setting = format!("{} = {}", &c[1], &c[2]);
            if !found.contains(&setting) {
                found.push(setting);
            }
        }
    }
    found.truncate(MAX_SETTINGS);
    found
}

/// At most this many paths per block.
pub const MAX_PATHS: usize = 4;

/// File extensions that make a word or a string literal read as a file name.
const FILE_EXTENSIONS: &[&str] = &[
    "rs", "py", "ts", "tsx", "js", "jsx", "mjs", "md", "json", "toml", "yaml", "yml", "go", "java", "kt", "rb", "php",
    "c", "h", "cc", "cpp", "hpp", "cs", "swift", "sql", "sh", "css", "scss", "html", "vue", "svelte", "txt", "proto",
    "lock", "cfg", "ini", "env", "csv", "xml", "log", "db", "sqlite", "conf",
];

/// Whether `word` (a bare name or a path, no spaces) ends in a known file extension.
pub(crate) fn is_file_name(word: &str) -> bool {
    word.rsplit_once('.').is_some_and(|(stem, extension)| !stem.is_empty() && FILE_EXTENSIONS.contains(&extension))
}

/// The file paths `code` names, in order, each once: path joins of string literals
/// rendered as one path (`Path.home() / ".aider" / "uuid.json"` →
/// `Path.home()/.aider/uuid.json`, `os.path.join(base, "out.csv")`, `dir.join("a.toml")`)
/// and string literals that are file names (`"config.yaml"`, `'./data/x'`). Where a
/// script keeps its state is part of what it decided, and often said nowhere else.
/// Import lines are left out: module specifiers are not files the code uses.
pub fn paths(code: &str) -> Vec<String> {
    const LITERAL: &str = r#"(?:"[^"\\\n]*"|'[^'\\\n]*')"#;
    // A base (a name, a call, a literal) divided by literals: Python's pathlib.
    static DIVIDED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(&format!(r"((?:[A-Za-z_][\w.]*(?:\([^()]*\))?|{LITERAL}))((?:\s*/\s*{LITERAL})+)"))
            .expect("valid regex")
    });
    // `os.path.join(...)`, `path.join(...)`, `path.resolve(...)`, `filepath.Join(...)`.
    static JOIN_CALL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(?:os\.path\.join|path\.join|path\.resolve|filepath\.Join)\(([^()]*)\)").expect("valid regex")
    });
    // A receiver joined with literals: Rust's `Path::join`, Node's `path` chains.
    static JOIN_METHOD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(&format!(r"([A-Za-z_]\w*(?:(?:\.|::)\w+)*?(?:\([^()]*\))?)((?:\.join\(\s*{LITERAL}\s*\))+)"))
            .expect("valid regex")
    });
    static STRING: LazyLock<Regex> = LazyLock::new(|| Regex::new(LITERAL).expect("valid regex"));
    let unquote = |s: &str| s.trim().trim_matches(['"', '\'']).to_owned();
    // A literal a path is joined from: one segment or more, no spaces or punctuation only.
    let segment = |s: &str| {
        let s = unquote(s);
        !s.is_empty() && s.chars().any(char::is_alphanumeric) && !s.contains(char::is_whitespace) && !s.contains("://")
    };
    // A base written as `Path("dir")` is that directory.
    let base_of = |base: &str| match base.strip_prefix("Path(").and_then(|b| b.strip_suffix(')')) {
        Some(inner) if STRING.is_match(inner.trim()) => unquote(inner),
        _ if STRING.is_match(base) => unquote(base),
        _ => base.to_owned(),
    };
    let mut found: Vec<String> = Vec::new();
    let mut push = |path: String| {
        if !found.contains(&path) {
            found.push(path);
        }
    };
    for line in new_side(code) {
        let trimmed = line.trim_start();
        let import = ["import ", "from ", "use ", "#include", "export * from", "export {"]
            .iter()
            .any(|p| trimmed.starts_with(p))
            || trimmed.contains("require(")
            || trimmed.contains("import(");
        if import {
            continue;
        }
        let mut rest = line.to_owned();
        // A base (group 1) and the literals joined to it (group 2). `.join` also joins
        // lists of strings, so there the last literal must be a file name.
        for (joined, needs_file_name) in [(&*DIVIDED, false), (&*JOIN_METHOD, true)] {
            for c in joined.captures_iter(line) {
                let parts: Vec<String> = STRING.find_iter(&c[2]).map(|m| m.as_str()).map(unquote).collect();
                let names_file = !needs_file_name || parts.last().is_some_and(|p| is_file_name(p));
                if parts.iter().all(|p| segment(p)) && names_file {
                    push(format!("{}/{}", base_of(&c[1]), parts.join("/")));
                    rest = rest.replace(&c[0], " ");
                }
            }
        }
        for c in JOIN_CALL.captures_iter(line) {
            let args: Vec<&str> = c[1].split(',').map(str::trim).collect();
            if args.len() > 1 && args.last().is_some_and(|a| STRING.is_match(a) && segment(a)) {
                push(args.iter().map(|a| base_of(a)).collect::<Vec<_>>().join("/"));
                rest = rest.replace(&c[0], " ");
            }
        }
        for m in STRING.find_iter(&rest) {
            let literal = unquote(m.as_str());
            let relative = ["./", "../", "~/"].iter().any(|p| literal.starts_with(p)) && literal.len() > 3;
            if segment(m.as_str()) && literal.len() <= 100 && (relative || is_file_name(&literal)) {
                push(literal);
            }
        }
    }
    found.truncate(MAX_PATHS);
    found
}

/// The lines an edit leaves in place: a SEARCH/REPLACE block's replacements, a unified
/// diff's context and added lines; any other block whole.
fn new_side(code: &str) -> Vec<&str> {
    if code.lines().any(|l| l.starts_with("<<<<<<< SEARCH")) {
        let mut keep = false;
        return code
            .lines()
            .filter(|line| {
                if line.starts_with("<<<<<<< SEARCH") || line.starts_with(">>>>>>> REPLACE") {
                    keep = false;
                    return false;
                }
                if line.starts_with("=======") {
                    keep = true;
                    return false;
                }
                keep
            })
            .collect();
    }
    let is_diff = code.lines().any(|l| l.starts_with("@@ ")) && code.lines().any(|l| l.starts_with(['+', '-']));
    if is_diff {
        return code
            .lines()
            .filter(|l| !l.starts_with("+++") && !l.starts_with("@@"))
            .filter_map(|l| l.strip_prefix('+').or_else(|| l.strip_prefix(' ')))
            .collect();
    }
    code.lines().collect()
}

fn indent(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

static PY_DEF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)").expect("valid regex"));
static PY_CLASS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*class\s+([A-Za-z_]\w*)").expect("valid regex"));

/// Python: classes, module functions and methods (`Class.method`); dunder methods and
/// functions local to another function are left out.
fn python(lines: &[&str]) -> Vec<String> {
    // The open scopes: indentation, name, and whether it is a class.
    let mut scopes: Vec<(usize, String, bool)> = Vec::new();
    let mut names = Vec::new();
    for line in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let depth = indent(line);
        while scopes.last().is_some_and(|(d, _, _)| *d >= depth) {
            scopes.pop();
        }
        let (name, is_class) = if let Some(c) = PY_CLASS.captures(line) {
            (c[1].to_owned(), true)
        } else if let Some(c) = PY_DEF.captures(line) {
            (c[1].to_owned(), false)
        } else {
            continue;
        };
        let inside_function = scopes.iter().any(|(_, _, class)| !class);
        let dunder = name.starts_with("__") && name.ends_with("__");
        if !inside_function && !dunder {
            let qualifier: Vec<&str> = scopes.iter().map(|(_, n, _)| n.as_str()).collect();
            names.push(if qualifier.is_empty() { name.clone() } else { format!("{}.{name}", qualifier.join(".")) });
        }
        scopes.push((depth, name, is_class));
    }
    names
}

/// What a definition's opening brace opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opens {
    /// A class, impl or the like, whose members the scan qualifies by its name.
    Container,
    /// A function body: nothing inside is a definition worth listing.
    Body,
    /// A struct, interface or enum body: fields, no definitions.
    Plain,
}

/// One definition pattern of a brace family: group 1 is the name (for a Go method,
/// group 1 is the receiver's type and group 2 the name).
struct Pattern {
    regex: Regex,
    opens: Opens,
}

fn build(list: &[(&str, Opens)]) -> Vec<Pattern> {
    list.iter().map(|(re, opens)| Pattern { regex: Regex::new(re).expect("valid regex"), opens: *opens }).collect()
}

/// Definitions anywhere outside a function body.
fn patterns(family: Family) -> &'static [Pattern] {
    use Opens::{Body, Container, Plain};
    static RUST: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
        build(&[
            (r"^\s*(?:unsafe\s+)?impl\b(?:<[^{]*?>)?\s+(?:[\w:]+(?:<[^{]*>)?\s+for\s+)?(?:\w+::)*(\w+)", Container),
            (
                r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\S+\s+)?fn\s+(\w+)",
                Body,
            ),
            (r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:struct|enum|union|trait|type)\s+(\w+)", Plain),
        ])
    });
    static SCRIPT: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
        build(&[
            (r"^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+(\w+)", Container),
            (r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*(\w+)", Body),
            (r"^\s*(?:export\s+)?(?:declare\s+)?(?:interface|enum|type)\s+(\w+)", Plain),
            (
                r"^\s*(?:export\s+)?(?:const|let|var)\s+(\w+)\s*(?::[^=]+)?=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|\w+\s*=>)",
                Body,
            ),
            // A method shown without its class, as fragments often are.
            (
                r"^\s*(?:public|private|protected)\s+(?:(?:static|async|readonly|override|get|set)\s+)*(\w+)\s*(?:<[^>]*>)?\s*\(",
                Body,
            ),
        ])
    });
    static GO: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
        build(&[
            (r"^func\s+\(\s*\w*\s*\*?(\w+)(?:\[[^\]]*\])?\s*\)\s*(\w+)", Body),
            (r"^func\s+(\w+)", Body),
            (r"^\s*type\s+(\w+)\s+(?:struct|interface)", Plain),
        ])
    });
    static BRACES: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
        build(&[
            (
                r"^\s*(?:(?:public|private|protected|internal|static|abstract|final|sealed|open|data|partial|export)\s+)*(?:class|interface|enum|struct|record|object|protocol|extension)\s+(\w+)",
                Container,
            ),
            (
                r"^\s*(?:(?:public|private|protected|internal|static|final|override|open|async|suspend)\s+)*(?:fun|func|function|def)\s+(\w+)",
                Body,
            ),
        ])
    });
    match family {
        Family::Rust => &RUST,
        Family::Script => &SCRIPT,
        Family::Go => &GO,
        Family::Braces => &BRACES,
        Family::Python => &[],
    }
}

/// Member definitions, which only read as such directly inside a class body.
fn member_patterns(family: Family) -> &'static [Pattern] {
    use Opens::Body;
    static SCRIPT: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
        build(&[
            (
                r"^\s*(?:(?:public|private|protected|static|async|readonly|override|get|set)\s+)*\*?(\w+)\s*(?:<[^>]*>)?\s*\([^;]*$",
                Body,
            ),
            (
                r"^\s*(?:(?:public|private|protected|static|readonly)\s+)*(\w+)\s*(?::[^=]+)?=\s*(?:async\s+)?(?:\([^)]*\)|\w+)\s*(?::[^=]+)?=>",
                Body,
            ),
        ])
    });
    static BRACES: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
        build(&[(
            r"^\s*(?:(?:public|private|protected|internal|static|final|abstract|synchronized|override|virtual|async|sealed)\s+)*[\w<>\[\],.?]+(?:\s*<[^>]*>)?\s+(\w+)\s*\([^;]*$",
            Body,
        )])
    });
    match family {
        Family::Script => &SCRIPT,
        Family::Braces => &BRACES,
        _ => &[],
    }
}

/// Words that look like a member definition in a class body but are statements.
const NOT_MEMBERS: &[&str] = &[
    "if",
    "for",
    "while",
    "switch",
    "catch",
    "return",
    "function",
    "constructor",
    "super",
    "new",
    "else",
    "do",
    "try",
];

/// How many lines a definition's signature may run before its opening brace.
const PENDING_LINES: usize = 8;

/// Brace families: each definition qualified by the containers (class, impl, Go
/// receiver) open around it; nothing inside a function body counts.
fn braced(family: Family, lines: &[&str]) -> Vec<String> {
    let separator = if family == Family::Rust { "::" } else { "." };
    // What each open brace opened: a container's name, or whether it is a body.
    let mut braces: Vec<(Option<String>, bool)> = Vec::new();
    // A definition whose brace is still to come (a signature over several lines), and
    // for how many more lines it may come: a definition without a body has none.
    let mut pending: Option<(Option<String>, bool)> = None;
    let mut pending_lines: usize = 0;
    let mut names = Vec::new();
    for line in lines {
        let code = code_part(line);
        if pending_lines == 0 {
            pending = None;
        }
        pending_lines = pending_lines.saturating_sub(1);
        let in_body = braces.iter().any(|(_, body)| *body);
        if !in_body && pending.is_none() {
            let in_container = braces.last().is_some_and(|(c, _)| c.is_some());
            let members = if in_container { member_patterns(family) } else { &[] };
            let found = patterns(family).iter().chain(members).find_map(|p| p.regex.captures(&code).map(|c| (p, c)));
            // Every pattern has a group 1; a Go method's group 2 is its name.
            let definition = found.and_then(|(pattern, captures)| match (captures.get(2), captures.get(1)) {
                (Some(method), Some(receiver)) => Some((pattern, method.as_str(), Some(receiver.as_str()))),
                (None, Some(name)) => Some((pattern, name.as_str(), None)),
                _ => None,
            });
            if let Some((pattern, name, receiver)) = definition
                && !NOT_MEMBERS.contains(&name)
            {
                let mut path: Vec<&str> = braces.iter().filter_map(|(c, _)| c.as_deref()).collect();
                path.extend(receiver);
                path.push(name);
                // A Rust impl names a type defined elsewhere.
                if !(pattern.opens == Opens::Container && family == Family::Rust) {
                    names.push(path.join(separator));
                }
                pending = Some(match pattern.opens {
                    Opens::Container => (Some(name.to_owned()), false),
                    Opens::Body => (None, true),
                    Opens::Plain => (None, false),
                });
                pending_lines = PENDING_LINES;
            }
        }
        for c in code.chars() {
            match c {
                '{' => braces.push(pending.take().unwrap_or((None, false))),
                '}' => {
                    braces.pop();
                }
                // A declaration without a body (`fn f();`, an abstract method).
                ';' => pending = None,
                _ => {}
            }
        }
    }
    names
}

/// A line without its string literals and its `//` comment, so that braces and
/// keywords inside them do not count.
fn code_part(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == '\\' {
                    chars.next();
                } else if c == q {
                    quote = None;
                    out.push(c);
                }
            }
            None => {
                if c == '/' && chars.peek() == Some(&'/') {
                    break;
                }
                if matches!(c, '"' | '\'' | '`') {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::defined;

    #[test]
    fn python_lists_classes_functions_and_qualified_methods_but_not_dunders_or_local_helpers() {
        let code = "import json\n\nclass Analytics:\n    def __init__(self, token=None):\n        self.mp = None\n\n    def track_event(self, name):\n        def helper():\n            pass\n        helper()\n\n    async def flush(self):\n        pass\n\ndef main():\n    pass\n";
        assert_eq!(defined(Some("python"), code), ["Analytics", "Analytics.track_event", "Analytics.flush", "main"]);
    }

    #[test]
    fn an_edit_block_counts_by_what_it_leaves() {
        let code = "<<<<<<< SEARCH\ndef old_name():\n    pass\n=======\ndef new_name():\n    pass\n>>>>>>> REPLACE\n";
        assert_eq!(defined(Some("python"), code), ["new_name"]);
        let diff = "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n class Map:\n-    def old(self):\n+    def new(self):\n         pass\n";
        assert_eq!(defined(Some("python"), diff), ["Map", "Map.new"]);
    }

    #[test]
    fn typescript_methods_are_qualified_by_their_class_and_fragments_keep_their_name() {
        let code = "export class ClineProvider {\n  private state = {}\n  async updateApiConfiguration(config: ApiConfiguration) {\n    if (config) {\n      const inner = () => {}\n    }\n  }\n  handle = async (msg: Message) => {\n  }\n}\nexport interface Settings {\n  name: string\n}\nexport const load = async (path: string) => {\n}\n";
        assert_eq!(
            defined(Some("ts"), code),
            ["ClineProvider", "ClineProvider.updateApiConfiguration", "ClineProvider.handle", "Settings", "load"]
        );
        let fragment = "private async saveConfig(name: string): Promise<void> {\n  await this.write(name)\n}\n";
        assert_eq!(defined(Some("typescript"), fragment), ["saveConfig"]);
    }

    #[test]
    fn rust_methods_are_qualified_by_their_impls_type() {
        let code = "pub struct Lane {\n    conn: Option<Conn>,\n}\n\nimpl Drop for Lane {\n    fn drop(&mut self) {}\n}\n\nimpl<T> Batcher<T> {\n    pub async fn call(&self) -> T {\n        fn local() {}\n        todo\n    }\n}\n\npub(crate) fn spawn() {}\n";
        assert_eq!(defined(Some("rust"), code), ["Lane", "Lane::drop", "Batcher::call", "spawn"]);
    }

    #[test]
    fn go_methods_take_their_receivers_type_and_java_methods_their_class() {
        let go = "type Store struct {\n\tdb *sql.DB\n}\n\nfunc (s *Store) Save(ctx context.Context) error {\n\treturn nil\n}\n\nfunc New() *Store {\n\treturn nil\n}\n";
        assert_eq!(defined(Some("go"), go), ["Store", "Store.Save", "New"]);
        let java = "public class ConfigManager {\n    private final Map<String, Profile> profiles;\n\n    public Profile loadConfig(String name) throws IOException {\n        if (name == null) {\n            return null;\n        }\n        return profiles.get(name);\n    }\n}\n";
        assert_eq!(defined(Some("java"), java), ["ConfigManager", "ConfigManager.loadConfig"]);
    }

    #[test]
    fn settings_are_the_literals_given_to_top_level_names() {
        let py = "import numpy as np\n\nn_simulations = 10000  # draws\ntotal = 0\nlabel = 'run'\nrate = 0.5\nresults = []\ndef f():\n    inner = 3\n";
        assert_eq!(super::settings(Some("python"), py), ["n_simulations = 10000", "label = 'run'", "rate = 0.5"]);
        let rs = "pub const MAX_BATCH: usize = 64;\nstatic NAME: &str = \"ctxd\";\nlet x = compute();\n";
        assert_eq!(super::settings(Some("rust"), rs), ["MAX_BATCH = 64", "NAME = \"ctxd\""]);
        assert!(super::settings(Some("bash"), "N=3\n").is_empty());
    }

    #[test]
    fn paths_are_file_literals_and_path_joins_rendered_whole_but_not_imports() {
        let py = "import json\nfrom pathlib import Path\n\ndef get_or_create_uuid():\n    uuid_file = Path.home() / \".aider\" / \"caches\" / \"mixpanel\" / \"uuid.json\"\n    with open(uuid_file, 'r') as f:\n        return json.load(f)\n    cfg = Path(\"data\") / 'out.csv'\n    log = os.path.join(base, \"run.log\")\n    print(\"done.\")\n";
        assert_eq!(super::paths(py), ["Path.home()/.aider/caches/mixpanel/uuid.json", "data/out.csv", "base/run.log"]);
        let ts = "import { x } from './ClineProvider.ts'\nconst y = require('../lib/util.js')\nconst file = path.join(dir, 'settings.json')\nfs.readFileSync(\"./fixtures/page\")\nconst label = names.join(\", \")\n";
        assert_eq!(super::paths(ts), ["dir/settings.json", "./fixtures/page"]);
        let rs = "let config = root.join(\"ctxd\").join(\"config.toml\");\nlet mime = \"application/json\";\n";
        assert_eq!(super::paths(rs), ["root/ctxd/config.toml"]);
    }

    #[test]
    fn strings_and_comments_do_not_open_scopes_and_unknown_languages_list_nothing() {
        let code = "const brace = \"{\"; // }\nfunction after() {\n}\n";
        assert_eq!(defined(Some("js"), code), ["after"]);
        assert!(defined(Some("bash"), "function deploy() {\n}\n").is_empty());
        assert!(defined(None, "def f():\n    pass\n").is_empty());
    }
}
