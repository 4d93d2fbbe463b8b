//! MVCC reads over a RocksDB snapshot, as TiKV's `MvccReader` does them:
//! the newest version at or below the read ts wins, a Delete hides the key,
//! Lock and Rollback records are skipped.

mod record;

use std::ops::ControlFlow;

use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions, SnapshotWithThreadMode, DB};
use serde::Serialize;

pub use record::{RecordError, WriteKind, WriteRecord, SHORT_VALUE_MAX_LEN};

use crate::keys::{self, KeyError};
use crate::observe::hex_bytes;
use crate::storage::{Storage, CF_DEFAULT, CF_WRITE};

/// A user key and its value.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// Stored data that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum MvccError {
    #[error("RocksDB read failed: {0}")]
    Db(#[from] rocksdb::Error),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("Not found defaultcf value of key {key} at start ts {start_ts}")]
    MissingDefault { key: String, start_ts: u64 },
}

/// Encoded user-key range: `lower` inclusive, `upper` exclusive (`None` =
/// unbounded). An empty `lower` is the start of the key space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    pub lower: Vec<u8>,
    pub upper: Option<Vec<u8>>,
}

/// One stored version of a key, for observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// Raw user key.
    #[serde(with = "hex_bytes")]
    pub key: Vec<u8>,
    pub commit_ts: u64,
    pub start_ts: u64,
    pub kind: WriteKind,
    /// The value of a Put (inline or from the `default` CF).
    #[serde(with = "hex_bytes::option")]
    pub value: Option<Vec<u8>>,
}

/// A consistent view of the data CFs.
pub struct MvccReader<'a> {
    storage: &'a Storage,
    snap: SnapshotWithThreadMode<'a, DB>,
}

impl<'a> MvccReader<'a> {
    pub fn new(storage: &'a Storage) -> Self {
        MvccReader {
            storage,
            snap: storage.db().snapshot(),
        }
    }

