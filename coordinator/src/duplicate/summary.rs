//! What detection and resolution report back to the runner (and keep in the
//! checkpoint, so a restarted coordinator reports the same numbers).

use serde::{Deserialize, Serialize};
use squall_common::checkpoint::{Record, RECORD_VERSION};

use super::strategy::ConflictStrategy;
use crate::resolve::checksum::ChecksumAdjustment;

/// One table's conflicts and what resolution did about them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TableConflictSummary {
    pub table_id: i64,
    /// `db.table`.
    pub table: String,
    /// Versions DuplicateDetect reported for the table.
    pub remote_versions: u64,
    /// Copies of keys recorded by the engines as local duplicates.
    pub local_copies: u64,
    /// Unique keys (record keys, unique index entries) held by several rows.
    pub conflict_keys: u64,
    /// Distinct source rows involved in a conflict.
    pub conflict_rows: u64,
    pub kept_rows: u64,
    pub removed_rows: u64,
    /// Mutations resolution wrote: KVs of kept rows written again, and keys
    /// of removed rows deleted.
    pub put_kvs: u64,
    pub deleted_kvs: u64,
    /// Apply to the table's merged local checksum before comparing with TiKV.
    pub checksum: ChecksumAdjustment,
    /// Commit ts of the resolution writes (0 when nothing was written).
    pub resolve_ts: u64,
    pub report_jsonl: String,
    pub report_csv: String,
}

/// Every table's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConflictSummary {
    pub strategy: ConflictStrategy,
    pub tables: Vec<TableConflictSummary>,
}

impl ConflictSummary {
    pub fn conflict_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.conflict_rows).sum()
    }

    pub fn table(&self, table_id: i64) -> Option<&TableConflictSummary> {
        self.tables.iter().find(|t| t.table_id == table_id)
    }
}

/// Where one table's conflict handling stands (checkpointed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TableConflictState {
    pub version: u32,
    pub table_id: i64,
    /// Every detection range of the table is covered by stored segments.
    pub detected: bool,
    /// Rows are read at this ts (fixed once, before any resolution write,
    /// so a restart reads exactly the same rows).
    pub read_ts: Option<u64>,
    /// Resolution writes at this ts (fixed once, so a restart rewrites the
    /// same versions).
    pub resolve_ts: Option<u64>,
    pub resolved: bool,
    pub summary: Option<TableConflictSummary>,
}

impl TableConflictState {
    pub fn new(table_id: i64) -> Self {
        Self {
            version: RECORD_VERSION,
            table_id,
            detected: false,
            read_ts: None,
            resolve_ts: None,
            resolved: false,
            summary: None,
        }
    }
}

impl Record for TableConflictState {
    fn format_version(&self) -> u32 {
        self.version
    }
}

/// Table states live apart from the (many) detection segments, so listing
/// them is cheap.
pub fn states_prefix(job_id: &str) -> String {
    format!("squall/jobs/{job_id}/conflict-states/")
}

pub fn state_key(job_id: &str, table_id: i64) -> String {
    format!("{}{table_id:012}", states_prefix(job_id))
}
