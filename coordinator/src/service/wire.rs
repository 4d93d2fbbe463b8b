//! What `squall coordinator`'s HTTP API sends and receives (JSON), shared
//! with its client, `squall import --coordinator`.

use serde::{Deserialize, Serialize};
use squall_common::checkpoint::{JobState, TableState};

use crate::run::{ImportSummary, Phase, ProgressView};

/// `POST /jobs`: the same job `squall import` runs embedded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    /// The task config (TOML); its source and PD settings are replaced by
    /// the fields below.
    pub task_toml: String,
    /// The dump, at a path the coordinator and every worker see.
    pub source_dir: String,
    pub pd_addrs: Vec<String>,
    /// Reports, at a path the coordinator and every worker see.
    pub output_dir: String,
}

/// `POST /jobs` (202 started, 409 already running) and `GET /jobs/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStatus {
    pub job_id: String,
    /// A runner is working on the job in the coordinator now.
    pub running: bool,
    /// `connecting`, `planning`, `importing`, `verifying`, `done`, or
    /// `stopped` (not running and not finished).
    pub phase: String,
    /// The job record's state (`None` before it is written).
    pub state: Option<JobState>,
    pub progress: ProgressStatus,
    pub tables: Vec<TableStatus>,
    pub engines: Vec<EngineStatus>,
    /// The end-of-job summary, once the runner of this coordinator ended.
    pub summary: Option<ImportSummary>,
    /// Why the job failed.
    pub error: Option<String>,
    /// Every table's checksum matched TiKV's.
    pub verified: bool,
}

impl JobStatus {
    /// Nothing more will happen to the job unless it is submitted again.
    pub fn is_finished(&self) -> bool {
        !self.running
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressStatus {
    pub total_source_bytes: u64,
    pub encoded_bytes: u64,
    pub ingested_bytes: u64,
    pub total_engines: u64,
    pub engines_done: u64,
}

impl ProgressStatus {
    /// The view the progress display takes, with the phase named in `phase`.
    pub fn view(&self, phase: &str) -> ProgressView {
        ProgressView {
            phase: phase_from_name(phase),
            total_source_bytes: self.total_source_bytes,
            encoded_bytes: self.encoded_bytes,
            ingested_bytes: self.ingested_bytes,
            total_engines: self.total_engines,
            engines_done: self.engines_done,
        }
    }
}

fn phase_from_name(name: &str) -> Phase {
    [
        Phase::Connecting,
        Phase::Planning,
        Phase::Importing,
        Phase::PostProcessing,
        Phase::Done,
    ]
    .into_iter()
    .find(|p| p.name() == name)
    .unwrap_or(Phase::Connecting)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStatus {
    pub table_id: i64,
    pub name: String,
    pub state: TableState,
    pub engines: u32,
    pub source_bytes: u64,
    /// Merged totals, once the table is ingested.
    pub rows: Option<u64>,
    pub kvs: Option<u64>,
    pub conflicts: Option<u64>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStatus {
    pub table_id: i64,
    pub engine_id: u32,
    /// `pending`, `running`, `done` or `failed`.
    pub state: String,
    /// The worker of the current (running) or last (done) attempt.
    pub worker: Option<String>,
    pub attempt: u32,
    pub source_bytes: u64,
    /// Why it failed for good.
    pub reason: Option<String>,
}
