//! The backfill's records in the checkpoint store, so a killed backfill
//! resumes without redoing a finished range and without losing one.
//!
//! Under one prefix per (table, index set) — a job's
//! `squall/jobs/<job>/backfill/<table id>/<index set>/`, or for `squall
//! index backfill` `squall/index-backfill/<db.table>/<index set>/`:
//! * `plan`: the snapshot ts the rows are read at (kept, so a rerun reads
//!   the same rows; the job's or the command's GC safepoint holds it), the
//!   detection ts, every range (a physical table's record range cut at PD's
//!   region boundaries, in key order), and the contiguous finished prefix,
//!   written as it advances;
//! * `r<n>`: range `n`'s commit ts (a TSO stored *before* any of its entries
//!   is written, so a rerun rewrites the same versions) and, once ingested,
//!   what it did.
//!
//! A range record is a whole task (range, snapshot in the plan, commit ts):
//! in a cluster the queue hands them to workers as they are (the message
//! names the record), and the worker writes the result, or the conflicts
//! it found, or why it failed for good, back into it.

use serde::{Deserialize, Serialize};
use squall_codec::KvChecksum;
use squall_common::checkpoint::Record;

use super::build::UniqueConflict;

/// Format version of both records.
pub const BACKFILL_RECORD_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BackfillPlan {
    pub version: u32,
    /// `db.table`, for people reading the store.
    pub table: String,
    /// The indexes built (IDs, ascending).
    pub indexes: Vec<i64>,
    /// The snapshot the rows are read at.
    pub ts: u64,
    /// A TSO taken before any range's commit ts: entries newer than it are
    /// this backfill's (the cross-range unique check's `min_commit_ts`).
    pub start_ts: u64,
    pub ranges: Vec<RangeSpec>,
    /// Ranges `0..finished_prefix` are all done.
    pub finished_prefix: u64,
    /// The end key (hex) of the last range of that prefix; empty when none.
    pub finished_through: String,
}

/// One range of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RangeSpec {
    /// The physical table (a partition's ID, or the table's).
    pub pid: i64,
    /// Raw keys, hex.
    pub start: String,
    pub end: String,
}

impl RangeSpec {
    pub fn keys(&self) -> (Vec<u8>, Vec<u8>) {
        // Written by this module from raw keys: hex always decodes.
        (
            hex::decode(&self.start).unwrap_or_default(),
            hex::decode(&self.end).unwrap_or_default(),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RangeRecord {
    pub version: u32,
    pub pid: i64,
    pub start: String,
    pub end: String,
    /// Every entry of the range is written at this ts.
    pub commit_ts: u64,
    /// Set once the range's entries are ingested.
    pub done: Option<RangeDone>,
    /// Unique conflicts inside the range (nothing of it ingested), found
    /// by a worker: the coordinator fails the table naming them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<RangeConflict>,
    /// Why a worker gave the range up (its deliveries used up, or an
    /// error no retry helps): the coordinator fails the table with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Times the range was handed out again after a conflict or a failure
    /// (a rerun of the job): part of its queue message id, which JetStream
    /// would otherwise drop as a duplicate.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reopened: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl RangeRecord {
    /// Neither done nor given up: a worker has it or will.
    pub fn unsettled(&self) -> bool {
        self.done.is_none() && self.conflicts.is_empty() && self.failed.is_none()
    }
}

/// A unique conflict as stored (`build::UniqueConflict`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RangeConflict {
    pub index: String,
    pub value: String,
    pub handles: [String; 2],
    /// Both rows' column values (absent in records written before they
    /// were kept, and when the rows could not be read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<String>,
}

impl From<&UniqueConflict> for RangeConflict {
    fn from(c: &UniqueConflict) -> Self {
        Self {
            index: c.index.clone(),
            value: c.value.clone(),
            handles: c.handles.clone(),
            rows: c.rows.clone(),
        }
    }
}

impl From<&RangeConflict> for UniqueConflict {
    fn from(c: &RangeConflict) -> Self {
        Self {
            index: c.index.clone(),
            value: c.value.clone(),
            handles: c.handles.clone(),
            rows: c.rows.clone(),
        }
    }
}

/// What a finished range did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RangeDone {
    pub rows: u64,
    /// Entries ingested.
    pub entries: u64,
    /// Of every entry derived, per index ID.
    pub indexes: Vec<(i64, KvChecksum)>,
}

impl Record for BackfillPlan {
    fn format_version(&self) -> u32 {
        self.version
    }
}

impl Record for RangeRecord {
    fn format_version(&self) -> u32 {
        self.version
    }
}

/// Where one backfill's records live.
#[derive(Debug, Clone)]
pub struct BackfillKeys {
    prefix: String,
}

impl BackfillKeys {
    /// Inside import job `job_id`.
    pub fn in_job(job_id: &str, table_id: i64, indexes: &[i64]) -> Self {
        Self {
            prefix: format!(
                "squall/jobs/{job_id}/backfill/{table_id}/{}/",
                index_set(indexes)
            ),
        }
    }

