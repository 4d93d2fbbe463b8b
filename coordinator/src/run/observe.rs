//! Progress of a cluster job, read from the engine records: the workers are
//! other processes, so the coordinator counts an engine (its source bytes
//! and ingested bytes) when its record turns `Done`.

use std::collections::HashSet;
use std::sync::Arc;

use squall_common::checkpoint::{EngineCheckpoint, EngineState, Stored};
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
                self.progress.ingested(result.bytes);
                self.progress.engine_done();
            }
        }
    }
}
