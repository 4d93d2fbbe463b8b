//! [`NatsArtefactStore`]: the artefact seam's calls on one object-store bucket.

use std::path::Path;

use async_nats::jetstream::object_store::{
    DeleteErrorKind, GetErrorKind, InfoErrorKind, ObjectStore, PutErrorKind,
};
use async_trait::async_trait;
use futures::StreamExt;
use squall_common::artefacts::{validate_key, validate_prefix, ArtefactError, ArtefactStore};
use tokio::io::AsyncReadExt;

use super::connect::{connect, ensure_bucket};
use super::options::NatsArtefactOptions;
use super::retry::{require_connected, timed, Call, Failure};
use crate::NatsOpenError;

/// The artefact store of a cluster. Cheap to share (`Arc`); one connection.
pub struct NatsArtefactStore {
    client: async_nats::Client,
    bucket: ObjectStore,
    opts: NatsArtefactOptions,
    location: String,
}

impl NatsArtefactStore {
    /// Connects and opens (creating if needed) the bucket. An unreachable
    /// server or one without JetStream is an error naming it.
    pub async fn connect(opts: NatsArtefactOptions) -> Result<Self, NatsOpenError> {
        opts.validate().map_err(NatsOpenError::Options)?;
        let (client, js) = connect(&opts).await?;
        let bucket = ensure_bucket(&js, &opts).await?;
        let location = format!("NATS object store {} at {}", opts.bucket, opts.servers());
        tracing::info!(store = %location, "artefact store ready");
        Ok(Self {
            client,
            bucket,
            opts,
            location,
        })
    }

    pub fn options(&self) -> &NatsArtefactOptions {
        &self.opts
    }

