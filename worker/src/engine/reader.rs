//! Ordered reads: every KV of a user-key range, first copies marked for
//! ingestion and later copies reported as duplicates. In an engine that
//! imported parts early (`parts.rs`), a key already ingested has every
//! local copy reported as a duplicate, except the very copy that was
//! ingested, which is [`EngineKv::Ingested`] (kept for the duplicate report).

use rocksdb::{ColumnFamily, DBRawIteratorWithThreadMode, DB};

use super::error::EngineError;
use super::key_adapter::{decode_user_key_into, split_stored, user_key_bound};
use super::local::LocalEngine;
use super::options::scan_options;

/// One stored KV, in user-key order; copies of one key in row-tag order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineKv {
    /// The first copy (smallest row tag) of a user key: the KV to ingest.
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
        row_tag: u64,
    },
    /// A later copy of the key of the preceding `Put`: a local duplicate, not
    /// to be ingested. Always comes right after its `Put` (or another duplicate
    /// of the same key), so a consumer can pair them.
    Duplicate {
        key: Vec<u8>,
        value: Vec<u8>,
        row_tag: u64,
    },
    /// The copy an early import (`tikv-importer.disk-quota`) already put in
    /// TiKV: not to be ingested again; the duplicates of its key follow it or
    /// come before it (they are in row-tag order), and it is their kept copy.
    Ingested {
        key: Vec<u8>,
        value: Vec<u8>,
        row_tag: u64,
    },
}

impl EngineKv {
    pub fn key(&self) -> &[u8] {
        match self {
            Self::Put { key, .. } | Self::Duplicate { key, .. } | Self::Ingested { key, .. } => key,
        }
    }

    pub fn value(&self) -> &[u8] {
        match self {
            Self::Put { value, .. }
            | Self::Duplicate { value, .. }
            | Self::Ingested { value, .. } => value,
        }
    }

    pub fn row_tag(&self) -> u64 {
        match self {
            Self::Put { row_tag, .. }
            | Self::Duplicate { row_tag, .. }
            | Self::Ingested { row_tag, .. } => *row_tag,
        }
    }

    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::Duplicate { .. })
    }
}

/// The engine's record of keys ingested by early imports.
#[derive(Clone, Copy)]
pub(crate) struct IngestedKeys<'a> {
    pub(crate) db: &'a DB,
    pub(crate) cf: &'a ColumnFamily,
}

impl IngestedKeys<'_> {
    /// The row tag of the copy of encoded key `enc` already in TiKV.
    pub(crate) fn tag_of(&self, engine: &str, enc: &[u8]) -> Result<Option<u64>, EngineError> {
        let found = self
            .db
            .get_pinned_cf(self.cf, enc)
            .map_err(|e| EngineError::rocks(engine, "read ingested keys", e))?;
        let Some(bytes) = found else {
            return Ok(None);
        };
        let tag: [u8; 8] = bytes
            .as_ref()
            .try_into()
            .map_err(|_| EngineError::CorruptMeta {
                engine: engine.to_owned(),
                key_hex: hex::encode(enc),
                reason: "ingested key record is not an 8-byte row tag",
            })?;
        Ok(Some(u64::from_be_bytes(tag)))
    }
}

/// Remembers the previous user key (encoded) to tell first copies from duplicates.
#[derive(Default)]
pub(crate) struct DupTracker<'a> {
    prev_enc: Vec<u8>,
    have_prev: bool,
    /// Set when the engine imported parts early.
    ingested: Option<IngestedKeys<'a>>,
    /// The ingested copy's tag for the current key, if it was ingested.
    ingested_tag: Option<u64>,
}

impl<'a> DupTracker<'a> {
    pub(crate) fn new(ingested: Option<IngestedKeys<'a>>) -> Self {
        Self {
            ingested,
            ..Self::default()
        }
    }

    pub(crate) fn classify(
        &mut self,
        engine: &str,
        stored: &[u8],
        value: &[u8],
    ) -> Result<EngineKv, EngineError> {
        let corrupt = |reason| EngineError::corrupt_key(engine, stored, reason);
        let (enc, row_tag) = split_stored(stored).map_err(corrupt)?;
        let mut key = Vec::with_capacity(enc.len());
        decode_user_key_into(enc, &mut key).map_err(corrupt)?;
        let value = value.to_vec();
        let same_key = self.have_prev && self.prev_enc == enc;
        if !same_key {
            self.prev_enc.clear();
            self.prev_enc.extend_from_slice(enc);
            self.have_prev = true;
            self.ingested_tag = match &self.ingested {
                Some(keys) => keys.tag_of(engine, enc)?,
                None => None,
            };
        }
        Ok(match self.ingested_tag {
            Some(tag) if tag == row_tag => EngineKv::Ingested {
                key,
                value,
                row_tag,
            },
            Some(_) => EngineKv::Duplicate {
                key,
                value,
                row_tag,
            },
            None if same_key => EngineKv::Duplicate {
                key,
                value,
                row_tag,
            },
            None => EngineKv::Put {
                key,
                value,
                row_tag,
            },
        })
    }
}

/// Iterator returned by [`LocalEngine::iter_range`]. Stops after the first error.
pub struct RangeIter<'a> {
    engine: &'a str,
    it: DBRawIteratorWithThreadMode<'a, DB>,
    dups: DupTracker<'a>,
    started: bool,
    done: bool,
}

impl LocalEngine {
    /// Every KV with `start <= user key < end` (raw TiDB keys; an empty `end`
    /// means "to the end of the engine"), in user-key order. Reads see the runs
    /// ingested before the call. Because range bounds are user keys, all copies
    /// of a key fall in the same range, so duplicate marking does not depend on
    /// how the engine is cut.
    pub fn iter_range(&self, start: &[u8], end: &[u8]) -> RangeIter<'_> {
        let inner = &*self.inner;
        let upper = (!end.is_empty()).then(|| user_key_bound(end));
        let opts = scan_options(user_key_bound(start), upper, self.scan_readahead());
        let mut it = inner.db.raw_iterator_cf_opt(inner.data_cf(), opts);
        it.seek_to_first();
        RangeIter {
            engine: &inner.id,
            it,
            dups: DupTracker::new(self.ingested_keys()),
            started: false,
            done: false,
        }
    }
}

impl Iterator for RangeIter<'_> {
    type Item = Result<EngineKv, EngineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.started {
            self.it.next();
        }
        self.started = true;
        let Some((stored, value)) = self.it.item() else {
            self.done = true;
            return self
                .it
                .status()
                .err()
                .map(|e| Err(EngineError::rocks(self.engine, "scan", e)));
        };
        let decoded = self.dups.classify(self.engine, stored, value);
        self.done = decoded.is_err();
        Some(decoded)
    }
}
