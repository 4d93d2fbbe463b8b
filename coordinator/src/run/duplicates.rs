//! The duplicate step of post-processing, as a hook: global duplicate
//! detection (`ImportSST.DuplicateDetect` over every table's record and
//! unique index ranges) and conflict resolution plug in here, between the
//! last ingest and the checksum: [`crate::duplicate::GlobalDuplicates`].

use std::path::Path;

use async_trait::async_trait;
use squall_client::ImportClient;
use squall_codec::KvChecksum;
use squall_common::checkpoint::{JobCheckpoint, TableCheckpoint, TableTotals};
use squall_common::TaskConfig;

use crate::error::CoordinatorError;

/// What the step sees of one table.
pub struct DuplicateContext<'a> {
    pub client: &'a ImportClient,
    pub cfg: &'a TaskConfig,
    pub job: &'a JobCheckpoint,
    pub table: &'a TableCheckpoint,
    /// Merged engine results (local duplicates already excluded).
    pub totals: &'a TableTotals,
    pub output_dir: &'a Path,
}

/// What the step did to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DuplicateOutcome {
    /// Conflicting keys found across engines (or with pre-existing data).
    pub found: u64,
    /// KVs the resolution removed from TiKV: taken off the expected checksum.
    pub removed: KvChecksum,
    /// KVs the resolution added (e.g. `replace` re-ingesting a row).
    pub added: KvChecksum,
}

#[async_trait]
pub trait DuplicateStep: Send + Sync {
    async fn detect_and_resolve(
        &self,
        cx: &DuplicateContext<'_>,
    ) -> Result<DuplicateOutcome, CoordinatorError>;
}
