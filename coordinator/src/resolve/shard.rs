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

/// Links handles through distinct unique index keys (pass one).
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
    /// What the four maps hold, estimated ([`Self::bytes`]).
    bytes: u64,
}

/// Bytes a hash map entry of `entry` bytes costs on average: its bucket and
/// control byte at hashbrown's 7/8 load factor, capacities doubling (a map
/// is 44% to 87% full, ~1.6 buckets per entry on average).
const fn slot(entry: usize) -> u64 {
    ((entry + 1) * 8 / 5) as u64
}

/// A heap allocation of `n` bytes as jemalloc (the `squall` binary's
/// allocator) takes it: 16-byte classes up to 128 bytes, then four classes
/// per doubling.
fn heap(n: usize) -> u64 {
    let class = match n {
        0 => 0,
        1..=8 => 8,
        9..=128 => n.div_ceil(16) * 16,
        _ => {
            let step = n.next_power_of_two() / 8;
            n.div_ceil(step) * step
        }
    };
    class as u64
}

fn handle_heap(h: &Handle) -> u64 {
    match h {
        Handle::Int(_) => 0,
        Handle::Common(b) => heap(b.len()),
    }
}

impl Router {
    /// Learns the links an input brings (pass one).
    pub fn see(&mut self, table: &TableInfo, input: &Input) {
        match input {
            Input::Record(_) => {}
            Input::Index(_, p) => {
                if self.reported.insert((p.key.clone(), p.commit_ts)) {
                    self.bytes += slot(std::mem::size_of::<(Vec<u8>, u64)>()) + heap(p.key.len());
                }
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
                    let entry = self.local_first.entry((d.key.clone(), d.commit_ts));
                    if matches!(entry, std::collections::hash_map::Entry::Vacant(_)) {
                        self.bytes +=
                            slot(std::mem::size_of::<((Vec<u8>, u64), bool)>()) + heap(d.key.len());
                    }
                    *entry.or_default() |= d.ingested;
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

    /// Bytes the router holds, estimated from its entries (the memory of the
    /// links it learnt: zero for a table whose only unique key is the
    /// primary key). Counted in `conflict.resolve-memory` with the inputs
    /// pass one keeps.
    pub fn bytes(&self) -> u64 {
        self.bytes
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

    /// What pass two needs: each linked handle's root, and nothing of the
    /// keys that linked them (freed here, before the shards are written).
    pub fn into_routes(self) -> Routes {
        let Self {
            by_key,
            mut parent,
            local_first,
            reported,
            ..
        } = self;
        drop((by_key, local_first, reported));
        let handles: Vec<Handle> = parent.keys().cloned().collect();
        let mut roots = HashMap::with_capacity(handles.len());
        for h in handles {
            let root = root_of(&mut parent, &h);
            roots.insert(h, root);
        }
        Routes { roots }
    }

    fn link(&mut self, key: &[u8], handle: Handle) {
        match self.by_key.get(key).cloned() {
            None => {
                self.bytes += slot(std::mem::size_of::<(Vec<u8>, Handle)>())
                    + heap(key.len())
                    + handle_heap(&handle);
                self.by_key.insert(key.to_vec(), handle);
            }
            Some(first) => {
                let (a, b) = (
                    root_of(&mut self.parent, &first),
                    root_of(&mut self.parent, &handle),
                );
                if a != b {
                    // The smaller handle roots the set: deterministic.
                    let (low, high) = if a < b { (a, b) } else { (b, a) };
                    self.bytes += slot(std::mem::size_of::<(Handle, Handle)>())
                        + handle_heap(&low)
                        + handle_heap(&high);
                    self.parent.insert(high, low);
                }
            }
        }
    }
}

/// The root of `handle`'s set, compressing the path to it.
fn root_of(parent: &mut HashMap<Handle, Handle>, handle: &Handle) -> Handle {
    let mut path = Vec::new();
    let mut at = handle.clone();
    while let Some(up) = parent.get(&at) {
        path.push(at.clone());
        at = up.clone();
    }
    for h in path {
        parent.insert(h, at.clone());
    }
    at
}

/// Each linked handle's root: where pass two sends inputs.
#[derive(Debug, Default)]
pub struct Routes {
    roots: HashMap<Handle, Handle>,
}

impl Routes {
    /// The shard (of `shards`) `input` goes to: the one its set's root
    /// hashes to. Only after [`Router::why_not_shardable`] said none.
    pub fn shard_of(&self, table: &TableInfo, input: &Input, shards: usize) -> usize {
        let Ok(handle) = input.handle(table) else {
            // Not reached: `see` recorded it and the table is resolved whole.
            return 0;
        };
        let root = self.roots.get(&handle).unwrap_or(&handle);
        let key = squall_codec::record_key(table.id, root);
        (squall_codec::checksum::kv_crc64(&key, b"") % shards.max(1) as u64) as usize
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
        assert_eq!(root_of(&mut r.parent, &Handle::Int(9)), Handle::Int(3));
        assert_eq!(root_of(&mut r.parent, &Handle::Int(5)), Handle::Int(3));
        assert_eq!(root_of(&mut r.parent, &Handle::Int(7)), Handle::Int(7));
        let routes = r.into_routes();
        assert_eq!(routes.roots.get(&Handle::Int(9)), Some(&Handle::Int(3)));
        assert_eq!(routes.roots.get(&Handle::Int(5)), Some(&Handle::Int(3)));
        assert_eq!(routes.roots.get(&Handle::Int(3)), None);
    }

    /// A chain linked in the worst order (each new key joins the newest
    /// handle to the set) still resolves every handle to the smallest, and
    /// the routes hold one entry per non-root handle.
    #[test]
    fn routes_send_a_whole_chain_to_its_smallest_handle() {
        let mut r = Router::default();
        for i in (1..200i64).rev() {
            let key = format!("k{i}");
            r.link(key.as_bytes(), Handle::Int(i + 1));
            r.link(key.as_bytes(), Handle::Int(i));
        }
        let routes = r.into_routes();
        assert_eq!(routes.roots.len(), 199);
        assert!(routes.roots.values().all(|h| *h == Handle::Int(1)));
    }

    /// The estimate grows with the links, by the entries' sizes, and not
    /// with a key linked again to the same set.
    #[test]
    fn heap_sizes_follow_the_allocator_classes() {
        let classes: Vec<u64> = [0, 1, 8, 9, 16, 17, 128, 129, 160, 161, 256, 257, 1000]
            .iter()
            .map(|n| heap(*n))
            .collect();
        assert_eq!(
            classes,
            [0, 8, 8, 16, 16, 32, 128, 160, 160, 192, 256, 320, 1024]
        );
    }

    #[test]
    fn the_estimate_counts_each_new_entry_once() {
        let mut r = Router::default();
        assert_eq!(r.bytes(), 0);
        r.link(b"key-1", Handle::Int(1));
        let one_key = r.bytes();
        assert_eq!(one_key, slot(std::mem::size_of::<(Vec<u8>, Handle)>()) + 8);
        r.link(b"key-1", Handle::Int(2));
        let linked = r.bytes();
        assert_eq!(
            linked - one_key,
            slot(std::mem::size_of::<(Handle, Handle)>())
        );
        r.link(b"key-1", Handle::Int(2));
        assert_eq!(r.bytes(), linked);
        r.link(b"key-2", Handle::Common(vec![7; 40]));
        assert_eq!(
            r.bytes() - linked,
            slot(std::mem::size_of::<(Vec<u8>, Handle)>()) + 8 + 48
        );
    }

    /// What a map's table takes for its capacity: hashbrown keeps 7/8 of
    /// a power of two of buckets usable, each bucket an entry and a control
    /// byte, plus one group of control bytes.
    fn table_bytes<T>(capacity: usize) -> u64 {
        if capacity == 0 {
            return 0;
        }
        let buckets = if capacity < 8 {
            (capacity + 1).next_power_of_two()
        } else {
            (capacity * 8 / 7).next_power_of_two()
        };
        heap(buckets * (std::mem::size_of::<T>() + 1) + 16)
    }

    /// The memory the router holds, from its maps' capacities and its keys
    /// (jemalloc's classes): the figure BENCHMARKS.md quotes per linked row,
    /// and the estimate `conflict.resolve-memory` counts must not fall
    /// short of it. Two engines each wrote a row with the same unique value
    /// and different primary keys, 100,000 times.
    #[test]
    fn the_estimate_covers_what_linked_rows_hold() {
        use crate::duplicate::target::tests::sample_table;
        use squall_codec::{Datum, TableEncoder};
        use squall_common::schema::HandleKind;

        const KEYS: i64 = 100_000;
        let table = sample_table(HandleKind::IntPk);
        let mut enc = TableEncoder::new(&table).expect("schema");
        let mut inputs = Vec::new();
        for k in 0..KEYS {
            for (id, ts) in [(2 * k + 1, 400), (2 * k + 2, 401)] {
                let row = [Datum::Int(id), Datum::Int(k), Datum::Bytes(b"v".to_vec())];
                let mut kvs = Vec::new();
                enc.encode_row(&row, id, &mut kvs).expect("encodes");
                let kv = kvs
                    .into_iter()
                    .find(|kv| {
                        squall_codec::decode_index_key(&kv.key).is_ok_and(|i| i.index_id == 2)
                    })
                    .expect("the unique entry");
                let pair = DupPair {
                    key: kv.key,
                    value: kv.value,
                    commit_ts: ts,
                };
                inputs.push(Input::Index(2, pair));
            }
        }
        let mut r = Router::default();
        for input in &inputs {
            r.see(&table, input);
        }
        let key_len = r.by_key.keys().next().map_or(0, Vec::len);
        let held = table_bytes::<(Vec<u8>, Handle)>(r.by_key.capacity())
            + table_bytes::<(Handle, Handle)>(r.parent.capacity())
            + table_bytes::<(Vec<u8>, u64)>(r.reported.capacity())
            + table_bytes::<((Vec<u8>, u64), bool)>(r.local_first.capacity())
            + (r.by_key.len() + r.reported.len()) as u64 * heap(key_len);
        let estimate = r.bytes();
        assert_eq!(
            (r.by_key.len(), r.parent.len()),
            (KEYS as usize, KEYS as usize)
        );
        let routes = r.into_routes();
        let routed = table_bytes::<(Handle, Handle)>(routes.roots.capacity());
        let rows = 2 * KEYS as u64;
        println!(
            "{KEYS} unique entries of {key_len} bytes, 2 rows each: the router holds {held} B, \
             {} B per linked row; estimated {estimate} B ({} B per row); pass two keeps {routed} B \
             ({} B per row)",
            held / rows,
            estimate / rows,
            routed / rows
        );
        assert!(
            estimate >= held * 9 / 10,
            "estimate {estimate} B, held {held} B"
        );
        assert!(
            estimate <= held * 8 / 5,
            "estimate {estimate} B, held {held} B"
        );
        assert!(routed < held / 3, "routes {routed} B of {held} B");
        // Both rows of an entry go to one shard; entries spread over shards.
        let mut used = HashSet::new();
        for pair in inputs.chunks(2) {
            let a = routes.shard_of(&table, &pair[0], 64);
            assert_eq!(a, routes.shard_of(&table, &pair[1], 64));
            used.insert(a);
        }
        assert!(used.len() > 48, "{} of 64 shards used", used.len());
    }
}
