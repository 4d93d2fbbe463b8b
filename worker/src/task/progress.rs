//! Counters a worker updates as it goes, read by the progress display.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct WorkerProgress {
    encoded_bytes: AtomicU64,
    ingested_bytes: AtomicU64,
    engines_done: AtomicU64,
}

/// A snapshot of [`WorkerProgress`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// Source bytes read and encoded.
    pub encoded_bytes: u64,
    /// KV bytes ingested into TiKV.
    pub ingested_bytes: u64,
    pub engines_done: u64,
}

impl WorkerProgress {
    pub fn encoded(&self, bytes: u64) {
        self.encoded_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn ingested(&self, bytes: u64) {
        self.ingested_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn engine_done(&self) {
        self.engines_done.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes back what a failed attempt counted, so retries do not inflate totals.
    pub fn retract_encoded(&self, bytes: u64) {
        let _ = self
            .encoded_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(bytes))
            });
    }

    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            encoded_bytes: self.encoded_bytes.load(Ordering::Relaxed),
            ingested_bytes: self.ingested_bytes.load(Ordering::Relaxed),
            engines_done: self.engines_done.load(Ordering::Relaxed),
        }
    }
}
