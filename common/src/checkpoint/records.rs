//! The typed records a job keeps in the checkpoint store: one job record, one
//! record per table and one per engine. They are JSON (readable with
//! `etcdctl get`, diffable in golden files) and carry a format `version`.
//!
//! Exactly-once rests on two fields of [`EngineCheckpoint`]: `commit_ts` is
//! fixed from PD's TSO and stored *before* anything is written to TiKV, so a
//! re-run of the engine rewrites the same keys at the same timestamp; and
//! `attempt` is bumped by every worker that claims the engine, so a result is
//! recorded with a compare-and-swap that only the latest claimant can win.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checksum::KvChecksum;
use crate::schema::TableInfo;

/// Format version written by this build; records with a larger one are refused.
///
/// 2: the table ladder lost its `failed` and `duplicates-detected` rungs
/// (failures are `last_error`); version-1 table records in those states
/// cannot be read.
pub const RECORD_VERSION: u32 = 2;

/// The whole import job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct JobCheckpoint {
    pub version: u32,
    pub job_id: String,
    /// Source directory as given (canonicalized).
    pub source_dir: String,
    pub pd_addrs: Vec<String>,
    /// Hash of the config settings that change the KVs produced (source
    /// parsing, SQL mode, time zone, table IDs, engine size). A resume under a
    /// different hash is refused.
    pub config_hash: String,
    /// What the source held when the job was created (its tables' files and
    /// sizes): a rerun on a changed source is another dump, refused instead
    /// of answered "already imported". Empty in records from before it.
    #[serde(default)]
    pub source_fingerprint: String,
    pub state: JobState,
    /// A TSO taken before any engine's commit ts: every KV this job ingests has
    /// a newer commit ts, so duplicate detection uses it as `min_commit_ts`.
    pub start_ts: u64,
    /// Milliseconds since the Unix epoch when the job was first planned.
    pub created_unix_ms: u64,
    /// Filled in when the job ends.
    pub summary: Option<JobSummaryRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum JobState {
    /// Table and engine records are being written; a resume re-plans and
    /// keeps every engine record that already exists.
    Planning,
    /// The plan is complete; engines are being encoded and ingested.
    Importing,
    /// All engines are done; duplicate detection and checksums run.
    PostProcessing,
    /// Every table's checksum was compared with TiKV's and matched.
    Verified,
    /// Finished without a verification: a table's checksum was not compared
    /// (`post-restore.checksum = "off"`) or an `optional` one mismatched.
    /// The job's summary names the tables.
    Imported,
    Failed {
        reason: String,
    },
    /// The operator cancelled the job (see `control`); what was written
    /// stays in TiKV and in the checkpoints. Submitting the job again goes
    /// on from there.
    #[serde(rename_all = "kebab-case")]
    Cancelled {
        /// Engines encoded and ingested when the job stopped.
        engines_done: u64,
        /// Rows those engines ingested.
        rows: u64,
    },
}

impl JobState {
    /// Nothing more happens to the job unless it is submitted again.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Verified | Self::Imported | Self::Failed { .. } | Self::Cancelled { .. }
        )
    }
}

/// Totals stored with a finished job (the printed summary).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct JobSummaryRecord {
    pub tables: u64,
    pub engines: u64,
    pub rows: u64,
    pub kvs: u64,
    pub kv_bytes: u64,
    pub source_bytes: u64,
    pub local_duplicates: u64,
    pub remote_duplicates: u64,
    pub skipped_rows: u64,
    pub warnings: u64,
    pub elapsed_ms: u64,
}

