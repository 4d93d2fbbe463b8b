//! Errors of the local sorted engine. Every variant names the engine so a log line
//! is enough to find the directory on disk.

use std::path::PathBuf;

/// Everything that can go wrong in [`super::LocalEngine`] and its writers and readers.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine id cannot be used as a directory name.
    #[error("invalid engine id {id:?}: {reason}")]
    InvalidId { id: String, reason: &'static str },

    /// A filesystem operation on the engine directory failed.
    #[error("engine {engine}: {op} {}: {source}", path.display())]
    Io {
        engine: String,
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// RocksDB returned an error.
    #[error("engine {engine}: rocksdb {op}: {source}")]
    Rocks {
        engine: String,
        op: &'static str,
        #[source]
        source: rocksdb::Error,
    },

    /// A stored key is not a valid adapted key (disk corruption or a foreign DB).
    #[error("engine {engine}: corrupt stored key {key_hex}: {reason}")]
    CorruptKey {
        engine: String,
        key_hex: String,
        reason: &'static str,
    },

    /// A record in the engine's meta column family cannot be decoded.
    #[error("engine {engine}: corrupt meta record {key_hex}: {reason}")]
    CorruptMeta {
        engine: String,
        key_hex: String,
        reason: &'static str,
    },

    /// A key or value is too large to be buffered (lengths are kept as u32).
    #[error("engine {engine}: row {row_tag}: {what} of {len} bytes exceeds the 4 GiB limit")]
    TooLarge {
        engine: String,
        row_tag: u64,
        what: &'static str,
        len: usize,
    },

    /// One row (row tag) produced the same key twice with different values.
    #[error(
        "engine {engine}: row tag {row_tag} wrote key {key_hex} twice with different values \
         (row tags must be unique per source row)"
    )]
    ConflictingRowTag {
        engine: String,
        row_tag: u64,
        key_hex: String,
    },

    /// `finish_writes` was called while writers were still open.
    #[error("engine {engine}: {open} writer(s) still open; close them before finishing")]
    WritersOpen { engine: String, open: usize },

    /// A writer was requested after `finish_writes`.
    #[error("engine {engine}: writes are finished; reset the engine to write it again")]
    Finished { engine: String },

    /// `close`/`reset`/`destroy` need the only handle, but clones or writers are alive.
    #[error("engine {engine}: still used by {handles} other handle(s) or writer(s)")]
    InUse { engine: String, handles: usize },

    /// A blocking task running engine work panicked or was cancelled.
    #[error("engine {engine}: blocking task failed: {reason}")]
    Blocking { engine: String, reason: String },
}

impl EngineError {
    pub(crate) fn rocks(engine: &str, op: &'static str, source: rocksdb::Error) -> Self {
        Self::Rocks {
            engine: engine.to_owned(),
            op,
            source,
        }
    }

    pub(crate) fn io(
        engine: &str,
        op: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            engine: engine.to_owned(),
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt_key(engine: &str, key: &[u8], reason: &'static str) -> Self {
        Self::CorruptKey {
            engine: engine.to_owned(),
            key_hex: hex::encode(key),
            reason,
        }
    }
}
