//! The local engine as region ingest's [`SortedKvs`]: first copies only
//! (later copies of a key are local duplicates, reported separately).

use crate::engine::{EngineKv, LocalEngine};
use crate::ingest::{KeyBounds, KeyRange, PairIter, SortedKvs, SourceError};

pub struct EngineKvs(pub LocalEngine);

impl SortedKvs for EngineKvs {
    fn ranges(&self, max_bytes: u64, max_keys: u64) -> Result<Vec<KeyRange>, SourceError> {
        Ok(self.0.split_ranges(max_bytes, max_keys)?)
    }

    fn first_and_last(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyBounds>, SourceError> {
        Ok(self.0.key_bounds(start, end)?)
    }

    fn iter<'a>(&'a self, start: &[u8], end: &[u8]) -> PairIter<'a> {
        Box::new(self.0.iter_range(start, end).filter_map(|kv| match kv {
            Ok(EngineKv::Put { key, value, .. }) => Some(Ok((key, value))),
            // Already in TiKV (an early import under disk-quota), or a duplicate.
            Ok(EngineKv::Duplicate { .. } | EngineKv::Ingested { .. }) => None,
            Err(e) => Some(Err(Box::new(e) as SourceError)),
        }))
    }
}