/// One target table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TableCheckpoint {
    pub version: u32,
    pub table: TableInfo,
    /// `AUTO_INCREMENT = n` / `AUTO_RANDOM_BASE = n` table options.
    pub auto_increment_base: Option<u64>,
    pub auto_random_base: Option<u64>,
    /// Partitioning: rows are stored under the partitions' physical IDs.
    pub partition: Option<PartitionRecord>,
    pub engine_count: u32,
    /// Source bytes of all the table's chunks.
    pub source_bytes: u64,
    pub state: TableState,
    /// Merged engine results, set when the table reaches `Ingested`.
    pub local: Option<TableTotals>,
    /// Checksum read back from TiKV, set by the verify step.
    pub remote: Option<KvChecksum>,
    /// Why the last attempt at the table's next step failed (cleared when a
    /// step finishes). Interruptions are not failures and leave no note.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// A partitioned table's partitions (mirrors the source crate's `PartitionInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionRecord {
    /// `RANGE COLUMNS`, `HASH`, `LIST`, ...
    pub kind: String,
    /// The partitioning expression or column list, as written.
    pub expr: String,
    /// `(name, physical table ID)` in declaration order.
    pub partitions: Vec<(String, i64)>,
    /// The parsed scheme the worker routes rows with (absent in records
    /// written before Squall routed RANGE/LIST/KEY partitions).
    #[serde(default)]
    pub scheme: Option<crate::schema::PartitionScheme>,
}

impl TableCheckpoint {
    /// Every physical table ID the table's rows live under.
    pub fn physical_ids(&self) -> Vec<i64> {
        match &self.partition {
            Some(p) if !p.partitions.is_empty() => p.partitions.iter().map(|(_, id)| *id).collect(),
            _ => vec![self.table.id],
        }
    }
}

/// How far a table got: the last post-processing step that *finished*. The
/// ladder has no failure rung on purpose: a step that failed or was
/// interrupted leaves the state where it was (a failure is noted in
/// [`TableCheckpoint::last_error`]), so a rerun redoes exactly the steps
/// that did not finish, and [`TableState::next_step`] is the one place that
/// decides what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum TableState {
    /// Engines are still being imported.
    Pending,
    /// Every engine of the table is encoded and ingested; results merged.
    Ingested,
    /// Global duplicate detection ran and the conflict strategy was applied.
    Resolved,
    /// `squall.index-mode = "after-data"`: every written index was built
    /// from the imported rows (the backfill; its range records say how far
    /// an unfinished one got). A `with-data` table passes it at once.
    IndexesBuilt,
    /// The checksum step finished: TiKV's checksum was compared with the
    /// expected one (`TableCheckpoint::remote` holds it), or checksums are
    /// off (`remote` is `None`). Shown as `post-processed`, not as
    /// "verified": whether it matched is the job summary's to say. Records
    /// written before the rename say `checksum-verified`.
    #[serde(rename = "post-processed", alias = "checksum-verified")]
    ChecksumVerified,
}

/// A post-processing step, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableStep {
    /// Merge the engines' results (→ `Ingested`).
    Merge,
    /// Detect duplicates across engines, report and resolve (→ `Resolved`).
    Duplicates,
    /// Build the indexes from the rows when the job writes them after the
    /// data; nothing otherwise (→ `IndexesBuilt`).
    Backfill,
    /// Compare the checksum with TiKV's (→ `ChecksumVerified`).
    Checksum,
}

impl TableState {
    /// The step that takes the table to its next state; `None` when done.
    pub fn next_step(self) -> Option<TableStep> {
        match self {
            Self::Pending => Some(TableStep::Merge),
            Self::Ingested => Some(TableStep::Duplicates),
            Self::Resolved => Some(TableStep::Backfill),
            Self::IndexesBuilt => Some(TableStep::Checksum),
            Self::ChecksumVerified => None,
        }
    }

    /// The state a finished `step` leads to.
    pub fn after(step: TableStep) -> Self {
        match step {
            TableStep::Merge => Self::Ingested,
            TableStep::Duplicates => Self::Resolved,
            TableStep::Backfill => Self::IndexesBuilt,
            TableStep::Checksum => Self::ChecksumVerified,
        }
    }
}

/// What a table's engines produced, merged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TableTotals {
    pub rows: u64,
    /// Data and every index together: the quantity compared with TiKV.
    pub checksum: KvChecksum,
    pub data: KvChecksum,
    #[serde(with = "super::int_keyed", default)]
    pub indexes: BTreeMap<i64, KvChecksum>,
    pub local_duplicates: u64,
    pub skipped_rows: u64,
    pub warnings: u64,
    /// Rows the global duplicate step reported as conflicting.
    #[serde(default)]
    pub conflicts: u64,
    /// Wall time of duplicate detection and resolution.
    #[serde(default)]
    pub duplicate_ms: u64,
    /// Largest of the engines' [`EngineResult::max_row_id`].
    #[serde(default)]
    pub max_row_id: i64,
    /// Largest of the engines' [`EngineResult::max_auto_id`].
    #[serde(default)]
    pub max_auto_id: i64,
}

