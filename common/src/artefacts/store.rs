//! The artefact store seam: named blobs that workers hand to the
//! coordinator (local duplicate rows today). Shaped after an object store:
//! whole-object puts that replace, gets, deletes and prefix listings, no
//! revisions and no compare-and-swap — ordering against the checkpoint
//! records is the caller's job (write the artefact, then record the engine
//! done).

use std::path::Path;

use async_trait::async_trait;

/// Why an artefact call failed. Every variant names the key and the store.
#[derive(Debug, thiserror::Error)]
pub enum ArtefactError {
    #[error("artefact key {key:?} is invalid: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    /// A local file operation failed (disk full, permissions, a file that
    /// vanished under us).
    #[error("artefact {key:?} in {store}: {op} {path}: {source}")]
    Io {
        store: String,
        key: String,
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A remote store did not answer within the retry budget.
    #[error("artefact {key:?} in {store}: {op} gave up: {reason}")]
    Unavailable {
        store: String,
        key: String,
        op: &'static str,
        reason: String,
    },
    /// A remote store answered and refused; the same call gets the same answer.
    #[error("artefact {key:?} in {store}: {op} refused: {reason}")]
    Rejected {
        store: String,
        key: String,
        op: &'static str,
        reason: String,
    },
}

impl ArtefactError {
    /// Whether trying the same call again may succeed. Exhaustive on purpose:
    /// a new variant must decide.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Io { .. } | Self::Unavailable { .. } => true,
            Self::InvalidKey { .. } | Self::Rejected { .. } => false,
        }
    }
}

/// Where workers leave artefacts for the coordinator. Keys are relative
/// `/`-separated paths ([`validate_key`]); values are opaque bytes.
///
/// Contract (checked by the `testsuite`):
/// * a `put` replaces the whole value atomically: a reader sees the old value
///   or the new one, never a mix, and two racing puts leave one of them whole;
/// * once `put` returns, every later `get` from any process sees the value (it
///   is durable: a crash or server restart right after keeps it);
/// * `get`, `delete` and `list` of what does not exist are `None`, `false`
///   and empty, not errors.
#[async_trait]
pub trait ArtefactStore: Send + Sync + 'static {
    /// Stores `value` under `key`, replacing any earlier value.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ArtefactError>;

    /// Stores the contents of the file at `path` under `key` (streamed, for
    /// big artefacts); the file itself is left where it is. A store on the
    /// same file system may keep the data by a hard link: the caller may
    /// remove the file afterwards, never write to it.
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), ArtefactError>;

    /// The value of `key`, or `None` if it does not exist.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArtefactError>;

    /// Writes the value of `key` to a new file at `path` (streamed where the
    /// store can, for big artefacts such as engine-range run files); `false`
    /// (and no file) if `key` does not exist. A file already at `path` is
    /// replaced; missing parent directories are created. The default reads
    /// the value whole. The file may share the stored data (a hard link):
    /// read it, move it or remove it, never write to it.
    async fn get_to_file(&self, key: &str, path: &Path) -> Result<bool, ArtefactError> {
        let Some(bytes) = self.get(key).await? else {
            return Ok(false);
        };
        let dest = path.to_path_buf();
        let written = tokio::task::spawn_blocking(move || {
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&dest, bytes)
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|r| r);
        written.map_err(|source| ArtefactError::Io {
            store: self.location(),
            key: key.to_string(),
            op: "write",
            path: path.display().to_string(),
            source,
        })?;
        Ok(true)
    }

    /// Removes `key`; returns whether it existed.
    async fn delete(&self, key: &str) -> Result<bool, ArtefactError>;

    /// Removes every key starting with `prefix`; returns how many.
    async fn delete_prefix(&self, prefix: &str) -> Result<u64, ArtefactError> {
        let mut removed = 0;
        for key in self.list(prefix).await? {
            if self.delete(&key).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Every key starting with `prefix` (a plain string prefix), in byte order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, ArtefactError>;

    /// The file holding `key` when the store keeps artefacts as files on
    /// this machine, so a big artefact can be read as a stream instead of
    /// whole (conflict resolution reads the local duplicates this way).
    /// `None` (the default) for a remote store: use `get`.
    fn local_path(&self, _key: &str) -> Option<std::path::PathBuf> {
        None
    }

    /// Where the store is, for messages (`directory /out`, `NATS object
    /// store squall-artefacts at nats://…`).
    fn location(&self) -> String;
}

/// Longest key accepted (file names and NATS subjects stay sane).
pub const MAX_KEY_LEN: usize = 1024;

/// Checks the key rules every implementation shares: a relative path of
/// non-empty segments, none `.`-led (that keeps `..` out, and leaves dot
/// names to the local store's temporary files), no backslash or control
/// characters, at most [`MAX_KEY_LEN`] bytes.
pub fn validate_key(key: &str) -> Result<(), ArtefactError> {
    let reason = if key.is_empty() {
        Some("empty")
    } else if key.len() > MAX_KEY_LEN {
        Some("longer than 1024 bytes")
    } else {
        key.split('/').find_map(segment_problem)
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(invalid(key, reason)),
    }
}

/// Checks a listing prefix: every complete segment as in a key; the last,
/// partial one only for forbidden characters. The empty prefix is valid.
pub fn validate_prefix(prefix: &str) -> Result<(), ArtefactError> {
    if prefix.len() > MAX_KEY_LEN {
        return Err(invalid(prefix, "longer than 1024 bytes"));
    }
    let mut segments: Vec<&str> = prefix.split('/').collect();
    let last = segments.pop().unwrap_or_default();
    let reason = segments
        .into_iter()
        .find_map(segment_problem)
        .or_else(|| bad_chars(last));
    match reason {
        None => Ok(()),
        Some(reason) => Err(invalid(prefix, reason)),
    }
}

fn segment_problem(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        Some("has an empty path segment (a leading, trailing or double '/')")
    } else if segment.starts_with('.') {
        Some("has a path segment starting with '.'")
    } else {
        bad_chars(segment)
    }
}

fn bad_chars(segment: &str) -> Option<&'static str> {
    if segment.contains('\\') {
        Some("contains a backslash")
    } else if segment.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    }
}

fn invalid(key: &str, reason: &'static str) -> ArtefactError {
    ArtefactError::InvalidKey {
        key: key.chars().take(80).collect(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_relative_paths_of_plain_segments() {
        for good in ["a", "j1/duplicates/t1-e0.jsonl", "名/`x`.\"y\""] {
            assert!(validate_key(good).is_ok(), "{good}");
        }
        for bad in [
            "", "/a", "a/", "a//b", "a/../b", "..", ".hidden", "a/.tmp", "a\\b", "a\0b", "a\nb",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        assert!(validate_key(&"k".repeat(MAX_KEY_LEN + 1)).is_err());
    }

    #[test]
    fn prefixes_may_end_anywhere() {
        for good in ["", "j1/", "j1/dup", "j1/duplicates/t1-"] {
            assert!(validate_prefix(good).is_ok(), "{good}");
        }
        for bad in ["/j1", "../", "a//b", "a\0"] {
            assert!(validate_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
