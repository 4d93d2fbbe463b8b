//! Index backfill and check: a table's secondary index entries derived
//! from its rows as stored in TiKV, with the import's encoder.
//!
//! * [`target`]: which table and indexes.
//! * [`entries`]: a stored row back to its index entries.
//! * [`check`]: `squall index check`, stored entries against derived ones.
//! * [`ranges`]: a record range cut at region boundaries.
//! * [`build`]: one physical table's entries: scan, sort, ingest.
//! * [`run`]: `squall index backfill`, embedded.
//! * [`session`]: the table, clients and GC-held snapshot both commands start from.

pub mod build;
pub mod check;
pub mod entries;
pub mod ranges;
pub mod run;
mod session;
pub mod target;

pub use build::{BuildStats, UniqueConflict};
pub use check::{check_index, CheckOptions, CheckReport, IndexProblem, ProblemKind};
pub use run::{backfill_index, BackfillOptions, BackfillReport};
pub use target::IndexTarget;
