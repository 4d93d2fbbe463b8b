//! The checkpoint store seam: a small key/value store with revisions and
//! compare-and-swap, shaped so that etcd's KV API maps onto it one to one
//! (`get` = Range, `put` = Put, `cas` = Txn comparing `mod_revision`, `list` =
//! Range over a prefix, `delete` = DeleteRange).

use async_trait::async_trait;

/// A store-wide, strictly increasing write number (etcd's `mod_revision`).
/// Every successful write returns a revision greater than any the store has
/// returned before, so a reader can tell whether a key changed since it read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(pub u64);

/// A stored value and the revision of the write that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub value: Vec<u8>,
    pub revision: Revision,
}

/// The answer of a compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasOutcome {
    /// The value was written; this is its new revision.
    Swapped(Revision),
    /// The key was not at the expected revision; nothing was written. `current`
    /// is what the key holds now (`None`: it does not exist).
    Conflict { current: Option<Versioned> },
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint store at {path}: {op}: {source}")]
    Io {
        path: String,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("checkpoint file {path} is corrupt: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("checkpoint key {key:?} is invalid: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    #[error("checkpoint record {key:?} cannot be decoded: {source}")]
    Decode {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("checkpoint record {key:?} cannot be encoded: {source}")]
    Encode {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "checkpoint record {key:?} has format version {found}, this build reads up to {supported}"
    )]
    UnsupportedVersion {
        key: String,
        found: u32,
        supported: u32,
    },
    #[error("checkpoint record {key:?} changed concurrently {attempts} times in a row")]
    Contended { key: String, attempts: u32 },
    #[error("checkpoint record {key:?} does not exist")]
    Missing { key: String },
    #[error("checkpoint store unavailable: {reason}")]
    Unavailable { reason: String },
    /// The store answered and refused (permission, size limit, bad
    /// configuration): trying the same call again gets the same answer.
    #[error("checkpoint store rejected {what}: {reason}")]
    Rejected { what: String, reason: String },
    /// A write made under a leadership that has ended (the writer's
    /// election key is gone): a newer coordinator leads, and this one must
    /// stop instead of retrying.
    #[error("{what} refused: this coordinator is no longer the leader (its election key {leader_key} is gone); another coordinator carries on")]
    Fenced { what: String, leader_key: String },
}

impl CheckpointError {
    /// Whether trying the same call again may succeed (a transient store or
    /// network failure). Exhaustive on purpose: a new variant must decide.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Io { .. } | Self::Unavailable { .. } | Self::Contended { .. } => true,
            Self::Corrupt { .. }
            | Self::InvalidKey { .. }
            | Self::Decode { .. }
            | Self::Encode { .. }
            | Self::UnsupportedVersion { .. }
            | Self::Missing { .. }
            | Self::Rejected { .. }
            | Self::Fenced { .. } => false,
        }
    }
}

/// Where a job's progress lives. Keys are `/`-separated UTF-8 paths; values are
/// opaque bytes (the typed records in [`super::records`] are JSON).
///
/// Implementations must be safe to share between tasks, and every successful
/// write must be durable when the call returns (a crash right after it keeps it).
#[async_trait]
pub trait CheckpointStore: Send + Sync + 'static {
    /// The value and revision of `key`, or `None` if it does not exist.
    async fn get(&self, key: &str) -> Result<Option<Versioned>, CheckpointError>;

    /// Writes `value` unconditionally and returns its revision.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<Revision, CheckpointError>;

    /// Writes `value` only if `key` is at `expected` (`None`: only if it does
    /// not exist). Conflicts are an outcome, not an error.
    async fn cas(
        &self,
        key: &str,
        expected: Option<Revision>,
        value: Vec<u8>,
    ) -> Result<CasOutcome, CheckpointError>;

    /// Every key starting with `prefix`, in byte order of the key.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, Versioned)>, CheckpointError>;

    /// At most `limit` keys starting with `prefix` and after `after` (from
    /// the first when `None`), in byte order of the key: a listing read a
    /// page at a time, so a reader of many large values holds one page (the
    /// next page starts after the last key of this one). Pages are not one
    /// snapshot: a key written between two pages may or may not be seen.
    ///
    /// The default filters [`Self::list`], which holds the whole prefix at
    /// once; the local and etcd stores read only the page.
    async fn list_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Versioned)>, CheckpointError> {
        let all = self.list(prefix).await?;
        Ok(all
            .into_iter()
            .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
            .take(limit)
            .collect())
    }

    /// Removes `key`; returns whether it existed.
    async fn delete(&self, key: &str) -> Result<bool, CheckpointError>;
}

/// Checks the key rules every implementation shares: non-empty, no NUL, at
/// most [`MAX_KEY_LEN`] bytes.
pub fn validate_key(key: &str) -> Result<(), CheckpointError> {
    let reason = if key.is_empty() {
        "empty"
    } else if key.contains('\0') {
        "contains a NUL byte"
    } else if key.len() > MAX_KEY_LEN {
        "longer than 1024 bytes"
    } else {
        return Ok(());
    };
    Err(CheckpointError::InvalidKey {
        key: key.chars().take(80).collect(),
        reason,
    })
}

/// Longest key accepted (etcd allows more; 1 KiB keeps file names and logs sane).
pub const MAX_KEY_LEN: usize = 1024;
