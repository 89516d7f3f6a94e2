//! Object storage adapter: the domain's `BlobStore` port over the `object_store`
//! crate. The embedded default is a local directory under the data directory; an
//! S3-compatible bucket arrives with the uploads issue behind the same port.

use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use ctxd_domain::{Error, Result, ports::BlobStore};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, local::LocalFileSystem, path::Path as ObjectPath};

/// A blob store over any `object_store` backend.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
}

impl ObjectBlobStore {
    /// Objects as files under `root` (created if missing).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the directory cannot be created or opened.
    pub fn local(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| Error::Unavailable(Box::new(e)))?;
        let store = LocalFileSystem::new_with_prefix(root).map_err(|e| Error::Unavailable(Box::new(e)))?;
        Ok(Self { store: Arc::new(store) })
    }
}

fn path(key: &str) -> Result<ObjectPath> {
    ObjectPath::parse(key).map_err(|e| Error::internal(format!("invalid blob key {key:?}: {e}")))
}

fn map_err(error: object_store::Error) -> Error {
    Error::Unavailable(Box::new(error))
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.store.put(&path(key)?, PutPayload::from(bytes)).await.map_err(map_err)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.store.get(&path(key)?).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(map_err)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(map_err(error)),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(map_err(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_round_trip_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectBlobStore::local(dir.path()).unwrap();
        let key = "sources/abc/revisions/1/raw";
        assert_eq!(store.get(key).await.unwrap(), None);
        store.put(key, b"hello".to_vec()).await.unwrap();
        assert_eq!(store.get(key).await.unwrap().as_deref(), Some(&b"hello"[..]));
        assert!(dir.path().join(key).is_file(), "objects are plain files under the root");
        store.delete(key).await.unwrap();
        store.delete(key).await.unwrap();
        assert_eq!(store.get(key).await.unwrap(), None);
    }
}
