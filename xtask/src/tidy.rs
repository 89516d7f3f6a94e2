//! Repository rules enforced as tests (`cargo test -p xtask` or `cargo xtask ci`):
//! module docs everywhere, and the architecture's dependency arrows.

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
        ];
        let found: Vec<_> = deps.iter().filter(|d| forbidden.contains(&d.as_str())).collect();
        assert!(found.is_empty(), "domain must stay pure; it depends on {found:?}");
    }

    #[test]
    fn adapters_do_not_depend_on_each_other() {
        let root = workspace_root();
        let adapters = ["storage", "rest", "blobs", "fetchers", "extractors"];
        for adapter in adapters {
            let deps = normal_dependencies(&root.join(format!("crates/{adapter}/Cargo.toml")));
            assert!(deps.contains(&"ctxd-domain".to_owned()), "{adapter} implements the domain's ports");
            for other in adapters.iter().filter(|other| **other != adapter).map(|o| format!("ctxd-{o}")) {
                assert!(!deps.contains(&other), "{adapter} must not depend on {other}");
            }
            assert!(!deps.contains(&"ctxd-server".to_owned()), "{adapter} must not depend on the composition root");
        }
    }
}
