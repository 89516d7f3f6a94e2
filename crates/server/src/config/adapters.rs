//! What the configuration hands each adapter and use case: storage's connection
//! settings, the domain's limits, the worker's settings, the blob store's, and the
//! REST, MCP and web console settings.

use std::path::PathBuf;

use super::Config;

impl Config {
    /// How connections to the database are awaited.
    pub fn connect_settings(&self) -> ctxd_storage::ConnectSettings {
        ctxd_storage::ConnectSettings {
            acquire_timeout: std::time::Duration::from_millis(self.database.acquire_timeout_ms),
            pool_size: self.database.pool_size,
        }
    }

    /// The database to use: `database_url`, else SQLite in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("ctxd.db").display()),
        }
    }

    pub fn domain_limits(&self) -> ctxd_domain::services::Limits {
        ctxd_domain::services::Limits {
            max_content_bytes: self.limits.max_content_bytes,
            min_refresh_interval_seconds: self.limits.min_refresh_interval_seconds,
            allow_http_postbacks: self.postback.allow_http,
            allow_private_postbacks: self.fetch.allow_private_networks,
            postback_retry_delays: self
                .postback
                .retry_delays_seconds
                .iter()
                .map(|s| std::time::Duration::from_secs(*s))
                .collect(),
            uploads: ctxd_domain::services::UploadSettings {
                max_bytes: self.uploads.max_bytes,
                url_ttl: std::time::Duration::from_secs(self.uploads.url_ttl_seconds),
                ..ctxd_domain::services::UploadSettings::default()
            },
            max_collection_depth: self.limits.max_collection_depth,
            retain_revisions: self.revisions.retain,
            deleted_grace: chrono::Duration::days(i64::from(self.retention.deleted_grace_days)),
            console_session_ttl: chrono::Duration::hours(i64::from(self.web.session_hours)),
        }
    }

    /// The use cases' limits with the upload signing key in place.
    ///
    /// # Errors
    /// The signing key cannot be read or created.
    pub fn use_case_limits(&self) -> anyhow::Result<ctxd_domain::services::Limits> {
        use anyhow::Context as _;
        let mut limits = self.domain_limits();
        limits.uploads.signing_key =
            self.upload_signing_key().context("cannot read or create the upload signing key")?;
        Ok(limits)
    }

    /// The key that signs ctxd's upload URLs: `uploads.signing_key`, else the one
    /// kept in the data directory (created on first use).
    ///
    /// # Errors
    /// The key file cannot be read or written.
    pub fn upload_signing_key(&self) -> std::io::Result<Vec<u8>> {
        if let Some(key) = &self.uploads.signing_key {
            return Ok(key.expose().as_bytes().to_vec());
        }
        let path = self.data_dir.join("upload-signing.key");
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= 32 => return Ok(text.trim().as_bytes().to_vec()),
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} is not a usable key (expected 32 or more characters); delete it to get a new one",
                    path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let key = hex::encode(rand::random::<[u8; 32]>());
        // Written whole under a private name, then linked into place: the key file
        // never exists half-written, and when two processes start together the
        // second link fails and that process reads the first one's key.
        let staging = self.data_dir.join(format!(".upload-signing.key.{}", std::process::id()));
        crate::private_file::write_private(&staging, &key)?;
        let linked = std::fs::hard_link(&staging, &path);
        let _ = std::fs::remove_file(&staging);
        match linked {
            Ok(()) => Ok(key.into_bytes()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(std::fs::read_to_string(&path)?.trim().as_bytes().to_vec())
            }
            Err(e) => Err(e),
        }
    }

    pub fn worker_settings(&self) -> crate::worker::WorkerSettings {
        crate::worker::WorkerSettings {
            count: self.worker.count,
            lease: std::time::Duration::from_secs(self.worker.lease_seconds),
            poll_interval: std::time::Duration::from_millis(self.worker.poll_interval_ms),
            ..crate::worker::WorkerSettings::default()
        }
    }

    pub fn retry_policy(&self) -> ctxd_domain::services::pipeline::RetryPolicy {
        ctxd_domain::services::pipeline::RetryPolicy {
            max_attempts: self.worker.max_attempts,
            base_delay: std::time::Duration::from_secs(self.worker.retry_base_seconds),
        }
    }

    /// Where local blobs (revision contents) live.
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    pub fn s3_settings(&self) -> ctxd_blobs::S3Settings {
        let s3 = &self.blobs.s3;
        ctxd_blobs::S3Settings {
            endpoint: s3.endpoint.clone(),
            bucket: s3.bucket.clone(),
            region: s3.region.clone(),
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: s3.secret_access_key.clone(),
            path_style: s3.path_style,
            public_url: s3.public_url.clone(),
        }
    }

    pub fn rest(&self) -> ctxd_rest::RestConfig {
        ctxd_rest::RestConfig {
            max_body_bytes: self.http.max_body_bytes,
            rate_limits: ctxd_domain::services::rate_limits::RateLimits {
                free_per_minute: self.rate_limits.free_per_minute,
                pro_per_minute: self.rate_limits.pro_per_minute,
            },
            public_url: self
                .public_url
                .as_deref()
                .and_then(|u| url::Url::parse(&format!("{}/", u.trim_end_matches('/'))).ok()),
            trust_forwarded: self.http.trust_forwarded,
        }
    }

    /// The console's settings: its cookie is `Secure` when `public_url` is https.
    pub fn web_settings(&self) -> ctxd_web::WebSettings {
        let secure_cookies = self.rest().public_url.is_some_and(|url| url.scheme() == "https");
        ctxd_web::WebSettings { secure_cookies }
    }

    /// What bounds `/mcp`: sessions, body size, and the `Host` names accepted (the
    /// configured ones and `public_url`'s).
    pub fn mcp_http(&self) -> ctxd_mcp::HttpSettings {
        let mut allowed_hosts = self.mcp.allowed_hosts.clone();
        if let Some(public) = self.rest().public_url {
            if let Some(host) = public.host_str() {
                allowed_hosts.push(host.to_owned());
            }
            if let (Some(host), Some(port)) = (public.host_str(), public.port()) {
                allowed_hosts.push(format!("{host}:{port}"));
            }
        }
        ctxd_mcp::HttpSettings {
            max_sessions: self.mcp.max_sessions,
            idle_timeout: std::time::Duration::from_secs(self.mcp.idle_timeout_seconds),
            allowed_hosts,
            max_body_bytes: self.http.max_body_bytes,
        }
    }
}
