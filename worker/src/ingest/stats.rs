//! What an engine's ingest did, counted while it runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Called with the number of bytes (key + value) just ingested, for progress bars.
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

/// Totals of one engine's ingest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// Pairs ingested (each counted once, however often it was rewritten).
    pub kvs: u64,
    /// Key + value bytes ingested.
    pub bytes: u64,
    /// Ranges the engine was cut into.
    pub ranges: u64,
    /// Region jobs (Write + MultiIngest) that succeeded.
    pub regions: u64,
    /// Failed attempts that were retried (jobs, splits).
    pub retries: u64,
    /// Keys regions were split at.
    pub split_keys: u64,
}

/// Shared counters behind [`IngestSummary`].
#[derive(Default)]
pub(crate) struct Counters {
    kvs: AtomicU64,
    bytes: AtomicU64,
    ranges: AtomicU64,
    regions: AtomicU64,
    retries: AtomicU64,
    split_keys: AtomicU64,
    progress: Option<ProgressFn>,
}

impl Counters {
    pub(crate) fn new(progress: Option<ProgressFn>) -> Self {
        Self {
            progress,
            ..Self::default()
        }
    }

    pub(crate) fn ingested(&self, kvs: u64, bytes: u64) {
        self.kvs.fetch_add(kvs, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.regions.fetch_add(1, Ordering::Relaxed);
        if let Some(progress) = &self.progress {
            progress(bytes);
        }
    }

    pub(crate) fn retried(&self, n: u64) {
        self.retries.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn ranges(&self, n: u64) {
        self.ranges.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn split(&self, keys: u64) {
        self.split_keys.fetch_add(keys, Ordering::Relaxed);
    }

    pub(crate) fn summary(&self) -> IngestSummary {
        IngestSummary {
            kvs: self.kvs.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            ranges: self.ranges.load(Ordering::Relaxed),
            regions: self.regions.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            split_keys: self.split_keys.load(Ordering::Relaxed),
        }
    }
}
