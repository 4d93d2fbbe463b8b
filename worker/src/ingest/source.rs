//! What region ingest reads: a sorted source of the KV pairs to ingest.
//!
//! The local engine implements [`SortedKvs`]; [`MemKvs`] is an in-memory one
//! for tests and small inputs. Every method may block on disk, so ingest only
//! calls them from tokio's blocking pool.

use std::collections::{btree_map, BTreeMap};
use std::error::Error;
use std::ops::Bound;

use squall_client::keys::next_key;

/// A raw key range `[start, end)`; an empty `end` means +∞.
pub type KeyRange = (Vec<u8>, Vec<u8>);

/// A failure of the source, boxed so any engine can report its own error.
pub type SourceError = Box<dyn Error + Send + Sync + 'static>;

/// The pairs of one range, in strictly increasing key order.
pub type PairIter<'a> =
    Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), SourceError>> + Send + 'a>;

/// The smallest and largest key of a range.
pub type KeyBounds = (Vec<u8>, Vec<u8>);

/// A sorted set of unique raw keys with values: the KVs of one engine that
/// go to TiKV (local duplicates already set aside).
pub trait SortedKvs: Send + Sync + 'static {
    /// Cuts the keys into contiguous ranges in key order, each holding at most
    /// `max_bytes` (key + value) and `max_keys` pairs, together covering
    /// every key. Empty when there are no keys.
    fn ranges(&self, max_bytes: u64, max_keys: u64) -> Result<Vec<KeyRange>, SourceError>;

    /// The smallest and largest key in `[start, end)`, `None` when empty.
    fn first_and_last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyBounds>, SourceError>;

    /// The pairs of `[start, end)` in key order.
    fn iter<'a>(&'a self, start: &[u8], end: &[u8]) -> PairIter<'a>;
}

/// An in-memory [`SortedKvs`].
#[derive(Debug, Clone, Default)]
pub struct MemKvs {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemKvs {
    pub fn new(map: BTreeMap<Vec<u8>, Vec<u8>>) -> Self {
        Self { map }
    }

    pub fn map(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.map
    }

    /// The pairs of `[start, end)`; empty (not a panic) when `start >= end`.
    fn span(&self, start: &[u8], end: &[u8]) -> btree_map::Range<'_, Vec<u8>, Vec<u8>> {
        let upper = if end.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Excluded(end.to_vec())
        };
        if !end.is_empty() && start >= end {
            return self.map.range(start.to_vec()..start.to_vec());
        }
        self.map.range((Bound::Included(start.to_vec()), upper))
    }
}

impl FromIterator<(Vec<u8>, Vec<u8>)> for MemKvs {
    fn from_iter<I: IntoIterator<Item = (Vec<u8>, Vec<u8>)>>(iter: I) -> Self {
        Self {
            map: iter.into_iter().collect(),
        }
    }
}

impl SortedKvs for MemKvs {
    fn ranges(&self, max_bytes: u64, max_keys: u64) -> Result<Vec<KeyRange>, SourceError> {
        let mut ranges = Vec::new();
        let (mut start, mut bytes, mut keys): (Option<Vec<u8>>, u64, u64) = (None, 0, 0);
        for (k, v) in &self.map {
            let size = (k.len() + v.len()) as u64;
            let full = keys > 0 && (bytes + size > max_bytes || keys + 1 > max_keys);
            if start.is_none() || full {
                if let Some(s) = start.replace(k.clone()) {
                    ranges.push((s, k.clone()));
                }
                (bytes, keys) = (0, 0);
            }
            bytes += size;
            keys += 1;
        }
        if let (Some(s), Some((last, _))) = (start, self.map.last_key_value()) {
            ranges.push((s, next_key(last)));
        }
        Ok(ranges)
    }

    fn first_and_last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyBounds>, SourceError> {
        let mut span = self.span(start, end);
        let Some((first, _)) = span.next() else {
            return Ok(None);
        };
        let last = span.next_back().map_or(first, |(k, _)| k);
        Ok(Some((first.clone(), last.clone())))
    }

    fn iter<'a>(&'a self, start: &[u8], end: &[u8]) -> PairIter<'a> {
        Box::new(
            self.span(start, end)
                .map(|(k, v)| Ok((k.clone(), v.clone()))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kvs(n: u32) -> MemKvs {
        (0..n)
            .map(|i| (format!("k{i:04}").into_bytes(), vec![b'v'; 10]))
            .collect()
    }

    #[test]
    fn ranges_cover_every_key_within_limits() {
        let src = kvs(100);
        let ranges = src.ranges(15 * 30, 1000).expect("in memory");
        assert_eq!(ranges.len(), 4, "{ranges:?}");
        assert_eq!(ranges[0].0, b"k0000");
        assert_eq!(ranges.last().map(|r| r.1.clone()), Some(next_key(b"k0099")));
        for w in ranges.windows(2) {
            assert_eq!(w[0].1, w[1].0, "contiguous");
        }
        let total: usize = ranges.iter().map(|(s, e)| src.iter(s, e).count()).sum();
        assert_eq!(total, 100);
        assert_eq!(src.ranges(u64::MAX, 7).expect("in memory").len(), 15);
        assert!(MemKvs::default().ranges(1, 1).expect("empty").is_empty());
    }

    #[test]
    fn first_last_and_iter_respect_bounds() {
        let src = kvs(10);
        let fl = src.first_and_last(b"k0003", b"k0007").expect("in memory");
        assert_eq!(fl, Some((b"k0003".to_vec(), b"k0006".to_vec())));
        assert_eq!(
            src.first_and_last(b"k0003", b"k0004")
                .expect("ok")
                .map(|f| f.1),
            Some(b"k0003".to_vec())
        );
        assert_eq!(src.first_and_last(b"x", b"").expect("ok"), None);
        assert_eq!(src.iter(b"k0008", b"").count(), 2);
        assert_eq!(src.iter(b"", b"k0001").count(), 1);
        assert_eq!(src.iter(b"k0005", b"k0001").count(), 0);
    }
}
