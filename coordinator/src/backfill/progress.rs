//! A running backfill's counters, read by `squall index backfill`'s
//! progress line. What is durable (finished ranges' rows and entries) is in
//! the range records, which the status API sums ([`job_backfill_status`]).

use std::sync::atomic::{AtomicU64, Ordering};

use squall_common::checkpoint::{typed, CheckpointError, CheckpointStore};

use super::records::{BackfillKeys, RangeRecord};

#[derive(Debug, Default)]
pub struct BackfillProgress {
    rows_scanned: AtomicU64,
    entries_written: AtomicU64,
    ranges_done: AtomicU64,
    ranges_total: AtomicU64,
    ranges_resumed: AtomicU64,
}

/// One reading of the counters (also the status API's shape).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BackfillView {
    pub rows_scanned: u64,
    pub entries_written: u64,
    pub ranges_done: u64,
    pub ranges_total: u64,
    /// Ranges an earlier run had finished (not built again).
    pub ranges_resumed: u64,
}

impl BackfillProgress {
    pub fn view(&self) -> BackfillView {
        BackfillView {
            rows_scanned: self.rows_scanned.load(Ordering::Relaxed),
            entries_written: self.entries_written.load(Ordering::Relaxed),
            ranges_done: self.ranges_done.load(Ordering::Relaxed),
            ranges_total: self.ranges_total.load(Ordering::Relaxed),
            ranges_resumed: self.ranges_resumed.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add_total(&self, ranges: u64) {
        self.ranges_total.fetch_add(ranges, Ordering::Relaxed);
    }

    pub(crate) fn add_rows(&self, rows: u64) {
        self.rows_scanned.fetch_add(rows, Ordering::Relaxed);
    }

    /// A range an earlier run finished.
    pub(crate) fn resumed(&self, rows: u64, entries: u64) {
        self.ranges_resumed.fetch_add(1, Ordering::Relaxed);
        self.range_done(rows, entries);
    }

    /// A finished range; rows this process scanned were already counted
    /// by [`Self::add_rows`].
    pub(crate) fn range_done(&self, rows_not_counted: u64, entries: u64) {
        self.rows_scanned
            .fetch_add(rows_not_counted, Ordering::Relaxed);
        self.entries_written.fetch_add(entries, Ordering::Relaxed);
        self.ranges_done.fetch_add(1, Ordering::Relaxed);
    }
}

/// The finished part of every backfill of job `job_id`, from its range
/// records; `None` when the job has none (a `with-data` job).
pub async fn job_backfill_status(
    store: &dyn CheckpointStore,
    job_id: &str,
) -> Result<Option<BackfillView>, CheckpointError> {
    let prefix = BackfillKeys::job_prefix(job_id);
    let listed = store.list(&prefix).await?;
    if listed.is_empty() {
        return Ok(None);
    }
    let mut v = BackfillView::default();
    for (key, value) in listed {
        if key.ends_with("/plan") {
            let plan: super::records::BackfillPlan = typed::decode(&key, &value.value)?;
            v.ranges_total += plan.ranges.len() as u64;
        } else if let Ok(r) = typed::decode::<RangeRecord>(&key, &value.value) {
            if let Some(done) = r.done {
                v.ranges_done += 1;
                v.rows_scanned += done.rows;
                v.entries_written += done.entries;
            }
        }
    }
    Ok(Some(v))
}
