//! Cutting an engine into contiguous user-key ranges no larger than a region.
//!
//! Sizes count what will be ingested: first copies only (duplicates are not
//! sent), each as user key + value bytes, as TiKV's range properties count them.
//!
//! A finished engine whose totals (which count every copy, so they are an upper
//! bound) already fit is one range, found with two seeks. Otherwise the engine
//! is walked once in order. The walk is exact whatever the number of runs:
//! per-run size samples (Lightning's range properties) would be off by up to
//! one sample interval *per run*, and an engine built by many writers under a
//! small budget has hundreds of overlapping runs. The walk reads only what the
//! ingest will read anyway; its speed is in the engine bench.

use super::error::EngineError;
use super::key_adapter::{
    decode_user_key_into, decoded_len, next_key, split_stored, user_key_bound,
};
use super::local::LocalEngine;
use super::options::{scan_options, scan_readahead};

/// A user-key range `[start, end)`.
pub type KeyRange = (Vec<u8>, Vec<u8>);

/// The first and the last user key present in a range (both inclusive).
pub type KeyBounds = (Vec<u8>, Vec<u8>);

/// Accumulates first copies and decides where to cut.
struct Cutter {
    max_bytes: u64,
    max_keys: u64,
    bytes: u64,
    keys: u64,
    start: Option<Vec<u8>>,
    ranges: Vec<KeyRange>,
}

impl Cutter {
    /// Called for each first copy; `key` is decoded only when it is needed.
    fn add(
        &mut self,
        size: u64,
        key: impl FnOnce() -> Result<Vec<u8>, EngineError>,
    ) -> Result<(), EngineError> {
        let full =
            self.keys > 0 && (self.bytes + size > self.max_bytes || self.keys + 1 > self.max_keys);
        if self.start.is_none() || full {
            let key = key()?;
            if let Some(start) = self.start.replace(key.clone()) {
                self.ranges.push((start, key));
            }
            self.bytes = 0;
            self.keys = 0;
        }
        self.bytes += size;
        self.keys += 1;
        Ok(())
    }

    fn finish(mut self, last_key: &[u8]) -> Vec<KeyRange> {
        if let Some(start) = self.start.take() {
            self.ranges.push((start, next_key(last_key)));
        }
        self.ranges
    }
}

impl LocalEngine {
    /// Cuts the whole engine into contiguous ranges `[start, end)` of at most
    /// `max_bytes` (user key + value) and `max_keys` first copies each, in
    /// order: the first starts at the smallest key, each starts where the
    /// previous ended, the last ends at `next_key(largest key)`. A single KV
    /// larger than `max_bytes` gets a range of its own. Empty engine: no ranges.
    pub fn split_ranges(
        &self,
        max_bytes: u64,
        max_keys: u64,
    ) -> Result<Vec<KeyRange>, EngineError> {
        let (max_bytes, max_keys) = (max_bytes.max(1), max_keys.max(1));
        let (kvs, bytes) = self.totals();
        if self.is_finished() && kvs <= max_keys && bytes <= max_bytes {
            return self.whole_range().map(|r| r.into_iter().collect());
        }
        self.walk_ranges(max_bytes, max_keys)
    }

    /// `[first key, next_key(last key))`, or `None` when empty.
    fn whole_range(&self) -> Result<Option<KeyRange>, EngineError> {
        Ok(self
            .key_bounds(&[], &[])?
            .map(|(first, last)| (first, next_key(&last))))
    }

    /// The smallest and largest user key with `start <= key < end` (an empty
    /// `end`: no upper bound), found with two seeks; `None` when there is none.
    pub fn key_bounds(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyBounds>, EngineError> {
        if self.parts() > 0 {
            return self.put_bounds(start, end);
        }
        let inner = &*self.inner;
        let id = inner.id.as_str();
        let mut opts = rocksdb::ReadOptions::default();
        opts.set_iterate_lower_bound(user_key_bound(start));
        if !end.is_empty() {
            opts.set_iterate_upper_bound(user_key_bound(end));
        }
        let mut it = inner.db.raw_iterator_cf_opt(inner.data_cf(), opts);
        let mut key_at = |first: bool| -> Result<Option<Vec<u8>>, EngineError> {
            if first {
                it.seek_to_first();
            } else {
                it.seek_to_last();
            }
            let Some(stored) = it.key() else {
                return it
                    .status()
                    .map(|_| None)
                    .map_err(|e| EngineError::rocks(id, "seek", e));
            };
            let corrupt = |r| EngineError::corrupt_key(id, stored, r);
            let (enc, _) = split_stored(stored).map_err(corrupt)?;
            let mut key = Vec::new();
            decode_user_key_into(enc, &mut key).map_err(corrupt)?;
            Ok(Some(key))
        };
        let (Some(first), Some(last)) = (key_at(true)?, key_at(false)?) else {
            return Ok(None);
        };
        Ok(Some((first, last)))
    }

    fn walk_ranges(&self, max_bytes: u64, max_keys: u64) -> Result<Vec<KeyRange>, EngineError> {
        let inner = &*self.inner;
        let id = inner.id.as_str();
        let mut it = inner.db.raw_iterator_cf_opt(
            inner.data_cf(),
            scan_options(
                Vec::new(),
                None,
                scan_readahead(self.overlapping_files(), 1),
            ),
        );
        it.seek_to_first();
        let mut cutter = Cutter {
            max_bytes,
            max_keys,
            bytes: 0,
            keys: 0,
            start: None,
            ranges: Vec::new(),
        };
        let mut prev_enc: Vec<u8> = Vec::new();
        while let Some((stored, value)) = it.item() {
            let corrupt = |r| EngineError::corrupt_key(id, stored, r);
            let (enc, _) = split_stored(stored).map_err(corrupt)?;
            if cutter.start.is_none() || enc != prev_enc.as_slice() {
                let size = (decoded_len(enc).map_err(corrupt)? + value.len()) as u64;
                cutter.add(size, || {
                    let mut key = Vec::new();
                    decode_user_key_into(enc, &mut key).map_err(corrupt)?;
                    Ok(key)
                })?;
                prev_enc.clear();
                prev_enc.extend_from_slice(enc);
            }
            it.next();
        }
        it.status().map_err(|e| EngineError::rocks(id, "scan", e))?;
        if prev_enc.is_empty() {
            return Ok(Vec::new());
        }
        let mut last = Vec::new();
        decode_user_key_into(&prev_enc, &mut last)
            .map_err(|r| EngineError::corrupt_key(id, &prev_enc, r))?;
        Ok(cutter.finish(&last))
    }
}
