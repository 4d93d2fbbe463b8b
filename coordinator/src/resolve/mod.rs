//! Conflict resolution: from detected versions and local duplicates to the
//! conflicting rows, decoded, and the writes that apply the strategy.
//!
//! - [`rows`]: which source rows are involved and where their values come from.
//! - [`fetch`]: KvBatchGet of rows reached through index conflicts.
//! - [`locate`]: source positions of rows no engine recorded.
//! - [`decode`] / [`derive`]: a row to its column values and back to its KVs.
//! - [`analyze`]: rows grouped by the unique keys they share (all at once).
//! - [`group`] / [`batch`]: the same, paged: a compact grouping of the whole
//!   table, then batches of `conflict.resolve-batch-rows` rows.
//! - [`order`] / [`decide`]: source order and each row's fate.
//! - [`writeset`] / [`apply`]: the Puts and Deletes, written at a newer ts.
//! - [`checksum`]: how the expected table checksum changes.
//! - [`table`]: all of it for one table.
//! - [`stream`] / [`shard`] / [`spill`]: the same within
//!   `conflict.resolve-memory`: a table over it is cut into shards of whole
//!   connected sets, spilled to disk and planned one at a time.

pub mod analyze;
pub mod apply;
pub mod batch;
pub mod checksum;
pub mod decide;
pub mod decode;
pub mod derive;
pub mod fetch;
pub mod group;
pub mod locate;
pub mod order;
pub mod rows;
pub mod shard;
pub mod spill;
pub mod stream;
pub mod table;
pub mod writeset;

#[cfg(test)]
mod tests;

pub use apply::{RegionWriter, ResolutionWriter};
pub use checksum::ChecksumAdjustment;
pub use locate::SourceRows;
pub use writeset::{Mutation, WriteSet};
