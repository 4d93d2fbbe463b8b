//! The writers' shared memory budget.
//!
//! `local-writer-mem-cache-size` bounds the sort buffers of one engine, however
//! many writers (one per chunk being encoded) are open: each writer may buffer
//! `total / open_writers` before it must flush a sorted run. A writer whose share
//! shrinks because another one opened flushes at its next append. A share never
//! drops below `MIN_SHARE` (or `total`, if smaller) so that a crowd of writers
//! does not produce a storm of tiny runs; the bound is therefore
//! `max(total, open_writers * MIN_SHARE)` plus at most one KV per writer, and the
//! allocations behind it at most 1.5× that (see `SortBuffer`).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Smallest per-writer share when `total` allows it.
const MIN_SHARE: usize = 4 << 20;

#[derive(Debug)]
pub struct WriterBudget {
    total: usize,
    writers: AtomicUsize,
    allocated: AtomicUsize,
}

impl WriterBudget {
    pub fn new(total: u64) -> Self {
        Self {
            total: usize::try_from(total).unwrap_or(usize::MAX).max(1),
            writers: AtomicUsize::new(0),
            allocated: AtomicUsize::new(0),
        }
    }

    /// Bytes one writer may buffer now.
    pub fn share(&self) -> usize {
        let writers = self.writers.load(Ordering::Relaxed).max(1);
        (self.total / writers).max(self.total.min(MIN_SHARE))
    }

    pub fn writer_opened(&self) {
        self.writers.fetch_add(1, Ordering::Relaxed);
    }

    pub fn writer_closed(&self) {
        self.writers.fetch_sub(1, Ordering::Relaxed);
    }

    /// Moves this engine's allocated-buffer gauge from `old` to `new` bytes.
    pub fn update_allocated(&self, old: usize, new: usize) {
        if new > old {
            self.allocated.fetch_add(new - old, Ordering::Relaxed);
        } else if old > new {
            self.allocated.fetch_sub(old - new, Ordering::Relaxed);
        }
    }

    /// Bytes currently allocated by this engine's writers' sort buffers.
    pub fn allocated(&self) -> usize {
        self.allocated.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_divides_total_with_a_floor() {
        let budget = WriterBudget::new(64 << 20);
        assert_eq!(budget.share(), 64 << 20);
        for _ in 0..4 {
            budget.writer_opened();
        }
        assert_eq!(budget.share(), 16 << 20);
        for _ in 0..60 {
            budget.writer_opened();
        }
        assert_eq!(budget.share(), MIN_SHARE);
        let tiny = WriterBudget::new(1000);
        tiny.writer_opened();
        tiny.writer_opened();
        assert_eq!(tiny.share(), 1000);
    }

    #[test]
    fn allocated_gauge_follows_updates() {
        let budget = WriterBudget::new(1 << 20);
        budget.update_allocated(0, 500);
        budget.update_allocated(500, 300);
        budget.update_allocated(0, 100);
        assert_eq!(budget.allocated(), 400);
    }
}
