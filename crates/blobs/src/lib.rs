//! Object storage adapter: the domain's `BlobStore` port over the `object_store`
//! crate, on a local directory (the embedded default) or an S3-compatible bucket.
//!
//! Uploads differ between the two: S3 signs its own `PUT` URLs (the client talks to
//! the bucket directly), while the local directory has no server of its own, so
//! [`BlobStore::presign_put`] answers `None` and ctxd serves a signed route instead.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use ctxd_domain::{
    Error, Result,
    ports::{BlobMeta, BlobRead, BlobStore, ByteStream, HealthCheck},
};
use futures_util::{StreamExt, TryStreamExt};
use object_store::{
    GetOptions, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart,
    aws::{AmazonS3, AmazonS3Builder},
    local::LocalFileSystem,
    path::Path as ObjectPath,
    signer::{HeaderValue, Method, SignedUrlOptions, Signer},
};
use url::Url;

/// An S3-compatible bucket (AWS, MinIO, Ceph, moto, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3Settings {
    /// `https://s3.example.com`; `None` means AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<ctxd_domain::secret::Secret>,
    /// `endpoint/bucket/key` rather than `bucket.endpoint/key` (MinIO and most
    /// self-hosted servers want path style).
    pub path_style: bool,
    /// Where uploaded objects are readable by others (a CDN or public bucket
    /// address); default: the bucket's own address.
    pub public_url: Option<String>,
}

/// A blob store over any `object_store` backend.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    /// Set for S3: signs upload URLs.
    signer: Option<Arc<AmazonS3>>,
    /// Base address objects are readable at, ending in `/`.
    public_base: Option<Url>,
    /// Set for the local directory, which the health check looks at.
    root: Option<PathBuf>,
}

impl ObjectBlobStore {
    /// Objects as files under `root` (created if missing).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the directory cannot be created or opened.
    pub fn local(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| Error::Unavailable(Box::new(e)))?;
        let store = LocalFileSystem::new_with_prefix(root).map_err(|e| Error::Unavailable(Box::new(e)))?;
        Ok(Self { store: Arc::new(store), signer: None, public_base: None, root: Some(root.to_path_buf()) })
    }

    /// Objects in an S3-compatible bucket. Credentials not given here come from the
    /// usual AWS environment variables.
    ///
    /// # Errors
    /// [`Error::Internal`] for settings the S3 client refuses (a malformed endpoint).
    pub fn s3(settings: &S3Settings) -> Result<Self> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(!settings.path_style);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose());
        }
        let s3 = Arc::new(builder.build().map_err(|e| Error::internal(format!("S3 settings: {e}")))?);
        let public_base = public_base(settings)?;
        Ok(Self { store: s3.clone(), signer: Some(s3), public_base: Some(public_base), root: None })
    }
}

/// How long the health check waits for the store: object_store retries a refused
/// connection for minutes, and a probe must answer sooner.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);
/// The key the health check asks about; it need not exist.
const HEALTH_PROBE: &str = "health-probe";

/// Reachable when the store answers a metadata request for a probe key (found or
/// not found both mean it answered); the local directory must also still exist,
/// since object_store reads a missing root as an empty store.
#[async_trait]
impl HealthCheck for ObjectBlobStore {
    async fn check(&self) -> Result<()> {
        if let Some(root) = &self.root {
            let meta = tokio::fs::metadata(root).await.map_err(|e| Error::Unavailable(Box::new(e)))?;
            if !meta.is_dir() {
                return Err(Error::Unavailable(format!("{} is not a directory", root.display()).into()));
            }
        }
        match tokio::time::timeout(HEALTH_TIMEOUT, self.store.head(&ObjectPath::from(HEALTH_PROBE))).await {
            Ok(Ok(_) | Err(object_store::Error::NotFound { .. })) => Ok(()),
            Ok(Err(error)) => Err(map_err(error)),
            Err(_) => Err(Error::Unavailable(format!("no answer within {HEALTH_TIMEOUT:?}").into())),
        }
    }
}

/// The address of the bucket's root, for public object URLs.
fn public_base(settings: &S3Settings) -> Result<Url> {
    let base = match (&settings.public_url, &settings.endpoint) {
        (Some(public), _) => public.clone(),
        (None, Some(endpoint)) if settings.path_style => {
            format!("{}/{}", endpoint.trim_end_matches('/'), settings.bucket)
        }
        (None, Some(endpoint)) => match endpoint.split_once("://") {
            Some((scheme, host)) => format!("{scheme}://{}.{}", settings.bucket, host.trim_end_matches('/')),
            None => return Err(Error::internal(format!("S3 endpoint {endpoint:?} has no scheme"))),
        },
        (None, None) => format!("https://{}.s3.{}.amazonaws.com", settings.bucket, settings.region),
    };
    Url::parse(&format!("{}/", base.trim_end_matches('/')))
        .map_err(|e| Error::internal(format!("S3 public address {base:?}: {e}")))
}