    fn call<'a>(&'a self, op: &'static str, key: &'a str) -> Call<'a> {
        Call {
            op,
            key,
            store: &self.location,
            budget: self.opts.retry_for,
        }
    }

    fn io_error(&self, key: &str, path: &Path, source: std::io::Error) -> ArtefactError {
        ArtefactError::Io {
            store: self.location.clone(),
            key: key.to_string(),
            op: "read",
            path: path.display().to_string(),
            source,
        }
    }

    /// One attempt of a put of whatever `reader` yields (`bytes` long).
    async fn put_once<R>(&self, call: &Call<'_>, mut reader: R, bytes: u64) -> Result<(), Failure>
    where
        R: tokio::io::AsyncRead + Unpin,
    {
        require_connected(&self.client)?;
        let limit = self.opts.transfer_limit(bytes);
        match timed(limit, self.bucket.put(call.key, &mut reader)).await? {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.kind() {
                PutErrorKind::InvalidName => call.rejected(e),
                PutErrorKind::ReadChunks => Failure::Transient(format!("reading the source: {e}")),
                PutErrorKind::PublishChunks
                | PutErrorKind::PublishMetadata
                | PutErrorKind::PurgeOldChunks
                | PutErrorKind::TimedOut
                | PutErrorKind::Other => Failure::Transient(e.to_string()),
            }),
        }
    }

    async fn get_once(&self, call: &Call<'_>) -> Result<Option<Vec<u8>>, Failure> {
        require_connected(&self.client)?;
        let found = timed(self.opts.request_timeout * 2, self.bucket.get(call.key)).await?;
        let mut object = match found {
            Ok(object) => object,
            Err(e) => {
                return match e.kind() {
                    GetErrorKind::NotFound => Ok(None),
                    GetErrorKind::InvalidName | GetErrorKind::BucketLink => Err(call.rejected(e)),
                    GetErrorKind::ConsumerCreate | GetErrorKind::Other | GetErrorKind::TimedOut => {
                        Err(Failure::Transient(e.to_string()))
                    }
                }
            }
        };
        let size = object.info().size;
        let mut bytes = Vec::with_capacity(size);
        let limit = self.opts.transfer_limit(size as u64);
        // A digest mismatch or a put replacing the object mid-read ends the
        // read with an error: the next attempt reads the current object.
        timed(limit, object.read_to_end(&mut bytes))
            .await?
            .map_err(|e| Failure::Transient(format!("reading the object: {e}")))?;
        Ok(Some(bytes))
    }

    /// One attempt of streaming `key` into a fresh file at `path` (truncated
    /// per attempt, so a retry starts over).
    async fn get_to_file_once(&self, call: &Call<'_>, path: &Path) -> Result<bool, Failure> {
        require_connected(&self.client)?;
        let found = timed(self.opts.request_timeout * 2, self.bucket.get(call.key)).await?;
        let mut object = match found {
            Ok(object) => object,
            Err(e) => {
                return match e.kind() {
                    GetErrorKind::NotFound => Ok(false),
                    GetErrorKind::InvalidName | GetErrorKind::BucketLink => Err(call.rejected(e)),
                    GetErrorKind::ConsumerCreate | GetErrorKind::Other | GetErrorKind::TimedOut => {
                        Err(Failure::Transient(e.to_string()))
                    }
                }
            }
        };
        let size = object.info().size as u64;
        let io = |source| {
            Failure::Permanent(ArtefactError::Io {
                store: self.location.clone(),
                key: call.key.to_string(),
                op: "write",
                path: path.display().to_string(),
                source,
            })
        };
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        let file = tokio::fs::File::create(path).await.map_err(io)?;
        let mut out = tokio::io::BufWriter::new(file);
        let limit = self.opts.transfer_limit(size);
        // A digest mismatch or a put replacing the object mid-read ends the
        // copy with an error: the next attempt rewrites the file.
        timed(limit, tokio::io::copy(&mut object, &mut out))
            .await?
            .map_err(|e| Failure::Transient(format!("reading the object: {e}")))?;
        tokio::io::AsyncWriteExt::flush(&mut out)
            .await
            .map_err(io)?;
        Ok(true)
    }

    async fn delete_once(&self, call: &Call<'_>) -> Result<bool, Failure> {
        require_connected(&self.client)?;
        // A deleted object keeps its metadata (marked deleted), and deleting
        // it again succeeds: ask first, so a second delete says `false`.
        match timed(self.opts.request_timeout, self.bucket.info(call.key)).await? {
            Ok(info) if info.deleted => return Ok(false),
            Ok(_) => {}
            Err(e) => {
                return match e.kind() {
                    InfoErrorKind::NotFound => Ok(false),
                    InfoErrorKind::InvalidName => Err(call.rejected(e)),
                    InfoErrorKind::Other | InfoErrorKind::TimedOut => {
                        Err(Failure::Transient(e.to_string()))
                    }
                }
            }
        }
        match timed(self.opts.request_timeout * 3, self.bucket.delete(call.key)).await? {
            Ok(()) => Ok(true),
            Err(e) => match e.kind() {
                DeleteErrorKind::NotFound => Ok(false),
                DeleteErrorKind::InvalidName => Err(call.rejected(e)),
                DeleteErrorKind::TimedOut
                | DeleteErrorKind::Metadata
                | DeleteErrorKind::Chunks
                | DeleteErrorKind::Other => Err(Failure::Transient(e.to_string())),
            },
        }
    }

    /// Every live object's name starting with `prefix`. The bucket holds
    /// every job's objects; the listing walks them all.
    async fn list_once(&self, prefix: &str) -> Result<Vec<String>, Failure> {
        require_connected(&self.client)?;
        let limit = self.opts.request_timeout;
        let mut objects = timed(limit, self.bucket.list())
            .await?
            .map_err(|e| Failure::Transient(e.to_string()))?;
        let mut names = Vec::new();
        while let Some(info) = timed(limit, objects.next())
            .await?
            .map(|r| r.map_err(|e| Failure::Transient(e.to_string())))
            .transpose()?
        {
            if info.name.starts_with(prefix) {
                names.push(info.name);
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

#[async_trait]
impl ArtefactStore for NatsArtefactStore {
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ArtefactError> {
        validate_key(key)?;
        let call = self.call("put", key);
        call.run(|| self.put_once(&call, value.as_slice(), value.len() as u64))
            .await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), ArtefactError> {
        validate_key(key)?;
        let call = self.call("put file", key);
        let call_ref = &call;
        call.run(|| async move {
            // Reopened per attempt: a retry sends the file from its start.
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| Failure::Permanent(self.io_error(key, path, e)))?;
            let bytes = file
                .metadata()
                .await
                .map_err(|e| Failure::Permanent(self.io_error(key, path, e)))?
                .len();
            self.put_once(call_ref, tokio::io::BufReader::new(file), bytes)
                .await
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArtefactError> {
        validate_key(key)?;
        let call = self.call("get", key);
        call.run(|| self.get_once(&call)).await
    }

    async fn get_to_file(&self, key: &str, path: &Path) -> Result<bool, ArtefactError> {
        validate_key(key)?;
        let call = self.call("get to file", key);
        call.run(|| self.get_to_file_once(&call, path)).await
    }

    async fn delete(&self, key: &str) -> Result<bool, ArtefactError> {
        validate_key(key)?;
        let call = self.call("delete", key);
        call.run(|| self.delete_once(&call)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ArtefactError> {
        validate_prefix(prefix)?;
        let call = self.call("list", prefix);
        call.run(|| self.list_once(prefix)).await
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}
