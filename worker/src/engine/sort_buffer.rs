//! A writer's in-memory sort buffer: stored keys and values packed in one
//! arena (each KV a record with its two lengths, `key_sort::put_record`),
//! plus a 16-byte entry per KV that is what actually gets sorted.
//!
//! Keys are adapted (`key_adapter`) on the way in, so sorting is a plain byte
//! comparison and the sorted entries are written to the SST as they are.
//! Growth is capped at the writer's share so the allocations stay within
//! about 1.5× the share: the arena at most the share, the entry vector at most
//! `share / MIN_KV_COST` entries (an adapted key alone is ≥ 17 bytes, its
//! record header ≥ 2).

use super::key_adapter::{adapted_len, encode_key_into};
use super::key_sort::{self, header_len, put_record, Entry};

const ENTRY_SIZE: usize = std::mem::size_of::<Entry>();
/// The smallest possible cost of one KV (empty key and value).
const MIN_KV_COST: usize = 17 + 2 + ENTRY_SIZE;

#[derive(Debug, Default)]
pub struct SortBuffer {
    arena: Vec<u8>,
    entries: Vec<Entry>,
}

/// Grows `v` to hold `extra` more items, doubling but never past `soft_cap`
/// unless a single item needs it.
fn reserve_capped<T>(v: &mut Vec<T>, extra: usize, soft_cap: usize) {
    let needed = v.len() + extra;
    if needed <= v.capacity() {
        return;
    }
    let target = (v.capacity() * 2).max(1024).min(soft_cap).max(needed);
    v.reserve_exact(target - v.len());
}

impl SortBuffer {
    /// Buffer bytes one KV costs (record header, adapted key, value, entry).
    pub fn cost(key_len: usize, val_len: usize) -> usize {
        let key_len = adapted_len(key_len);
        header_len(key_len, val_len) + key_len + val_len + ENTRY_SIZE
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes in use, counted as [`Self::cost`] sums.
    pub fn used(&self) -> usize {
        self.arena.len() + self.entries.len() * ENTRY_SIZE
    }

    /// Bytes actually allocated.
    pub fn allocated(&self) -> usize {
        self.arena.capacity() + self.entries.capacity() * ENTRY_SIZE
    }

    /// Appends one KV. The caller has checked that both lengths fit in u32 and
    /// flushed first if the KV would not fit in `share`.
    pub fn push(&mut self, key: &[u8], value: &[u8], row_tag: u64, share: usize) {
        let key_len = adapted_len(key.len());
        let record = header_len(key_len, value.len()) + key_len + value.len();
        reserve_capped(&mut self.arena, record, share);
        reserve_capped(&mut self.entries, 1, share / MIN_KV_COST);
        let entry = put_record(&mut self.arena, key_len, value, |arena| {
            encode_key_into(key, row_tag, arena)
        });
        self.entries.push(entry);
    }

    /// Sorts by stored key, i.e. by (user key, row tag).
    pub fn sort(&mut self) {
        key_sort::sort(&self.arena, &mut self.entries);
    }

    /// The KVs in entry order (sorted after [`Self::sort`]). After the sort
    /// the records are read in random arena order, so each step also loads
    /// the record `LOOKAHEAD` entries ahead: its cache miss then overlaps
    /// the work on the current KV instead of stalling the next step.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        const LOOKAHEAD: usize = 8;
        let arena = &self.arena;
        let entries = &self.entries;
        entries.iter().enumerate().map(move |(i, e)| {
            if let Some(ahead) = entries.get(i + LOOKAHEAD) {
                std::hint::black_box(arena[ahead.off()]);
            }
            e.kv(arena)
        })
    }

    /// Empties the buffer, keeping the allocations for the next run unless they
    /// exceed what `share` allows now (another writer may have opened).
    pub fn clear(&mut self, share: usize) {
        self.arena.clear();
        self.entries.clear();
        if self.arena.capacity() > share {
            self.arena.shrink_to(share);
        }
        if self.entries.capacity() > share / MIN_KV_COST {
            self.entries.shrink_to(share / MIN_KV_COST);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::key_adapter::decode_key;

    #[test]
    fn sorts_by_user_key_then_tag() {
        let mut buf = SortBuffer::default();
        let share = 1 << 20;
        buf.push(b"b", b"1", 5, share);
        buf.push(b"a\0", b"2", 0, share);
        buf.push(b"a", b"3", 9, share);
        buf.push(b"b", b"4", 2, share);
        buf.sort();
        let got: Vec<(Vec<u8>, u64, Vec<u8>)> = buf
            .iter()
            .map(|(k, v)| {
                let (key, tag) = decode_key(k).expect("valid stored key");
                (key, tag, v.to_vec())
            })
            .collect();
        let want = vec![
            (b"a".to_vec(), 9, b"3".to_vec()),
            (b"a\0".to_vec(), 0, b"2".to_vec()),
            (b"b".to_vec(), 2, b"4".to_vec()),
            (b"b".to_vec(), 5, b"1".to_vec()),
        ];
        assert_eq!(got, want);
        assert_eq!(buf.used(), 4 * ENTRY_SIZE + 4 * (2 + 17) + 4);
    }

    #[test]
    fn allocation_stays_within_one_and_a_half_shares() {
        let share = 64 << 10;
        let mut buf = SortBuffer::default();
        let mut tag = 0u64;
        while buf.used() + SortBuffer::cost(8, 0) <= share {
            buf.push(&tag.to_be_bytes(), b"", tag, share);
            tag += 1;
        }
        assert!(buf.allocated() <= share * 3 / 2, "{}", buf.allocated());
        buf.clear(share / 4);
        assert!(buf.allocated() <= share / 4 * 3 / 2);
        assert!(buf.is_empty());
    }
}
