//! Checkpoints: the job's progress, behind a store trait (a local directory in
//! embedded mode, etcd when distributed).
//!
//! * [`store`]: the [`CheckpointStore`] seam, a key/value store with revisions
//!   and compare-and-swap that maps 1:1 onto etcd's KV and Txn API.
//! * [`local`]: [`LocalCheckpointStore`], one file per key, crash safe.
//! * [`records`]: the job, table and engine records and their state machines.
//! * [`control`]: the operator's pause / resume / cancel of a job.
//! * [`keys`]: where each record lives.
//! * [`typed`]: JSON encoding, version checks and a read-modify-CAS loop.
//! * `testsuite` (tests and the `testsuite` feature): the contract every store
//!   implementation must pass, stamped out by [`checkpoint_store_test_suite!`].

pub mod control;
mod int_keyed;
pub mod keys;
mod local;
pub mod ranges;
pub mod records;
mod store;
pub mod typed;

#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;

pub use control::{Control, ControlAction, JobControl};
pub use local::LocalCheckpointStore;
pub use ranges::{RangeCheckpoint, RangeResult, RangeState, RunSummary};
pub use records::{
    ChunkSpec, EngineCheckpoint, EngineResult, EngineState, JobCheckpoint, JobState,
    JobSummaryRecord, PartitionRecord, SourceFileSpec, TableCheckpoint, TableState, TableStep,
    TableTotals, RECORD_VERSION,
};
pub use store::{
    validate_key, CasOutcome, CheckpointError, CheckpointStore, Revision, Versioned, MAX_KEY_LEN,
};
pub use typed::{Decision, Record, Stored, Swap};

/// The store as the rest of Squall holds it.
pub type SharedCheckpointStore = std::sync::Arc<dyn CheckpointStore>;
