//! What a running import reports to whoever displays it (the CLI's progress
//! bar or log lines).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use squall_worker::task::{ProgressSnapshot, WorkerProgress};

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

    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
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
