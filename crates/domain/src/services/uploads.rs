//! Uploads: where a client puts a file before creating a FILE source from it.
//!
//! `presign` records the upload (owner, declared name, type and size) and returns a
//! URL to `PUT` the bytes to: the bucket's own presigned URL with S3, or ctxd's
//! signed route with the local directory. `receive` is that route: the signature and
//! its expiry are the caller's credential (like S3's), the body must have the
//! declared type and exact size, and it is streamed to the store in bounded memory.
//! A refused body never replaces what an earlier PUT stored.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use super::Ports;
use crate::{
    Error, Result,
    error::Violations,
    model::{Upload, User, check_name},
    ports::{BlobMeta, ByteStream},
};

/// How uploads are limited and signed.
#[derive(Clone)]
pub struct UploadSettings {
    /// Largest file accepted at presign time (413 above it).
    pub max_bytes: u64,
    /// How long an upload URL stays valid.
    pub url_ttl: Duration,
    /// Signs ctxd's own upload URLs; every replica sharing a data directory must
    /// use the same key.
    pub signing_key: Vec<u8>,
}

impl std::fmt::Debug for UploadSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadSettings")
            .field("max_bytes", &self.max_bytes)
            .field("url_ttl", &self.url_ttl)
            .finish_non_exhaustive()
    }
}

impl Default for UploadSettings {
    /// 100 MiB, 15 minutes and a random key: right for one process; `ctxd serve`
    /// keeps its key in the data directory so restarts and replicas agree.
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024 * 1024,
            url_ttl: Duration::from_secs(15 * 60),
            signing_key: rand::random::<[u8; 32]>().to_vec(),
        }
    }
}

/// `POST /v1/upload/s3` body; missing fields are reported by name.
#[derive(Debug, Clone, Default)]
pub struct NewUpload {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<u64>,
}

/// Where the client sends the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadTarget {
    /// A URL signed by the store itself (S3).
    Direct(Url),
    /// ctxd's signed route: `/v1/files/{file_key}?{query}`, made absolute by the
    /// transport, which knows the address it is reached at.
    Ctxd { query: String },
}

/// What presigning returns.
#[derive(Debug, Clone)]
pub struct PresignedUpload {
    pub upload: Upload,
    pub target: UploadTarget,
    /// Where the object is readable once uploaded, when the store has addresses of
    /// its own; otherwise the transport points at `GET /v1/files/{file_key}`.
    pub public_url: Option<Url>,
    pub expires_at: DateTime<Utc>,
}

/// The signed part of a ctxd upload URL, as the route received it.
#[derive(Debug, Clone, Default)]
pub struct UploadSignature {
    pub expires: Option<i64>,
    pub signature: Option<String>,
}

/// A PUT as the signed route received it.
pub struct ReceivedUpload<'a> {
    pub file_key: &'a str,
    pub signature: UploadSignature,
    pub content_type: Option<&'a str>,
    pub content_length: Option<u64>,
    pub body: ByteStream,
}

impl std::fmt::Debug for ReceivedUpload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedUpload").field("file_key", &self.file_key).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct UploadService {
    ports: Ports,
    settings: Arc<UploadSettings>,
}

impl UploadService {
    pub fn new(ports: Ports, settings: UploadSettings) -> Self {
        Self { ports, settings: Arc::new(settings) }
    }

    /// Records an upload and returns where to `PUT` its bytes.
    ///
    /// # Errors
    /// [`Error::Validation`] for a missing or malformed field,
    /// [`Error::PayloadTooLarge`] for a size over the limit.
    pub async fn presign(&self, user: &User, request: NewUpload) -> Result<PresignedUpload> {
        let mut violations = Violations::default();
        // The value is judged as sent, as the OpenAPI pattern judges it: trimming
        // first would accept a name whose control characters are trailing white
        // space (a form feed) or whose length counts spaces the schema refused.
        let filename = match request.filename {
            None => {
                violations.add("filename", "is required");
                None
            }
            Some(name) => violations.check(check_name("filename", &name, 1, 255)).map(|()| name.trim().to_owned()),
        };
        let content_type = match request.content_type {
            None => {
                violations.add("contentType", "is required");
                None
            }
            Some(value) if !is_mime_type(&value) => {
                violations.add("contentType", "must be a MIME type such as application/pdf");
                None
            }
            Some(value) => Some(value),
        };
        let size = match request.size {
            None => {
                violations.add("size", "is required");
                None
            }
            Some(0) => {
                violations.add("size", "must be at least 1 byte");
                None
            }
            Some(size) => Some(size),
        };
        violations.finish()?;
        let (Some(filename), Some(content_type), Some(size)) = (filename, content_type, size) else {
            return Err(Error::internal("validated upload fields missing"));
        };
        if size > self.settings.max_bytes {
            return Err(Error::PayloadTooLarge(format!(
                "size {size} is over the upload limit of {} bytes",
                self.settings.max_bytes
            )));
        }
        let now = self.ports.clock.now();
        let file_key = format!("{}-{}", uuid::Uuid::now_v7(), safe_filename(&filename));
        let upload = Upload { file_key, user_id: user.id, filename, content_type, size, created_at: now };
        let ttl = self.settings.url_ttl;
        let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
        let target = match self.ports.blobs.presign_put(&upload.object_key(), &upload.content_type, size, ttl).await? {
            Some(url) => UploadTarget::Direct(url),
            None => UploadTarget::Ctxd { query: self.signed_query(&upload.file_key, expires_at.timestamp()) },
        };
        let public_url = self.ports.blobs.public_url(&upload.object_key());
        self.ports.uploads.insert(&upload).await?;
        Ok(PresignedUpload { upload, target, public_url, expires_at })
    }