    /// Iterator over the `write` CF bounded to `[lower, upper)` data keys.
    pub fn write_iter(
        &self,
        lower: Vec<u8>,
        upper: Option<Vec<u8>>,
    ) -> DBRawIteratorWithThreadMode<'_, DB> {
        let mut opts = ReadOptions::default();
        opts.set_iterate_lower_bound(lower);
        if let Some(upper) = upper {
            opts.set_iterate_upper_bound(upper);
        }
        self.snap
            .raw_iterator_cf_opt(self.storage.cf(CF_WRITE), opts)
    }

    /// Iterator over the data keys of `range`.
    pub fn range_iter(&self, range: &KeyRange) -> DBRawIteratorWithThreadMode<'_, DB> {
        self.write_iter(
            keys::data_prefix(&range.lower),
            range.upper.as_deref().map(keys::data_prefix),
        )
    }

    /// The value of encoded user key `enc` at `ts`, `None` if absent or deleted.
    pub fn get(&self, enc: &[u8], ts: u64) -> Result<Option<Vec<u8>>, MvccError> {
        let mut it = self.write_iter(keys::data_key(enc, ts), Some(next_user_key_bound(enc)));
        it.seek(keys::data_key(enc, ts));
        while let (Some(_), Some(value)) = (it.key(), it.value()) {
            let record = WriteRecord::parse(value)?;
            match record.kind {
                WriteKind::Put => return self.value_of(enc, &record).map(Some),
                WriteKind::Delete => return Ok(None),
                WriteKind::Lock | WriteKind::Rollback => it.next(),
            }
        }
        it.status()?;
        Ok(None)
    }

    /// The value a Put record stands for: inline, or in the `default` CF at
    /// the record's start ts.
    pub fn value_of(&self, enc: &[u8], record: &WriteRecord) -> Result<Vec<u8>, MvccError> {
        if let Some(v) = &record.short_value {
            return Ok(v.clone());
        }
        let key = keys::data_key(enc, record.start_ts);
        self.snap
            .get_cf(self.storage.cf(CF_DEFAULT), &key)?
            .ok_or_else(|| MvccError::MissingDefault {
                key: hex::encode(&key),
                start_ts: record.start_ts,
            })
    }

    /// Up to `limit` visible `(raw key, value)` pairs of `range` at `ts`, in
    /// key order (descending when `reverse`).
    pub fn scan(
        &self,
        range: &KeyRange,
        ts: u64,
        limit: usize,
        key_only: bool,
        reverse: bool,
    ) -> Result<Vec<KvPair>, MvccError> {
        if !reverse {
            return self.scan_forward(range, ts, limit, key_only);
        }
        let mut out = Vec::new();
        let mut it = self.range_iter(range);
        let mut cursor: Option<Vec<u8>> = None;
        while out.len() < limit {
            match &cursor {
                None => it.seek_to_last(),
                Some(prev) => it.seek_for_prev(keys::data_prefix(prev)),
            }
            let Some(key) = it.key() else { break };
            let enc = keys::split_data_key(key)?.0.to_vec();
            if let Some(value) = self.get(&enc, ts)? {
                let value = if key_only { Vec::new() } else { value };
                out.push((keys::decode_user_key(&enc)?, value));
            }
            cursor = Some(enc);
        }
        it.status()?;
        Ok(out)
    }

    /// The forward scan, collecting up to `limit` pairs.
    fn scan_forward(
        &self,
        range: &KeyRange,
        ts: u64,
        limit: usize,
        key_only: bool,
    ) -> Result<Vec<KvPair>, MvccError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.for_each_visible(range, ts, key_only, |key, value| {
            out.push((key.to_vec(), value.to_vec()));
            if out.len() < limit {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        })?;
        Ok(out)
    }

    /// Calls `f` with each visible `(raw key, value)` of `range` at `ts`, in
    /// key order, until it breaks: on one iterator, each user key costs a
    /// seek to its newest version at or below `ts` and a step past its older
    /// versions (a per-key `get` would open an iterator per key, several
    /// times slower). Nothing is collected, so a whole region can be hashed.
    pub fn for_each_visible(
        &self,
        range: &KeyRange,
        ts: u64,
        key_only: bool,
        mut f: impl FnMut(&[u8], &[u8]) -> ControlFlow<()>,
    ) -> Result<(), MvccError> {
        let mut it = self.range_iter(range);
        it.seek(keys::data_prefix(&range.lower));
        while let (Some(key), Some(value)) = (it.key(), it.value()) {
            let (enc, commit_ts) = keys::split_data_key(key)?;
            let enc = enc.to_vec();
            if commit_ts > ts {
                // Newer than the read: jump to this key's newest visible version.
                it.seek(keys::data_key(&enc, ts));
                continue;
            }
            let record = WriteRecord::parse(value)?;
            let flow = match record.kind {
                WriteKind::Lock | WriteKind::Rollback => {
                    it.next();
                    continue;
                }
                WriteKind::Delete => ControlFlow::Continue(()),
                WriteKind::Put => {
                    let value = if key_only {
                        Vec::new()
                    } else {
                        self.value_of(&enc, &record)?
                    };
                    f(&keys::decode_user_key(&enc)?, &value)
                }
            };
            if flow.is_break() {
                break;
            }
            skip_older_versions(&mut it, &enc);
        }
        it.status()?;
        Ok(())
    }

    /// Every stored version in `range`, newest first within a key.
    pub fn versions(&self, range: &KeyRange) -> Result<Vec<VersionInfo>, MvccError> {
        let mut out = Vec::new();
        let mut it = self.range_iter(range);
        it.seek(keys::data_prefix(&range.lower));
        while let (Some(key), Some(value)) = (it.key(), it.value()) {
            let (enc, commit_ts) = keys::split_data_key(key)?;
            let record = WriteRecord::parse(value)?;
            let value = match record.kind {
                WriteKind::Put => Some(self.value_of(enc, &record)?),
                _ => None,
            };
            out.push(VersionInfo {
                key: keys::decode_user_key(enc)?,
                commit_ts,
                start_ts: record.start_ts,
                kind: record.kind,
                value,
            });
            it.next();
        }
        it.status()?;
        Ok(out)
    }
}

/// Moves `it` past the remaining versions of `enc`: a step when the next
/// entry is another key (the usual case), a seek when `enc` has many versions.
pub(crate) fn skip_older_versions(it: &mut DBRawIteratorWithThreadMode<'_, DB>, enc: &[u8]) {
    it.next();
    let same_key = it
        .key()
        .and_then(|k| keys::split_data_key(k).ok())
        .is_some_and(|(next, _)| next == enc);
    if same_key {
        it.seek(next_user_key_bound(enc));
    }
}

/// The smallest data key greater than every version of encoded key `enc`.
pub fn next_user_key_bound(enc: &[u8]) -> Vec<u8> {
    let mut key = keys::data_key(enc, 0);
    key.push(0);
    key
}

#[cfg(test)]
pub(crate) mod tests;
