//! Which shard each input of a table's resolution goes to, so that a shard
//! holds whole connected sets of conflicting rows (see `super::stream`).
//!
//! Rows are linked by the unique keys they share: the record key (rows of
//! one handle) and distinct unique index entries (rows of several handles).
//! Two rows of different handles that share a distinct unique entry wrote
//! two versions of it, so detection reported both (their values name the
//! handles), or one engine wrote both and recorded both copies. Linking the
//! handles named by every reported version and every local copy of such an
//! entry (a union-find over those handles only) therefore puts every
//! connected set under one root handle, and every input of the set (record
//! versions and copies by their handle, index versions and copies by the
//! handle in their value or at the end of their key) goes where that root
//! hashes to. The union-find holds only handles reached through unique
//! index conflicts; for a table whose only unique key is the primary key it
//! stays empty.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use squall_codec::index_value::split_index_value;
use squall_codec::key::is_record_key;
use squall_codec::{
    decode_handle_from_index_value, decode_index_handle, decode_index_key, decode_record_key,
    Handle,
};
use squall_common::schema::TableInfo;

use crate::duplicate::local::LocalDuplicate;
use crate::duplicate::pair::DupPair;

/// One input of a table's resolution, as a shard file stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// A version DuplicateDetect reported in the record range.
    Record(DupPair),
    /// A version reported in the range of this unique index.
    Index(i64, DupPair),
    /// A copy of a key inside one engine.
    Local(LocalDuplicate),
}

/// Bytes an input is counted for on top of its keys and values: the
/// containers that hold it and the row built from it.
const OVERHEAD: u64 = 96;

impl Input {
    /// What this input costs, in bytes, before [`EXPANSION`].
    pub fn cost(&self) -> u64 {
        let bytes = match self {
            Self::Record(p) | Self::Index(_, p) => p.size(),
            Self::Local(d) => {
                d.key.len() + d.value.len() + d.source.as_ref().map_or(0, |s| s.file.len())
            }
        };
        bytes as u64 + OVERHEAD
    }

    /// The handle of the row this input belongs to.
    fn handle(&self, table: &TableInfo) -> Result<Handle, String> {
        let (key, value) = match self {
            Self::Record(p) | Self::Index(_, p) => (&p.key, &p.value),
            Self::Local(d) => (&d.key, &d.value),
        };
        if is_record_key(key) {
            return decode_record_key(key)
                .map(|(_, h)| h)
                .map_err(|e| format!("record key {}: {e}", hex::encode(key)));
        }
        let at = |e: &dyn std::fmt::Display| format!("index key {}: {e}", hex::encode(key));
        let id = decode_index_key(key).map_err(|e| at(&e))?.index_id;
        let index = table
            .indices
            .iter()
            .find(|ix| ix.id == id)
            .ok_or_else(|| at(&format!("index {id} is not in the schema")))?;
        decode_index_handle(key, value, table, index).map_err(|e| at(&e))
    }
}

/// The peak memory a plan needs per byte of [`Input::cost`]: measured on
/// sysbench with 10% duplicates (~1.3 KiB per conflicting row from a local
/// copy of ~300 counted bytes), rounded up.
pub const EXPANSION: u64 = 5;

/// Links handles through distinct unique index keys; routes inputs.
#[derive(Debug, Default)]
pub struct Router {
    /// A handle seen with each distinct unique index key.
    by_key: HashMap<Vec<u8>, Handle>,
    parent: HashMap<Handle, Handle>,
    /// Local copies of distinct unique entries by (key, engine ts): whether
    /// the engine's ingested copy is among them.
    local_first: HashMap<(Vec<u8>, u64), bool>,
    /// Reported index versions by (key, ts).
    reported: HashSet<(Vec<u8>, u64)>,
    /// Why an input could not be placed, if one could not.
    unroutable: Option<String>,
}

impl Router {
    /// Learns the links an input brings (pass one).
    pub fn see(&mut self, table: &TableInfo, input: &Input) {
        match input {
            Input::Record(_) => {}
            Input::Index(_, p) => {
                self.reported.insert((p.key.clone(), p.commit_ts));
                let distinct = split_index_value(&p.value)
                    .is_ok_and(|v| v.int_handle.is_some() || v.common_handle.is_some());
                if distinct {
                    if let Ok(h) = decode_handle_from_index_value(&p.value) {
                        self.link(&p.key, h);
                    }
                }
            }
            Input::Local(d) if !is_record_key(&d.key) => {
                if let Ok(h) = decode_handle_from_index_value(&d.value) {
                    *self
                        .local_first
                        .entry((d.key.clone(), d.commit_ts))
                        .or_default() |= d.ingested;
                    self.link(&d.key, h);
                }
            }
            Input::Local(_) => {}
        }
        if self.unroutable.is_none() {
            if let Err(e) = input.handle(table) {
                self.unroutable = Some(e);
            }
        }
    }

    /// `None` when every input can be sharded; else why the table must be
    /// resolved whole: an input whose handle cannot be read, or a unique
    /// entry whose ingested copy no input names (its row is known only once
    /// the entry is read from TiKV, so its set cannot be placed beforehand).
    pub fn why_not_shardable(&self) -> Option<String> {
        if let Some(e) = &self.unroutable {
            return Some(e.clone());
        }
        self.local_first
            .iter()
            .find(|(k, ingested)| !**ingested && !self.reported.contains(*k))
            .map(|((key, ts), _)| {
                format!(
                    "index entry {} of the engine at ts {ts} has local copies but its \
                     ingested copy was not recorded",
                    hex::encode(key)
                )
            })
    }

    /// The shard (of `shards`) `input` goes to. Pass two; only after every
    /// input was seen and [`Self::why_not_shardable`] said none.
    pub fn shard_of(&mut self, table: &TableInfo, input: &Input, shards: usize) -> usize {
        let Ok(handle) = input.handle(table) else {
            // Not reached: `see` recorded it and the table is resolved whole.
            return 0;
        };
        let root = self.root(&handle);
        let key = squall_codec::record_key(table.id, &root);
        (squall_codec::checksum::kv_crc64(&key, b"") % shards.max(1) as u64) as usize
    }

    fn link(&mut self, key: &[u8], handle: Handle) {
        match self.by_key.get(key).cloned() {
            None => {
                self.by_key.insert(key.to_vec(), handle);
            }
            Some(first) => {
                let (a, b) = (self.root(&first), self.root(&handle));
                if a != b {
                    // The smaller handle roots the set: deterministic.
                    let (low, high) = if a < b { (a, b) } else { (b, a) };
                    self.parent.insert(high, low);
                }
            }
        }
    }

    fn root(&mut self, handle: &Handle) -> Handle {
        let mut path = Vec::new();
        let mut at = handle.clone();
        while let Some(up) = self.parent.get(&at) {
            path.push(at.clone());
            at = up.clone();
        }
        for h in path {
            self.parent.insert(h, at.clone());
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_handles_share_a_root() {
        let mut r = Router::default();
        r.link(b"k1", Handle::Int(5));
        r.link(b"k1", Handle::Int(3));
        r.link(b"k2", Handle::Int(9));
        r.link(b"k2", Handle::Int(5));
        assert_eq!(r.root(&Handle::Int(9)), Handle::Int(3));
        assert_eq!(r.root(&Handle::Int(5)), Handle::Int(3));
        assert_eq!(r.root(&Handle::Int(7)), Handle::Int(7));
    }
}
