//! A writer's in-memory sort buffer: stored keys and values packed in one
//! arena (each KV a record with its two lengths, `key_sort::put_record`),
//! plus a 16-byte entry per KV that is what actually gets sorted.
//!
//! Keys are adapted (`key_adapter`) on the way in, so sorting is a plain byte
//! comparison and the sorted entries are written to the SST as they are.
//!
//! The buffer is sorted a segment at a time: once `segment_bytes` of new
//! records have arrived, they are sorted while still in the CPU cache and
//! rewritten in key order in place (through a segment-sized scratch buffer),
//! and the run is written by merging the sorted segments (`segment_merge`).
//! Sorting the whole buffer at the end instead read every record at random
//! across tens of MiB, a cache miss per step (see BENCHMARKS.md, engine).
//!
//! Growth is capped at the writer's share so the allocations stay within
//! about 1.5× the share: the arena at most the share, the entry vector at most
//! `share / MIN_KV_COST` entries (an adapted key alone is ≥ 17 bytes, its
//! record header ≥ 2; 16/36 of the share), the scratch one segment
//! (`share / SEGMENTS_PER_SHARE`, kept up to twice that).

use super::key_adapter::{adapted_len, encode_key_into};
use super::key_sort::{self, header_len, put_record, Entry};
use super::segment_merge::SegmentMerge;

const ENTRY_SIZE: usize = std::mem::size_of::<Entry>();
/// The smallest possible cost of one KV (empty key and value).
const MIN_KV_COST: usize = 17 + 2 + ENTRY_SIZE;
/// Segments per share: few enough for a cheap merge (a heap of this many
/// cursors), many enough that one segment stays in the cache while sorted.
const SEGMENTS_PER_SHARE: usize = 32;
/// A segment is never larger than this (the cache it should fit in).
const MAX_SEGMENT: usize = 4 << 20;
/// Nor smaller than this (tiny shares, tests).
const MIN_SEGMENT: usize = 1 << 10;

fn segment_bytes(share: usize) -> usize {
    (share / SEGMENTS_PER_SHARE).clamp(MIN_SEGMENT, MAX_SEGMENT)
}

#[derive(Debug, Default)]
pub struct SortBuffer {
    arena: Vec<u8>,
    entries: Vec<Entry>,
    /// End (in `entries`) of each sorted segment; the entries after the last
    /// one are the unsorted tail.
    segment_ends: Vec<usize>,
    /// Where the tail's records start in the arena.
    tail_off: usize,
    /// Reused to rewrite a segment's records in key order.
    scratch: Vec<u8>,
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
        self.arena.capacity() + self.entries.capacity() * ENTRY_SIZE + self.scratch.capacity()
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
        if self.arena.len() - self.tail_off >= segment_bytes(share) {
            self.sort_tail();
        }
    }

    /// Sorts the unsorted tail into a segment: entries by key, then the
    /// records themselves rewritten in that order, so the segment reads
    /// front to back.
    fn sort_tail(&mut self) {
        let start = self.segment_ends.last().copied().unwrap_or(0);
        if start == self.entries.len() {
            return;
        }
        let tail = &mut self.entries[start..];
        key_sort::sort(&self.arena, tail);
        self.scratch.clear();
        self.scratch.reserve_exact(self.arena.len() - self.tail_off);
        for e in tail.iter_mut() {
            let span = e.span(&self.arena);
            e.moved_to(self.tail_off + self.scratch.len());
            self.scratch.extend_from_slice(&self.arena[span]);
        }
        self.arena[self.tail_off..].copy_from_slice(&self.scratch);
        self.segment_ends.push(self.entries.len());
        self.tail_off = self.arena.len();
    }

    /// Sorts by stored key, i.e. by (user key, row tag).
    pub fn sort(&mut self) {
        self.sort_tail();
    }

    /// The KVs in key order once [`Self::sort`] ran (before it, the sorted
    /// segments' KVs, then the tail's in arrival order).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let start = self.segment_ends.last().copied().unwrap_or(0);
        let tail = self.entries[start..].iter().map(|e| e.kv(&self.arena));
        SegmentMerge::new(&self.arena, &self.entries, &self.segment_ends).chain(tail)
    }

    /// Empties the buffer, keeping the allocations for the next run unless they
    /// exceed what `share` allows now (another writer may have opened).
    pub fn clear(&mut self, share: usize) {
        self.arena.clear();
        self.entries.clear();
        self.segment_ends.clear();
        self.tail_off = 0;
        if self.scratch.capacity() > 2 * segment_bytes(share) {
            self.scratch = Vec::new();
        }
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
    fn segments_merge_into_key_order() {
        // A share of 256 KiB makes 8 KiB segments: ~40 of them here.
        let share = 256 << 10;
        let mut buf = SortBuffer::default();
        let mut want = Vec::new();
        for i in 0..6000u64 {
            // A scattered key order, values of varying length, some copies.
            let k = (i * 7919 % 4001).to_be_bytes();
            let v = vec![(i % 251) as u8; (i % 70) as usize];
            buf.push(&k, &v, i % 3, share);
            want.push((crate::engine::key_adapter::encode_key(&k, i % 3), v));
        }
        assert!(buf.segment_ends.len() > 30, "{}", buf.segment_ends.len());
        buf.sort();
        want.sort();
        let got: Vec<(Vec<u8>, Vec<u8>)> =
            buf.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(got, want);
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
