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

/// `POST /jobs` (202 started, 409 already running), `GET /jobs/{id}`, and
/// the answer of `POST /jobs/{id}/pause|resume|cancel`. Fields added after
/// the first release have serde defaults, so an older coordinator's answer
/// still reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The operator's control: `running`, `paused` or `cancelled`.
    #[serde(default = "running")]
    pub control: String,
    /// Source bytes per second imported by the runner of this coordinator
    /// (pauses left out); `None` without a runner here or before its first
    /// engine is done.
    #[serde(default)]
    pub throughput_bytes_per_sec: Option<f64>,
    /// Seconds until every engine is imported at that throughput
    /// (post-processing not included); `None` while paused or unknown.
    #[serde(default)]
    pub eta_secs: Option<u64>,
    /// Every registered worker, and any that holds an engine of this job
    /// without being registered (dead or cut off).
    #[serde(default)]
    pub workers: Vec<WorkerStatus>,
    /// The latest errors known for the job: its own, each table's last
    /// failed step, each engine that failed for good.
    #[serde(default)]
    pub last_errors: Vec<String>,
    /// The index backfill of an `index-mode = "after-data"` job: ranges,
    /// rows scanned and entries written by the finished ranges (from their
    /// records); `None` for a job without one.
    #[serde(default)]
    pub backfill: Option<crate::backfill::BackfillView>,
    /// The ingest tasks of a `squall.engine-ranges` job: ranges done of
    /// the planned ones, KVs and bytes they ingested (from the range
    /// records); `None` for a job without ranges (or before they are
    /// planned).
    #[serde(default)]
    pub ranges: Option<RangesStatus>,
}

fn running() -> String {
    "running".to_string()
}

/// One worker as a job's status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerStatus {
    pub id: String,
    /// Registered in etcd (its lease is kept alive).
    pub alive: bool,
    /// What it does for this job, e.g. `encoding shop.orders engine 3`
    /// (comma separated when it runs several engines); `None`: idle here.
    pub doing: Option<String>,
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

/// The engine ranges' ingest progress, the job's and each table's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangesStatus {
    #[serde(flatten)]
    pub total: RangeCounts,
    /// Per table with ranges, in table id order.
    pub tables: Vec<TableRanges>,
}

/// Ranges by state and what the finished ones ingested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeCounts {
    pub ranges_total: u64,
    pub ranges_done: u64,
    pub ranges_running: u64,
    pub ranges_failed: u64,
    /// KVs and their bytes ingested by the `Done` ranges (first copy of
    /// each key; local duplicates not counted).
    pub ingested_kvs: u64,
    pub ingested_bytes: u64,
    /// KV bytes the planner's sample predicted for all the ranges.
    pub estimated_bytes: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRanges {
    pub table_id: i64,
    #[serde(flatten)]
    pub counts: RangeCounts,
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
