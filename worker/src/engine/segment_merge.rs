//! Reading a sort buffer's sorted segments as one sorted sequence.
//!
//! The buffer sorts each segment while its records are still in the CPU
//! cache and rewrites them in key order (`sort_buffer`), so every segment is
//! a sorted, contiguous stretch of the arena. Writing the run then merges
//! the segments: each is read front to back, which the hardware prefetcher
//! follows, instead of visiting the whole arena at random (a cache and TLB
//! miss per KV, which dominated the engine's writes in the profile).

use std::cmp::Ordering;
use std::collections::binary_heap::{BinaryHeap, PeekMut};

use super::key_sort::Entry;

/// The next entry of one segment.
struct Cursor<'a> {
    key: &'a [u8],
    next: usize,
    end: usize,
}

impl PartialEq for Cursor<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Cursor<'_> {}

impl PartialOrd for Cursor<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Cursor<'_> {
    /// Reversed, so that `BinaryHeap` (a max-heap) yields the smallest key;
    /// equal keys by segment order, which only decides among identical keys.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .key
            .cmp(self.key)
            .then_with(|| other.next.cmp(&self.next))
    }
}

/// Yields the entries of sorted segments (`ends[i]` is the end of segment
/// `i` in `entries`; segment `i` starts where `i - 1` ends) in key order.
pub struct SegmentMerge<'a> {
    arena: &'a [u8],
    entries: &'a [Entry],
    heap: BinaryHeap<Cursor<'a>>,
}

impl<'a> SegmentMerge<'a> {
    pub fn new(arena: &'a [u8], entries: &'a [Entry], ends: &[usize]) -> Self {
        let mut heap = BinaryHeap::with_capacity(ends.len());
        let mut start = 0;
        for &end in ends {
            if start < end {
                heap.push(Cursor {
                    key: entries[start].key(arena),
                    next: start,
                    end,
                });
            }
            start = end;
        }
        Self {
            arena,
            entries,
            heap,
        }
    }
}

impl<'a> Iterator for SegmentMerge<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let mut top = self.heap.peek_mut()?;
        let entry = self.entries[top.next];
        top.next += 1;
        if top.next < top.end {
            top.key = self.entries[top.next].key(self.arena);
        } else {
            PeekMut::pop(top);
        }
        Some(entry.kv(self.arena))
    }
}
