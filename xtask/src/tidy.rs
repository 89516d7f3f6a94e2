//! Repository rules enforced as tests (`cargo test -p xtask` or `cargo xtask ci`):
//! module docs everywhere, the architecture's dependency arrows, and the protobuf
//! style of `proto/`.

#[cfg(test)]
mod tests {
    use std::{
        fs,
        path::{Path, PathBuf},
    };

    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_owned()
    }

    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "target") {
                    continue;
                }
                rust_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_module_starts_with_a_doc_comment() {
        let root = workspace_root();
        let mut files = Vec::new();
        for dir in ["crates", "migrations", "xtask", "tests"] {
            rust_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 20, "the walk found too few files: {}", files.len());
        let missing: Vec<_> = files
            .iter()
            .filter(|path| {
                let text = fs::read_to_string(path).unwrap_or_default();
                !text.trim_start().starts_with("//!")
            })
            .map(|path| path.strip_prefix(&root).unwrap_or(path).display().to_string())
            .collect();
        assert!(missing.is_empty(), "files without a leading //! line saying what they are for: {missing:#?}");
    }

    /// The `[dependencies]` section of a crate's manifest (dev-dependencies excluded).
    fn normal_dependencies(manifest: &Path) -> Vec<String> {
        let text = fs::read_to_string(manifest).expect("manifest");
        let mut in_section = false;
        let mut names = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_section = line == "[dependencies]";
                continue;
            }
            if in_section
                && !line.is_empty()
                && !line.starts_with('#')
                && let Some(name) = line.split(['=', '.', ' ']).next()
            {
                names.push(name.trim().to_owned());
            }
        }
        names
    }

    #[test]
    fn the_domain_depends_on_no_io_or_adapter_crate() {
        let deps = normal_dependencies(&workspace_root().join("crates/domain/Cargo.toml"));
        assert!(deps.contains(&"async-trait".to_owned()), "the parser found the section: {deps:?}");
        let forbidden = [
            "tokio",
            "axum",
            "tonic",
            "prost",
            "sea-orm",
            "sqlx",
            "reqwest",
            "object_store",
            "hyper",
            "tower",
            "ctxd-storage",
            "ctxd-rest",
            "ctxd-server",
            "ctxd-telemetry",
            "rmcp",
            "maud",
        ];
        let found: Vec<_> = deps.iter().filter(|d| forbidden.contains(&d.as_str())).collect();
        assert!(found.is_empty(), "domain must stay pure; it depends on {found:?}");
    }

    #[test]
    fn adapters_do_not_depend_on_each_other() {
        let root = workspace_root();
        let adapters = ["storage", "rest", "grpc", "mcp", "web", "blobs", "fetchers", "extractors", "llm"];
        for adapter in adapters {
            let deps = normal_dependencies(&root.join(format!("crates/{adapter}/Cargo.toml")));
            assert!(deps.contains(&"ctxd-domain".to_owned()), "{adapter} implements the domain's ports");
            for other in adapters.iter().filter(|other| **other != adapter).map(|o| format!("ctxd-{o}")) {
                assert!(!deps.contains(&other), "{adapter} must not depend on {other}");
            }
            assert!(!deps.contains(&"ctxd-server".to_owned()), "{adapter} must not depend on the composition root");
        }
    }

    #[test]
    fn telemetry_is_a_leaf_every_part_of_a_process_may_count_into() {
        let deps = normal_dependencies(&workspace_root().join("crates/telemetry/Cargo.toml"));
        assert!(deps.contains(&"prometheus".to_owned()), "the parser found the section: {deps:?}");
        let internal: Vec<_> = deps.iter().filter(|d| d.starts_with("ctxd-")).collect();
        assert!(
            internal.is_empty(),
            "telemetry depends on no ctxd crate, so none counts through another: {internal:?}"
        );
        for counter in ["rest", "grpc", "server"] {
            let deps = normal_dependencies(&workspace_root().join(format!("crates/{counter}/Cargo.toml")));
            assert!(deps.contains(&"ctxd-telemetry".to_owned()), "{counter} counts into ctxd-telemetry");
        }
    }

    #[test]
    fn the_architecture_lists_the_xtask_commands_that_help_lists() {
        let commands: Vec<&str> = crate::USAGE
            .lines()
            .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
            .filter_map(|line| line.split_whitespace().next())
            .collect();
        assert!(commands.contains(&"ci") && commands.contains(&"chaos"), "{commands:?}");
        let architecture = fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
        let section = architecture.split("### `xtask`").nth(1).expect("an xtask section");
        let section = section.split("\n## ").next().unwrap_or(section);
        for command in commands {
            let named = section.contains(&format!("`{command}`")) || section.contains(&format!("`{command} "));
            assert!(named, "ARCHITECTURE.md's xtask section does not name `{command}`");
        }
    }

    /// Top-level definitions of a proto file: (kind, name, body lines).
    fn proto_blocks(text: &str) -> Vec<(String, String, Vec<String>)> {
        let mut blocks = Vec::new();
        let mut current: Option<(String, String, Vec<String>)> = None;
        for line in text.lines().map(str::trim) {
            if current.is_none() {
                let mut words = line.split_whitespace();
                if let (Some(kind @ ("message" | "enum" | "service")), Some(name)) = (words.next(), words.next()) {
                    if line.ends_with("{}") {
                        blocks.push((kind.to_owned(), name.to_owned(), Vec::new()));
                    } else {
                        current = Some((kind.to_owned(), name.to_owned(), Vec::new()));
                    }
                }
            } else if line == "}" {
                blocks.extend(current.take());
            } else if let Some((_, _, body)) = current.as_mut() {
                body.push(line.to_owned());
            }
        }
        blocks
    }

    fn screaming_snake(name: &str) -> String {
        let mut out = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }

    #[test]
    fn protos_follow_the_style_guide() {
        let dir = workspace_root().join("proto/ctxd/v1");
        let mut files: Vec<PathBuf> = fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
        files.retain(|p| p.extension().is_some_and(|e| e == "proto"));
        assert!(files.len() >= 5, "found {} proto files", files.len());
        let mut problems = Vec::new();
        let all_text: Vec<(PathBuf, String)> =
            files.iter().map(|f| (f.clone(), fs::read_to_string(f).unwrap())).collect();
        for (file, text) in &all_text {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            if !text.contains("\npackage ctxd.v1;") {
                problems.push(format!("{name}: the package must be ctxd.v1 (its directory)"));
            }
            for (kind, block, body) in proto_blocks(text) {
                if !block.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                    problems.push(format!("{name}: {kind} {block} is not UpperCamelCase"));
                }
                let entries: Vec<&String> = body.iter().filter(|l| l.ends_with(';') && l.contains(" = ")).collect();
                let mut numbers = std::collections::HashSet::new();
                for entry in &entries {
                    let number = entry.rsplit(" = ").next().unwrap().trim_end_matches(';').trim();
                    if !numbers.insert(number.to_owned()) {
                        problems.push(format!("{name}: {block} reuses number {number}"));
                    }
                    let field = entry.split(" = ").next().unwrap().split_whitespace().last().unwrap();
                    match kind.as_str() {
                        "enum" if !field.starts_with(&format!("{}_", screaming_snake(&block))) => {
                            problems.push(format!("{name}: {field} must start with {}_", screaming_snake(&block)));
                        }
                        "message" if field.chars().any(|c| c.is_ascii_uppercase()) => {
                            problems.push(format!("{name}: field {block}.{field} must be lower_snake_case"));
                        }
                        _ => {}
                    }
                }
                if kind == "enum" && !entries.first().is_some_and(|e| e.ends_with("_UNSPECIFIED = 0;")) {
                    problems.push(format!(
                        "{name}: enum {block} must start with {}_UNSPECIFIED = 0",
                        screaming_snake(&block)
                    ));
                }
            }
            // Every import is used: a type it defines is named here.
            for import in text.lines().filter_map(|l| l.strip_prefix("import \"")).map(|l| l.trim_end_matches("\";")) {
                let defined: Vec<String> = if let Some(wkt) = import.strip_prefix("google/protobuf/") {
                    let stem = wkt.trim_end_matches(".proto");
                    let camel: String = stem.split('_').map(|p| p[..1].to_uppercase() + &p[1..]).collect();
                    match camel.as_str() {
                        "Struct" => vec!["google.protobuf.Struct".into(), "google.protobuf.Value".into()],
                        other => vec![format!("google.protobuf.{other}")],
                    }
                } else {
                    let imported =
                        all_text.iter().find(|(p, _)| p.ends_with(import)).map(|(_, t)| t.clone()).unwrap_or_default();
                    proto_blocks(&imported).into_iter().filter(|(k, _, _)| k != "service").map(|(_, n, _)| n).collect()
                };
                let uses = defined.iter().any(|d| {
                    text.lines()
                        .filter(|l| !l.starts_with("import"))
                        .any(|l| l.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_')).any(|w| w == d))
                });
                if !uses {
                    problems.push(format!("{name}: import {import} is unused"));
                }
            }
        }
        assert!(problems.is_empty(), "proto style problems:\n{}", problems.join("\n"));
    }
}
