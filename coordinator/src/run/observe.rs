//! Progress of a cluster job, read from the engine records: the workers are
//! other processes, so the coordinator counts an engine (its source bytes
//! and ingested bytes) when its record turns `Done`.

use std::collections::HashSet;
use std::sync::Arc;

use squall_common::checkpoint::{
    EngineCheckpoint, EngineState, RangeCheckpoint, RangeState, Stored,
};
use squall_worker::task::WorkerProgress;

pub struct EngineObserver {
    /// Engines already counted (done before this run, or seen done).
    counted: HashSet<(i64, u32)>,
    progress: Arc<WorkerProgress>,
}

impl EngineObserver {
    /// `already_done`: the engines the progress totals already count.
    pub fn new(progress: Arc<WorkerProgress>, already_done: &[Stored<EngineCheckpoint>]) -> Self {
        let counted = already_done
            .iter()
            .filter(|e| matches!(e.record.state, EngineState::Done(_)))
            .map(|e| (e.record.table_id, e.record.engine_id))
            .collect();
        Self { counted, progress }
    }

    /// Counts every engine that turned `Done` since the last look.
    pub fn observe(&mut self, engines: &[Stored<EngineCheckpoint>]) {
        for e in engines {
            let EngineState::Done(result) = &e.record.state else {
                continue;
            };
            if self.counted.insert((e.record.table_id, e.record.engine_id)) {
                self.progress.encoded(e.record.source_bytes);
                // With engine ranges the engine ingested nothing: its range
                // tasks count what they ingest (`RangeObserver`).
                if result.runs.is_empty() {
                    self.progress.ingested(result.bytes);
                }
                self.progress.engine_done();
            }
        }
    }
}

/// Counts ingested bytes as range records turn `Done` (engine ranges).
pub struct RangeObserver {
    counted: HashSet<(i64, u32)>,
    progress: Arc<WorkerProgress>,
}

impl RangeObserver {
    pub fn new(progress: Arc<WorkerProgress>) -> Self {
        Self {
            counted: HashSet::new(),
            progress,
        }
    }

    pub fn observe(&mut self, ranges: &[Stored<RangeCheckpoint>]) {
        for r in ranges {
            if let RangeState::Done(result) = &r.record.state {
                if self.counted.insert((r.record.table_id, r.record.range_id)) {
                    self.progress.ingested(result.bytes);
                }
            }
        }
    }
}
