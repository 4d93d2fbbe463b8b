//! Coordinator: plan, schedule, detect duplicates, resolve, verify.
//!
//! * [`plan`]: source → tables → chunks → engines, deterministic, and the
//!   plan in the checkpoint store (each engine's commit ts from PD's TSO,
//!   stored before anything is written).
//! * [`run`]: the runner ([`run_import`]): plan, publish, wait on the engine
//!   records, post-process (duplicate step, checksum), summary; with worker
//!   loops in this process over the in-process queue and the local
//!   checkpoint store (embedded), or over a cluster's store and queue.
//! * [`service`]: `squall coordinator`, the runner behind an HTTP API.
//! * [`checksum`]: the table checksum computed from TiKV.
//! * [`backfill`]: index entries from the rows (`squall index check`).
//! * [`export`]: read a table back from TiKV (`squall export`).
//! * [`scan`]: region-by-region `KvScan` of a key range at a timestamp.
//! * [`precheck`]: what must hold before an import writes anything.
//! * [`gc_safepoint`]: the job's PD service GC safepoint, held while it runs.
//! * [`pd_schedulers`]: PD's balance schedulers and merging, paused while it runs.
//! * [`job_id`]: how a rerun finds its job, and which settings must not change.
//! * [`tidb`]: the SQL steps on the target over the MySQL protocol (create
//!   schemas, table IDs, allocator rebase, ANALYZE), when `tidb.host` is set.

pub mod backfill;
pub mod checksum;
pub mod conflict_report;
pub mod duplicate;
mod error;
pub mod export;
pub mod gc_safepoint;
pub mod job_id;
pub mod pd_schedulers;
pub mod plan;
pub mod precheck;
pub mod resolve;
pub mod run;
pub mod scan;
pub mod service;
pub mod tidb;

pub use error::CoordinatorError;
pub use export::{export_table, ExportFormat, ExportOptions, ExportStats, SchemaSource};
pub use run::{
    run_import, ClusterSeams, ImportOptions, ImportProgress, ImportSummary, Phase, ProgressView,
    Workers,
};
