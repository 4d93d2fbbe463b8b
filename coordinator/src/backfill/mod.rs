//! Index backfill and check: a table's secondary index entries derived
//! from its rows as stored in TiKV, with the import's encoder.
//!
//! * [`target`]: which table and indexes.
//! * [`entries`]: a stored row back to its index entries.
//! * [`check`]: `squall index check`, stored entries against derived ones.
//! * [`ranges`]: a record range cut at region boundaries.
//! * [`build`]: one range's entries: scan, sort, ingest.
//! * [`engine_dir`]: a build's local engine directory, and the sweep of dead builds'.
//! * [`records`]: the plan and range records in the checkpoint store.
//! * [`tasks`]: the ranges as checkpointed tasks, resumed after a kill.
//! * [`queue`]: the same tasks on a cluster's queue, for its workers.
//! * [`worker_task`]: one range as a worker runs it (`squall worker`).
//! * [`detect`]: unique conflicts across ranges (DuplicateDetect).
//! * [`conflict_rows`]: a conflict's two rows read back, to name values and rows.
//! * [`progress`]: rows scanned and entries written.
//! * [`import_step`]: the import's `index-mode = "after-data"` step.
//! * [`run`]: `squall index backfill`, embedded.
//! * [`session`]: the table, clients and GC-held snapshot both commands start from.

pub mod build;
pub mod check;
mod conflict_rows;
mod detect;
mod engine_dir;
pub mod entries;
pub mod import_step;
pub mod progress;
pub mod queue;
pub mod ranges;
pub mod records;
pub mod run;
mod session;
pub mod target;
pub mod tasks;
pub mod worker_task;

pub use build::{BuildStats, UniqueConflict};
pub use check::{check_index, CheckOptions, CheckReport, IndexProblem, ProblemKind};
pub use progress::{job_backfill_status, BackfillProgress, BackfillView};
pub use run::{backfill_index, BackfillOptions, BackfillReport};
pub use target::IndexTarget;
pub use tasks::RANGE_DONE_FAILPOINT;
pub use worker_task::QueueRangeRunner;
