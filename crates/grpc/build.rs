//! Compiles `proto/ctxd/v1/*.proto` with the protoc that ships in
//! `protoc-bin-vendored` (unless `PROTOC` names another); nothing is downloaded.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=PROTOC");
    println!("cargo:rerun-if-changed=../../proto");
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let files: Vec<String> = ["common", "spaces", "collections", "api_keys", "artifacts", "sources"]
        .iter()
        .map(|f| format!("../../proto/ctxd/v1/{f}.proto"))
        .collect();
    tonic_prost_build::configure().file_descriptor_set_path(out_dir.join("ctxd_descriptor.bin")).compile_with_config(
        config,
        &files,
        &["../../proto".to_owned()],
    )?;
    Ok(())
}
