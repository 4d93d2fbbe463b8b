//! [`PrefixedArtefactStore`]: one job's view of a store that many jobs
//! share. Callers use job-relative keys ([`super::keys`]); the view puts them
//! under `<job>/` and strips that again from listings, so the worker and the
//! coordinator code is the same whether the store is the job's own output
//! directory or a cluster-wide bucket.

use std::path::Path;

use async_trait::async_trait;

use super::store::{validate_key, validate_prefix, ArtefactError, ArtefactStore};
use super::SharedArtefactStore;

pub struct PrefixedArtefactStore {
    inner: SharedArtefactStore,
    /// Ends with `/`.
    prefix: String,
}

impl PrefixedArtefactStore {
    /// `prefix` must be a valid key followed by `/`.
    pub fn new(inner: SharedArtefactStore, prefix: String) -> Result<Self, ArtefactError> {
        match prefix.strip_suffix('/') {
            Some(dir) => validate_key(dir)?,
            None => {
                return Err(ArtefactError::InvalidKey {
                    key: prefix,
                    reason: "a scope must end with '/'",
                })
            }
        }
        Ok(Self { inner, prefix })
    }

    fn full(&self, key: &str) -> Result<String, ArtefactError> {
        validate_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }
}

#[async_trait]
impl ArtefactStore for PrefixedArtefactStore {
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ArtefactError> {
        self.inner.put(&self.full(key)?, value).await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), ArtefactError> {
        self.inner.put_file(&self.full(key)?, path).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArtefactError> {
        self.inner.get(&self.full(key)?).await
    }

    async fn get_to_file(&self, key: &str, path: &Path) -> Result<bool, ArtefactError> {
        self.inner.get_to_file(&self.full(key)?, path).await
    }

    async fn delete(&self, key: &str) -> Result<bool, ArtefactError> {
        self.inner.delete(&self.full(key)?).await
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64, ArtefactError> {
        validate_prefix(prefix)?;
        self.inner
            .delete_prefix(&format!("{}{prefix}", self.prefix))
            .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ArtefactError> {
        validate_prefix(prefix)?;
        let keys = self.inner.list(&format!("{}{prefix}", self.prefix)).await?;
        Ok(keys
            .into_iter()
            .filter_map(|k| k.strip_prefix(&self.prefix).map(str::to_string))
            .collect())
    }

    fn local_path(&self, key: &str) -> Option<std::path::PathBuf> {
        self.full(key).ok().and_then(|k| self.inner.local_path(&k))
    }

    fn location(&self) -> String {
        format!("{} under {}", self.inner.location(), self.prefix)
    }
}
