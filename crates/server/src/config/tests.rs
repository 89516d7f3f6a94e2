//! Tests of the layered configuration: files, environment, flags, validation.
// figment's Jail fixes the closure's error type; its size is not ours to change.
#![allow(clippy::result_large_err)]

use figment::Jail;

use super::*;

fn load(jail: &Jail, file: Option<&str>, overrides: &Overrides) -> Result<Config, Vec<String>> {
    let path = file.map(|text| {
        jail.create_file("ctxd.toml", text).unwrap();
        jail.directory().join("ctxd.toml")
    });
    Config::load(path.as_deref(), overrides)
}

#[test]
fn configured_secrets_never_print() {
    let mut config = Config::default();
    config.llm.api_key = Some(Secret::new("sk-live-123"));
    config.blobs.s3.secret_access_key = Some(Secret::new("aws-secret-456"));
    config.uploads.signing_key = Some(Secret::new("signing-key-7890123"));
    let printed = format!("{config:?} {:?} {:?}", config.llm.adapter_config(), config.s3_settings());
    for secret in ["sk-live-123", "aws-secret-456", "signing-key-7890123"] {
        assert!(!printed.contains(secret), "{secret} printed in {printed}");
    }
}

#[test]
fn the_upload_signing_key_is_made_once_and_kept_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { data_dir: dir.path().join("data"), ..Config::default() };
    let first = config.upload_signing_key().unwrap();
    assert_eq!(first.len(), 64, "32 random bytes, hex");
    assert_eq!(config.upload_signing_key().unwrap(), first, "a restart signs with the same key");
    let names: Vec<_> = std::fs::read_dir(&config.data_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["upload-signing.key"], "no staging file is left behind");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config.data_dir.join("upload-signing.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads the key");
    }

    std::fs::write(config.data_dir.join("upload-signing.key"), "").unwrap();
    let error = config.upload_signing_key().unwrap_err();
    assert!(error.to_string().contains("not a usable key"), "{error}");

    let configured = Config {
        uploads: UploadsConfig { signing_key: Some(Secret::new("k".repeat(20))), ..UploadsConfig::default() },
        ..config
    };
    assert_eq!(configured.upload_signing_key().unwrap(), b"k".repeat(20), "the configured key wins");
}

#[test]
fn defaults_use_sqlite_in_the_data_dir() {
    Jail::expect_with(|jail| {
        let config = load(jail, None, &Overrides::default()).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.effective_database_url(), "sqlite://./ctxd-data/ctxd.db?mode=rwc");
        Ok(())
    });
}

#[test]
fn flags_beat_env_which_beats_the_file() {
    Jail::expect_with(|jail| {
        jail.set_env("CTXD_LISTEN", "127.0.0.1:7001");
        jail.set_env("CTXD_POSTBACK__ALLOW_HTTP", "true");
        jail.set_env("DATABASE_URL", "postgres://db.internal/ctxd");
        let file = "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/ctxd\"\n[limits]\nmax_content_bytes = 5\n";
        let config = load(jail, Some(file), &Overrides::default()).unwrap();
        assert_eq!(config.listen, "127.0.0.1:7001", "env beats the file");
        assert_eq!(config.data_dir, PathBuf::from("/srv/ctxd"), "the file beats defaults");
        assert!(config.postback.allow_http, "nested keys use __");
        assert_eq!(config.limits.max_content_bytes, 5);
        assert_eq!(config.effective_database_url(), "postgres://db.internal/ctxd");
        let flags = Overrides { listen: Some("127.0.0.1:7002".into()), ..Overrides::default() };
        assert_eq!(load(jail, Some(file), &flags).unwrap().listen, "127.0.0.1:7002", "flags beat env");
        Ok(())
    });
}

#[test]
fn every_problem_is_reported_on_its_own_line() {
    Jail::expect_with(|jail| {
        let file = "listen = \"nowhere\"\ndatabase_url = \"mysql://x\"\n[limits]\nmax_content_bytes = 0\n";
        let problems = load(jail, Some(file), &Overrides::default()).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("listen:"));

        let problems = load(jail, Some("[limits]\nmax_content_bytes = \"lots\"\n"), &Overrides::default()).unwrap_err();
        assert!(problems[0].contains("max_content_bytes"), "{problems:?}");

        let missing = Config::load(Some(Path::new("/nonexistent/ctxd.toml")), &Overrides::default());
        assert!(missing.unwrap_err()[0].contains("does not exist"));
        Ok(())
    });
}

#[test]
fn the_llm_extractor_is_off_by_default_and_configured_by_env() {
    Jail::expect_with(|jail| {
        assert_eq!(load(jail, None, &Overrides::default()).unwrap().llm.adapter_config().map(|c| c.model), None);
        jail.set_env("CTXD_LLM__BASE_URL", "http://localhost:11434/v1");
        jail.set_env("CTXD_LLM__MODEL", "llama3.1");
        let config = load(jail, None, &Overrides::default()).unwrap().llm.adapter_config().unwrap();
        assert_eq!(config.base_url.as_str(), "http://localhost:11434/v1/");
        assert_eq!(config.model, "llama3.1");
        assert_eq!(config.max_retries, 2);

        jail.set_env("CTXD_LLM__BASE_URL", "ftp://models");
        let problems = load(jail, None, &Overrides::default()).unwrap_err();
        assert!(problems[0].starts_with("llm.base_url:"), "{problems:?}");
        let problems = load(jail, Some("[llm]\nmodel = \"m\"\n"), &Overrides::default());
        assert!(problems.unwrap_err().iter().any(|p| p.contains("go together") || p.starts_with("llm.base_url")));
        Ok(())
    });
}

#[test]
fn fetch_politeness_is_configurable_and_checked() {
    Jail::expect_with(|jail| {
        let config = load(jail, None, &Overrides::default()).unwrap();
        assert_eq!((config.fetch.max_per_host, config.fetch.contact_url.as_str()), (4, "https://github.com/ctxd/ctxd"));
        jail.set_env("CTXD_FETCH__CONTACT_URL", "mailto:ops@example.com");
        jail.set_env("CTXD_FETCH__MAX_PER_HOST", "1");
        let config = load(jail, None, &Overrides::default()).unwrap();
        assert_eq!((config.fetch.max_per_host, config.fetch.contact_url.as_str()), (1, "mailto:ops@example.com"));
        jail.set_env("CTXD_FETCH__MAX_PER_HOST", "0");
        let problems = load(jail, None, &Overrides::default()).unwrap_err();
        assert_eq!(problems, ["fetch.max_per_host: must be at least 1"]);
        Ok(())
    });
}
