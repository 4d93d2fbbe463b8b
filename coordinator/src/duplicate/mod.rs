//! Global duplicate detection (issue 7): find every key that two engines, or
//! an engine and the table's earlier data, wrote with different rows; report
//! the conflicting rows; apply the `conflict.strategy`.
//!
//! Entry point: [`detect_and_resolve`] with a [`DuplicateContext`]; the
//! runner calls it after every engine is ingested and before the checksum,
//! then applies each table's [`TableConflictSummary::checksum`] to the merged
//! local checksum before comparing with TiKV.
//!
//! - [`target`]: which ranges are scanned (record range, unique indexes).
//! - [`remote`]: DuplicateDetect region by region (the client's region
//!   walk), resumable.
//! - [`segment`] / [`segmenter`]: checkpointed detection progress.
//! - [`local`]: duplicates found inside one engine (the worker's record).
//! - [`run`]: the order of detect → report → resolve, and restarts.
//! - resolution lives in [`crate::resolve`], the report in
//!   [`crate::conflict_report`].

pub mod cancel;
pub mod context;
pub mod error;
pub mod local;
pub mod pair;
pub mod remote;
pub mod run;
pub mod segment;
pub mod segmenter;
pub mod step;
pub mod strategy;
pub mod summary;
pub mod target;
pub mod worker_files;

#[cfg(test)]
mod e2e;
#[cfg(test)]
pub(crate) mod test_util;

pub use cancel::Cancel;
pub use context::{
    DuplicateContext, EngineSource, TableJob, DEFAULT_CONCURRENCY, DEFAULT_RESOLVE_BATCH_ROWS,
    DEFAULT_SEGMENT_BYTES,
};
pub use error::DuplicateError;
pub use local::{
    InMemoryLocalDuplicates, LocalDuplicate, LocalDuplicateSource, NoLocalDuplicates, SourcePos,
};
pub use run::detect_and_resolve;
pub use step::GlobalDuplicates;
pub use strategy::ConflictStrategy;
pub use summary::{ConflictSummary, TableConflictSummary};
pub use worker_files::WorkerDuplicateFiles;