    /// For `squall index backfill` of `table` (`db.table`), `index` or all.
    pub fn standalone(table: &str, index: Option<&str>) -> Self {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| match c {
                    'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
                    _ => '_',
                })
                .collect()
        };
        let set = index.map_or_else(|| "all".to_string(), |i| clean(&i.to_lowercase()));
        Self {
            prefix: format!("squall/index-backfill/{}/{set}/", clean(table)),
        }
    }

    /// Every backfill of a job (the status API sums them).
    pub fn job_prefix(job_id: &str) -> String {
        format!("squall/jobs/{job_id}/backfill/")
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn plan(&self) -> String {
        format!("{}plan", self.prefix)
    }

    pub fn range(&self, n: usize) -> String {
        format!("{}r{n:06}", self.prefix)
    }

    pub fn ranges_prefix(&self) -> String {
        format!("{}r", self.prefix)
    }
}

/// `i1-2-3`: the index IDs built.
fn index_set(indexes: &[i64]) -> String {
    let ids: Vec<String> = indexes.iter().map(ToString::to_string).collect();
    format!("i{}", ids.join("-"))
}

/// The new contiguous finished prefix: from `from`, every range `done` says
/// is finished.
pub fn advance_prefix(from: u64, done: impl Fn(usize) -> bool, len: usize) -> u64 {
    let mut n = from as usize;
    while n < len && done(n) {
        n += 1;
    }
    n as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_table_and_index_set() {
        let k = BackfillKeys::in_job("j1", 100, &[1, 3]);
        assert_eq!(k.plan(), "squall/jobs/j1/backfill/100/i1-3/plan");
        assert_eq!(k.range(7), "squall/jobs/j1/backfill/100/i1-3/r000007");
        let s = BackfillKeys::standalone("db.t x", Some("Ua"));
        assert_eq!(s.plan(), "squall/index-backfill/db.t_x/ua/plan");
    }

    #[test]
    fn the_prefix_stops_at_the_first_unfinished_range() {
        let done = [true, true, false, true];
        assert_eq!(advance_prefix(0, |i| done[i], 4), 2);
        assert_eq!(advance_prefix(2, |i| done[i], 4), 2);
        assert_eq!(advance_prefix(3, |i| done[i], 4), 4);
    }

    #[test]
    fn a_range_record_round_trips() {
        let r = RangeRecord {
            version: BACKFILL_RECORD_VERSION,
            pid: 5,
            start: "74".into(),
            end: "75".into(),
            commit_ts: 9,
            conflicts: Vec::new(),
            failed: None,
            reopened: 0,
            done: Some(RangeDone {
                rows: 2,
                entries: 4,
                indexes: vec![(
                    1,
                    KvChecksum {
                        crc: 3,
                        kvs: 2,
                        bytes: 20,
                    },
                )],
            }),
        };
        let json = serde_json::to_string(&r).expect("json");
        assert_eq!(serde_json::from_str::<RangeRecord>(&json).expect("back"), r);
        // Records written before conflicts and failures were kept still read.
        assert!(!json.contains("conflicts") && !json.contains("failed"));
        let old = r#"{"version":1,"pid":5,"start":"74","end":"75","commit-ts":9,"done":null}"#;
        let old: RangeRecord = serde_json::from_str(old).expect("old record");
        assert!(old.unsettled() && old.conflicts.is_empty() && old.reopened == 0);
        let failed = RangeRecord {
            failed: Some("no".into()),
            done: None,
            ..r
        };
        let back: RangeRecord =
            serde_json::from_str(&serde_json::to_string(&failed).expect("json")).expect("back");
        assert_eq!(back, failed);
        assert!(!back.unsettled());
        // Conflicts stored before they carried both rows still read.
        let old = r#"{"version":1,"pid":5,"start":"74","end":"75","commit-ts":9,"done":null,
            "conflicts":[{"index":"us","value":"\"x\"","handles":["1","9"]}]}"#;
        let old: RangeRecord = serde_json::from_str(old).expect("old conflicts");
        assert_eq!(old.conflicts[0].handles, ["1".to_string(), "9".to_string()]);
        assert!(old.conflicts[0].rows.is_empty());
        let shown = UniqueConflict::from(&old.conflicts[0]).to_string();
        assert_eq!(
            shown,
            "unique index us: value (\"x\") is held by the rows with handles 1 and 9"
        );
    }
}
