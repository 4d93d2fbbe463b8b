//! What a running import reports to whoever displays it (the CLI's progress
//! bar or log lines).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use squall_common::checkpoint::SharedCheckpointStore;
use squall_worker::task::{ProgressSnapshot, WorkerProgress};

use crate::backfill::BackfillView;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    Planning,
    Importing,
    PostProcessing,
    Done,
}

impl Phase {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Connecting,
            1 => Self::Planning,
            2 => Self::Importing,
            3 => Self::PostProcessing,
            _ => Self::Done,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Planning => "planning",
            Self::Importing => "importing",
            Self::PostProcessing => "verifying",
            Self::Done => "done",
        }
    }
}

/// Shared between the job and its display.
#[derive(Debug, Default)]
pub struct ImportProgress {
    workers: Arc<WorkerProgress>,
    total_source_bytes: AtomicU64,
    /// Source bytes of engines that were already done before this run.
    done_before: AtomicU64,
    total_engines: AtomicU64,
    phase: AtomicU8,
    /// Time spent importing, pauses left out: the throughput's denominator.
    clock: Mutex<ImportClock>,
    /// The job's records, for what only they hold (the index backfill's
    /// finished ranges, the engine ranges'): set once the job is named.
    records: OnceLock<JobRecords>,
}

/// The runner's own store (an embedded store caches its records: a second
/// one opened on the same directory would not see them change) and the job.
struct JobRecords {
    store: SharedCheckpointStore,
    job_id: String,
}

impl std::fmt::Debug for JobRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRecords")
            .field("job_id", &self.job_id)
            .finish_non_exhaustive()
    }
}

/// Bytes per second over `elapsed`; `None` before the first second (too
/// noisy) or the first bytes.
fn rate(bytes: u64, elapsed: Duration) -> Option<f64> {
    let secs = elapsed.as_secs_f64();
    (bytes > 0 && secs >= 1.0).then(|| bytes as f64 / secs)
}

/// Import time, started when the engines are handed out, stopped while the
/// job is paused.
#[derive(Debug, Default)]
struct ImportClock {
    counted: Duration,
    /// Running since (`None`: not started, or paused).
    since: Option<Instant>,
    started: bool,
    paused: bool,
}

impl ImportClock {
    fn elapsed(&self) -> Duration {
        self.counted + self.since.map_or(Duration::ZERO, |s| s.elapsed())
    }
}

/// A snapshot for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressView {
    pub phase: Phase,
    pub total_source_bytes: u64,
    /// Source bytes encoded, counting engines finished by earlier runs.
    pub encoded_bytes: u64,
    pub ingested_bytes: u64,
    pub total_engines: u64,
    pub engines_done: u64,
}

impl ImportProgress {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn view(&self) -> ProgressView {
        let w: ProgressSnapshot = self.workers.snapshot();
        let before = self.done_before.load(Ordering::Relaxed);
        ProgressView {
            phase: Phase::from_u8(self.phase.load(Ordering::Relaxed)),
            total_source_bytes: self.total_source_bytes.load(Ordering::Relaxed),
            encoded_bytes: before + w.encoded_bytes,
            ingested_bytes: w.ingested_bytes,
            total_engines: self.total_engines.load(Ordering::Relaxed),
            engines_done: w.engines_done,
        }
    }

    pub(crate) fn workers(&self) -> Arc<WorkerProgress> {
        Arc::clone(&self.workers)
    }

    /// Where [`Self::backfill`] reads from (the first call wins).
    pub(crate) fn watch_records(&self, store: &SharedCheckpointStore, job_id: &str) {
        let _ = self.records.set(JobRecords {
            store: Arc::clone(store),
            job_id: job_id.to_string(),
        });
    }

    /// The engine ranges' ingest of a `squall.engine-ranges` job, as the
    /// status API's `ranges` field totals them (from the range records);
    /// `None` as for [`Self::backfill`], or for a job without ranges.
    pub async fn ranges(&self) -> Option<crate::service::RangeCounts> {
        let r = self.records.get()?;
        match crate::service::job_ranges_status(r.store.as_ref(), &r.job_id).await {
            Ok(status) => status.map(|s| s.total),
            Err(e) => {
                tracing::debug!(job = r.job_id, error = %e, "cannot read the ranges' progress");
                None
            }
        }
    }

    /// The index backfill of an `index-mode = "after-data"` job, as the
    /// status API's `backfill` field shows it (finished ranges, from their
    /// records); `None` before the job is named, for a job without one, or
    /// when the store cannot be read (a display only: the runner meets
    /// that error itself).
    pub async fn backfill(&self) -> Option<BackfillView> {
        let r = self.records.get()?;
        match crate::backfill::job_backfill_status(r.store.as_ref(), &r.job_id).await {
            Ok(view) => view,
            Err(e) => {
                tracing::debug!(job = r.job_id, error = %e, "cannot read the backfill's progress");
                None
            }
        }
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
        let mut clock = self.clock();
        if phase == Phase::Importing && !clock.started {
            clock.started = true;
            if !clock.paused {
                clock.since = Some(Instant::now());
            }
        }
    }

    /// The job is paused (or goes on): the clock stops (or goes on).
    pub(crate) fn set_paused(&self, paused: bool) {
        let mut clock = self.clock();
        if clock.paused == paused {
            return;
        }
        clock.paused = paused;
        if paused {
            if let Some(since) = clock.since.take() {
                clock.counted += since.elapsed();
            }
        } else if clock.started {
            clock.since = Some(Instant::now());
        }
    }

    /// Whether the job is paused now (as the runner last saw its control).
    pub fn is_paused(&self) -> bool {
        self.clock().paused
    }

    /// Source bytes per second imported by this run, pauses left out;
    /// `None` before the first second or the first bytes.
    pub fn throughput(&self) -> Option<f64> {
        let v = self.view();
        let bytes = v
            .encoded_bytes
            .saturating_sub(self.done_before.load(Ordering::Relaxed));
        rate(bytes, self.clock().elapsed())
    }

    fn clock(&self) -> std::sync::MutexGuard<'_, ImportClock> {
        // Each critical section is a few assignments; a panic cannot leave
        // the clock half-changed.
        self.clock.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_totals(
        &self,
        source_bytes: u64,
        engines: u64,
        done_bytes: u64,
        done_engines: u64,
    ) {
        self.total_source_bytes
            .store(source_bytes, Ordering::Relaxed);
        self.total_engines.store(engines, Ordering::Relaxed);
        self.done_before.store(done_bytes, Ordering::Relaxed);
        for _ in 0..done_engines {
            self.workers.engine_done();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_stops_while_paused() {
        let p = ImportProgress::new();
        p.set_paused(true);
        p.set_phase(Phase::Importing);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(p.clock().elapsed(), Duration::ZERO, "paused from the start");
        assert!(p.is_paused());
        p.set_paused(false);
        std::thread::sleep(Duration::from_millis(30));
        p.set_paused(true);
        let counted = p.clock().elapsed();
        assert!(counted >= Duration::from_millis(30), "{counted:?}");
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(p.clock().elapsed(), counted, "no time counted while paused");
        assert_eq!(p.throughput(), None, "nothing imported yet");
    }

    #[test]
    fn the_rate_waits_for_a_second_and_some_bytes() {
        assert_eq!(rate(0, Duration::from_secs(10)), None);
        assert_eq!(rate(1000, Duration::from_millis(500)), None);
        assert_eq!(rate(3000, Duration::from_secs(2)), Some(1500.0));
    }
}