impl TableTotals {
    pub fn add(&mut self, r: &EngineResult) {
        self.rows += r.rows;
        self.data.merge(&r.data);
        self.checksum.merge(&r.data);
        for (id, c) in &r.indexes {
            self.indexes.entry(*id).or_default().merge(c);
            self.checksum.merge(c);
        }
        self.local_duplicates += r.local_duplicates;
        self.skipped_rows += r.skipped_rows;
        self.warnings += r.warnings;
        self.max_row_id = self.max_row_id.max(r.max_row_id);
        self.max_auto_id = self.max_auto_id.max(r.max_auto_id);
    }
}

/// A source file as the plan refers to it (mirrors the source crate's
/// `DataFile`; kept here so the stored format belongs to the store).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SourceFileSpec {
    /// Path relative to the job's source directory, `/`-separated.
    pub path: String,
    /// `csv`, `sql` or `parquet`.
    pub format: String,
    /// `none`, `gzip` or `zstd`.
    pub compression: String,
    /// Size in bytes when planned.
    pub size: u64,
    pub sort_key: String,
}

/// One chunk of one source file: a byte range that starts and ends at row
/// boundaries, and the `_tidb_rowid` range its rows take (mirrors the source
/// crate's `Chunk`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ChunkSpec {
    pub file: SourceFileSpec,
    /// Position of the chunk in the table's chunk list (row tags use it).
    pub ordinal: u32,
    /// Index of the file in the table's data files.
    pub file_index: u32,
    /// Rows starting in `start..end` (decompressed offsets).
    pub start: u64,
    pub end: u64,
    pub start_line: Option<u64>,
    pub est_rows: u64,
    /// Row IDs `row_id_base + 1 ..= row_id_max` belong to this chunk.
    pub row_id_base: i64,
    pub row_id_max: i64,
    /// Column names for a chunk that does not start its file (CSV header, or
    /// the column list of the INSERT the chunk starts inside).
    pub columns: Option<Vec<String>>,
    /// SQL only: the chunk starts at a tuple inside a `VALUES` list.
    pub sql_in_values: bool,
}

/// One engine: a group of one table's chunks, encoded, sorted and ingested
/// as a unit by one worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EngineCheckpoint {
    pub version: u32,
    pub job_id: String,
    pub table_id: i64,
    pub engine_id: u32,
    /// Commit timestamp of every KV of this engine, from PD's TSO, fixed at plan time.
    pub commit_ts: u64,
    pub chunks: Vec<ChunkSpec>,
    pub source_bytes: u64,
    /// Bumped by each worker that claims the engine (compare-and-swap guard).
    pub attempt: u32,
    pub state: EngineState,
}

