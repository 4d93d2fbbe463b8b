//! The engine task: read chunks, convert and encode rows, sort, ingest, record.
//!
//! * [`message`]: the queue payload ([`EngineTask`]: job, table, engine).
//! * [`lease`]: a task's checkpoint record as a lease (attempt +
//!   compare-and-swap); [`claim`] and `range_claim` adapt the engine and
//!   range records to it.
//! * [`run`]: one task end to end ([`run_engine_task`]).
//! * [`encode`]: one chunk → KVs in the local engine; [`columns`] and
//!   [`partition`] decide where each field goes; [`row_tag`] marks each KV
//!   with its source row; [`rejects`] holds the `max-error` budget and file.
//! * [`engine_kvs`], [`duplicates`]: the local engine as ingest's source, and
//!   the local duplicate report.
//! * [`disk_full`]: a full disk under the local engines, recognised and measured.
//! * [`backfill_range`]: an index backfill range, run by the runner the
//!   worker was given.
//! * [`worker_loop`]: pull, heartbeat, run, ack/nak ([`run_worker`]).

pub mod auto_ids;
pub mod backfill_range;
pub mod claim;
pub mod columns;
mod context;
pub mod disk_full;
pub mod duplicates;
pub mod early_import;
pub mod encode;
pub mod engine_kvs;
mod error;
pub mod lease;
pub mod message;
pub mod partition;
mod pre_split;
mod progress;
mod range_claim;
mod range_run;
pub mod rejects;
pub mod row_tag;
pub mod run;
pub mod runs;
pub mod spec;
pub mod worker_loop;

pub use backfill_range::{BackfillRangeOutcome, BackfillRangeRunner, SharedBackfillRunner};
pub use context::{SharedWorkerContext, WorkerContext};
pub use error::TaskError;
pub use message::{BackfillRangeTask, EngineTask, IngestRangeTask, Task};
pub use progress::{ProgressSnapshot, WorkerProgress};
pub use rejects::ErrorBudget;
pub use run::{run_engine_task, TaskOutcome};
pub use spec::{source_from_spec, spec_from_source};
pub use worker_loop::{run_worker, MAX_DELIVERIES};