fn path(key: &str) -> Result<ObjectPath> {
    ObjectPath::parse(key).map_err(|e| Error::internal(format!("invalid blob key {key:?}: {e}")))
}

fn map_err(error: object_store::Error) -> Error {
    Error::Unavailable(Box::new(error))
}

fn meta_of(meta: &ObjectMeta) -> BlobMeta {
    BlobMeta { size: meta.size, etag: meta.e_tag.clone(), last_modified: meta.last_modified }
}

/// How much of an upload is buffered before a part is written: object_store's
/// default part size, so memory stays at a few parts whatever the file's size.
const PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts written at once.
const PARTS_IN_FLIGHT: usize = 2;

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.store.put(&path(key)?, PutPayload::from(bytes)).await.map_err(map_err)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.read(key, None).await? {
            BlobRead::Found { bytes, .. } => Ok(Some(bytes)),
            BlobRead::Missing | BlobRead::NotModified => Ok(None),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(map_err(error)),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let folder = prefix.trim_end_matches('/');
        // `list` takes whole path segments, so `sources/a` never matches `sources/ab`.
        let locations = self.store.list(Some(&path(folder)?)).map_ok(|meta| meta.location).boxed();
        let mut deleted = 0;
        let mut results = self.store.delete_stream(locations);
        while let Some(result) = results.next().await {
            match result {
                Ok(_) => deleted += 1,
                // Someone else (another purger) deleted it first.
                Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(map_err(error)),
            }
        }
        // A local directory keeps the folders the files were in; drop the empty tree.
        if let Some(root) = &self.root {
            match tokio::fs::remove_dir_all(root.join(folder)).await {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(Error::Unavailable(Box::new(error))),
            }
        }
        Ok(deleted)
    }

    async fn head(&self, key: &str) -> Result<Option<BlobMeta>> {
        match self.store.head(&path(key)?).await {
            Ok(meta) => Ok(Some(meta_of(&meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(map_err(error)),
        }
    }

    async fn read(&self, key: &str, if_none_match: Option<String>) -> Result<BlobRead> {
        let options = GetOptions { if_none_match, ..GetOptions::default() };
        match self.store.get_opts(&path(key)?, options).await {
            Ok(result) => {
                let meta = meta_of(&result.meta);
                let bytes = result.bytes().await.map_err(map_err)?.to_vec();
                Ok(BlobRead::Found { bytes, meta })
            }
            Err(object_store::Error::NotModified { .. }) => Ok(BlobRead::NotModified),
            Err(object_store::Error::NotFound { .. }) => Ok(BlobRead::Missing),
            Err(error) => Err(map_err(error)),
        }
    }

    async fn put_stream(&self, key: &str, mut body: ByteStream) -> Result<u64> {
        let upload = self.store.put_multipart(&path(key)?).await.map_err(map_err)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    // The staged parts are dropped; an older object stays as it was.
                    let _ = writer.abort().await;
                    return Err(error);
                }
            };
            if let Err(error) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(map_err(error));
            }
            written += chunk.len() as u64;
            writer.put(chunk);
        }
        writer.finish().await.map_err(map_err)?;
        Ok(written)
    }

    async fn open(&self, key: &str) -> Result<Option<(BlobMeta, ByteStream)>> {
        match self.store.get(&path(key)?).await {
            Ok(result) => {
                let meta = meta_of(&result.meta);
                let stream = result.into_stream().map_err(map_err).boxed();
                Ok(Some((meta, stream)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(map_err(error)),
        }
    }

    async fn presign_put(&self, key: &str, content_type: &str, _size: u64, ttl: Duration) -> Result<Option<Url>> {
        let Some(signer) = &self.signer else { return Ok(None) };
        // The type is part of the signature, so the bucket itself refuses a PUT of
        // another type. The length cannot be signed (the signer owns that header):
        // it is checked against the declared size when a FILE source is created.
        let content_type = HeaderValue::from_str(content_type)
            .map_err(|_| Error::invalid("contentType", "is not a valid MIME type"))?;
        let options = SignedUrlOptions::default().with_signed_header(http::header::CONTENT_TYPE, content_type);
        let url = signer.signed_url_opts(Method::PUT, &path(key)?, ttl, &options).await.map_err(map_err)?;
        Ok(Some(url))
    }

    fn public_url(&self, key: &str) -> Option<Url> {
        self.public_base.as_ref()?.join(key).ok()
    }
}

#[cfg(test)]
mod tests;