impl EngineCheckpoint {
    /// The part of the record the planner decides; a re-plan must equal it.
    pub fn same_plan(&self, other: &EngineCheckpoint) -> bool {
        self.job_id == other.job_id
            && self.table_id == other.table_id
            && self.engine_id == other.engine_id
            && self.chunks == other.chunks
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum EngineState {
    Pending,
    Running {
        attempt: u32,
        worker: String,
        started_unix_ms: u64,
        /// Set once the local engine is fully encoded and sorted: a worker
        /// that still has the engine on disk after a restart goes straight to
        /// ingest instead of encoding again.
        #[serde(default)]
        encoded: Option<EngineResult>,
    },
    Done(EngineResult),
    /// The engine failed for a reason a retry will not fix (bad input, error
    /// budget exhausted). Transient failures are retried, not recorded here.
    Failed {
        attempt: u32,
        reason: String,
    },
}

/// What a finished engine produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EngineResult {
    pub attempt: u32,
    /// The worker that did this attempt (`embedded-<pid>` or a cluster
    /// worker's `--id`); empty in records written before it was kept.
    #[serde(default)]
    pub worker: String,
    pub rows: u64,
    pub data: KvChecksum,
    /// Per index ID.
    #[serde(with = "super::int_keyed", default)]
    pub indexes: BTreeMap<i64, KvChecksum>,
    /// KV pairs ingested and their bytes (data and indexes, duplicates excluded).
    pub kvs: u64,
    pub bytes: u64,
    /// Keys written more than once inside the engine (extra copies not ingested).
    pub local_duplicates: u64,
    /// Rows skipped for conversion errors (within `max-error`).
    pub skipped_rows: u64,
    pub warnings: u64,
    pub encode_ms: u64,
    pub ingest_ms: u64,
    /// Largest row ID (`_tidb_rowid`, or the handle an integer primary key
    /// did not give) of an imported row; 0 when none. TiDB's row ID
    /// allocator is rebased past it after the import.
    #[serde(default)]
    pub max_row_id: i64,
    /// Largest AUTO_INCREMENT value, or the auto-ID bits of an AUTO_RANDOM
    /// value, of an imported row; 0 when the table has neither.
    #[serde(default)]
    pub max_auto_id: i64,
    /// With engine ranges: the run files this attempt wrote, one per range
    /// its KVs fall in (ingest tasks read exactly these); `kvs`/`bytes`
    /// then count what was encoded, duplicates included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<super::RunSummary>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finished table is shown as post-processed, never as "verified"
    /// (its checksum may be off); records of older builds still load.
    #[test]
    fn the_last_table_state_does_not_claim_verification() {
        let shown = serde_json::to_string(&TableState::ChecksumVerified).expect("JSON");
        assert_eq!(shown, r#"{"state":"post-processed"}"#);
        let old: TableState =
            serde_json::from_str(r#"{"state":"checksum-verified"}"#).expect("old name");
        assert_eq!(old, TableState::ChecksumVerified);
        let job = serde_json::to_string(&JobState::Imported).expect("JSON");
        assert_eq!(job, r#"{"state":"imported"}"#);
    }

    /// Index checksums are keyed by integer index ID; inside the tagged
    /// `EngineState` they must survive a JSON round trip.
    #[test]
    fn engine_state_with_index_checksums_round_trips_through_json() {
        let mut r = EngineResult::default();
        r.indexes.insert(
            1,
            KvChecksum {
                crc: 7,
                kvs: 1,
                bytes: 9,
            },
        );
        r.indexes.insert(-3, KvChecksum::default());
        for state in [
            EngineState::Done(r.clone()),
            EngineState::Running {
                attempt: 2,
                worker: "w".into(),
                started_unix_ms: 5,
                encoded: Some(r.clone()),
            },
        ] {
            let json = serde_json::to_string(&state).expect("serializes");
            let back: EngineState = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, state, "{json}");
        }
    }

    #[test]
    fn checksum_merge_is_xor_and_sum() {
        let mut a = KvChecksum {
            crc: 0b1100,
            kvs: 2,
            bytes: 10,
        };
        a.merge(&KvChecksum {
            crc: 0b1010,
            kvs: 3,
            bytes: 5,
        });
        assert_eq!(
            a,
            KvChecksum {
                crc: 0b0110,
                kvs: 5,
                bytes: 15
            }
        );
    }

    #[test]
    fn table_totals_merge_data_and_indexes() {
        let r = EngineResult {
            rows: 2,
            data: KvChecksum {
                crc: 1,
                kvs: 2,
                bytes: 20,
            },
            indexes: BTreeMap::from([(
                1,
                KvChecksum {
                    crc: 2,
                    kvs: 2,
                    bytes: 8,
                },
            )]),
            ..Default::default()
        };
        let mut t = TableTotals::default();
        t.add(&r);
        t.add(&r);
        assert_eq!(t.rows, 4);
        assert_eq!(
            t.checksum,
            KvChecksum {
                crc: 0,
                kvs: 8,
                bytes: 56
            }
        );
        assert_eq!(
            t.indexes[&1],
            KvChecksum {
                crc: 0,
                kvs: 4,
                bytes: 16
            }
        );
    }
}