    /// Stores the body of a PUT to ctxd's signed upload route.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for a missing, wrong or expired signature;
    /// [`Error::Validation`] when the type or size differs from what was declared
    /// (nothing is stored then); [`Error::NotFound`] for an unknown key.
    pub async fn receive(&self, put: ReceivedUpload<'_>) -> Result<Upload> {
        self.verify(put.file_key, &put.signature)?;
        let upload = self.ports.uploads.find(put.file_key).await?.ok_or(Error::NotFound("upload"))?;
        match put.content_type {
            Some(sent) if essence(sent) == essence(&upload.content_type) => {}
            _ => {
                return Err(Error::invalid(
                    "Content-Type",
                    format!("must be {}, the type declared for this upload", upload.content_type),
                ));
            }
        }
        if let Some(length) = put.content_length
            && length != upload.size
        {
            return Err(Error::invalid(
                "Content-Length",
                format!("must be {}, the size declared for this upload", upload.size),
            ));
        }
        self.ports.blobs.put_stream(&upload.object_key(), exactly(put.body, upload.size)).await?;
        Ok(upload)
    }

    /// An upload's bytes, for its owner.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the key is not the caller's or nothing was uploaded.
    pub async fn download(&self, user: &User, file_key: &str) -> Result<(Upload, BlobMeta, ByteStream)> {
        let upload = self.ports.uploads.get(user.id, file_key).await?.ok_or(Error::NotFound("file"))?;
        let (meta, body) = self.ports.blobs.open(&upload.object_key()).await?.ok_or(Error::NotFound("file"))?;
        Ok((upload, meta, body))
    }

    /// `expires=...&signature=...` for ctxd's upload route.
    fn signed_query(&self, file_key: &str, expires: i64) -> String {
        format!(
            "expires={expires}&signature={}",
            URL_SAFE_NO_PAD.encode(self.mac(file_key, expires).finalize().into_bytes())
        )
    }

    fn mac(&self, file_key: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.settings.signing_key).expect("HMAC takes keys of any length");
        mac.update(format!("PUT\n{file_key}\n{expires}").as_bytes());
        mac
    }

    fn verify(&self, file_key: &str, signature: &UploadSignature) -> Result<()> {
        let (Some(expires), Some(given)) = (signature.expires, signature.signature.as_deref()) else {
            return Err(Error::Forbidden("the upload URL is not signed"));
        };
        let given =
            URL_SAFE_NO_PAD.decode(given).map_err(|_| Error::Forbidden("the upload URL's signature is invalid"))?;
        // Checked before the expiry, so a tampered URL is never reported as expired.
        self.mac(file_key, expires)
            .verify_slice(&given)
            .map_err(|_| Error::Forbidden("the upload URL's signature is invalid"))?;
        if self.ports.clock.now().timestamp() > expires {
            return Err(Error::Forbidden("the upload URL has expired"));
        }
        Ok(())
    }
}

/// Passes `body` through while counting, and ends it with an error when it carries
/// more or fewer than `size` bytes, so the store discards it.
fn exactly(body: ByteStream, size: u64) -> ByteStream {
    let seen = Arc::new(AtomicU64::new(0));
    let counted = {
        let seen = seen.clone();
        body.map(move |chunk| {
            let chunk = chunk?;
            let total = seen.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
            if total > size {
                return Err(Error::invalid("body", format!("is longer than the declared size of {size} bytes")));
            }
            Ok(chunk)
        })
    };
    let end = stream::once(async move {
        let total = seen.load(Ordering::Relaxed);
        if total < size {
            return Err(Error::invalid("body", format!("is {total} bytes, shorter than the declared {size}")));
        }
        Ok(Bytes::new())
    });
    counted.chain(end).boxed()
}

/// `type/subtype` with an optional `; parameters` tail, with no white space around
/// the essence: exactly the pattern the OpenAPI document gives `contentType`.
fn is_mime_type(value: &str) -> bool {
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    let essence = value.split(';').next().unwrap_or_default();
    essence.split_once('/').is_some_and(|(kind, sub)| token(kind) && token(sub))
        && value.bytes().all(|b| b.is_ascii() && !b.is_ascii_control())
}

fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// The last segment of a file key: the name with anything outside a small safe set
/// replaced, so keys are valid object paths and URL segments everywhere.
fn safe_filename(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(100)
        .collect();
    if cleaned.trim_matches('.').is_empty() { "file".to_owned() } else { cleaned }
}

#[cfg(test)]
mod tests;
