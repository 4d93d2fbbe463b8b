//! The engine ranges' ingest progress (`squall.engine-ranges`) as
//! `GET /jobs/{id}` shows it: summed from the range records, so every
//! coordinator (leader or standby) and every client sees the same figures
//! the runner's log lines give ("engine ranges ingested").

use std::collections::BTreeMap;

use squall_common::checkpoint::{keys, typed, CheckpointError, CheckpointStore};
use squall_common::checkpoint::{RangeCheckpoint, RangeState};

use super::wire::{RangeCounts, RangesStatus, TableRanges};

/// The ranges of job `job_id`; `None` when it has none (ranges off, or not
/// planned yet).
pub async fn job_ranges_status(
    store: &dyn CheckpointStore,
    job_id: &str,
) -> Result<Option<RangesStatus>, CheckpointError> {
    let ranges: Vec<typed::Stored<RangeCheckpoint>> =
        typed::read_all(store, &keys::ranges_prefix(job_id)).await?;
    Ok(summarise(ranges.iter().map(|r| &r.record)))
}

pub(super) fn summarise<'a>(
    ranges: impl Iterator<Item = &'a RangeCheckpoint>,
) -> Option<RangesStatus> {
    let mut tables: BTreeMap<i64, RangeCounts> = BTreeMap::new();
    for r in ranges {
        tables.entry(r.table_id).or_default().add(r);
    }
    if tables.is_empty() {
        return None;
    }
    let mut total = RangeCounts::default();
    for t in tables.values() {
        total.merge(t);
    }
    let tables = tables
        .into_iter()
        .map(|(table_id, counts)| TableRanges { table_id, counts })
        .collect();
    Some(RangesStatus { total, tables })
}

impl RangeCounts {
    fn add(&mut self, r: &RangeCheckpoint) {
        self.ranges_total += 1;
        self.estimated_bytes += r.estimated_bytes;
        match &r.state {
            RangeState::Pending => {}
            RangeState::Running { .. } => self.ranges_running += 1,
            RangeState::Done(d) => {
                self.ranges_done += 1;
                self.ingested_kvs += d.kvs;
                self.ingested_bytes += d.bytes;
            }
            RangeState::Failed { .. } => self.ranges_failed += 1,
        }
    }

    fn merge(&mut self, o: &RangeCounts) {
        self.ranges_total += o.ranges_total;
        self.ranges_done += o.ranges_done;
        self.ranges_running += o.ranges_running;
        self.ranges_failed += o.ranges_failed;
        self.ingested_kvs += o.ingested_kvs;
        self.ingested_bytes += o.ingested_bytes;
        self.estimated_bytes += o.estimated_bytes;
    }
}

#[cfg(test)]
mod tests {
    use squall_common::checkpoint::{LocalCheckpointStore, RangeResult, RECORD_VERSION};

    use super::*;

    fn range(table_id: i64, range_id: u32, state: RangeState) -> RangeCheckpoint {
        RangeCheckpoint {
            version: RECORD_VERSION,
            job_id: "j".into(),
            table_id,
            range_id,
            start: vec![range_id as u8],
            end: vec![range_id as u8 + 1],
            estimated_bytes: 100,
            commit_ts: 7,
            attempt: 1,
            state,
        }
    }

    fn done(kvs: u64, bytes: u64) -> RangeState {
        RangeState::Done(RangeResult {
            kvs,
            bytes,
            ..RangeResult::default()
        })
    }

    #[tokio::test]
    async fn ranges_are_counted_per_table_and_for_the_job() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = LocalCheckpointStore::open(dir.path()).expect("store");
        assert_eq!(job_ranges_status(&store, "j").await.expect("read"), None);
        let running = RangeState::Running {
            attempt: 1,
            worker: "w".into(),
            started_unix_ms: 1,
        };
        let failed = RangeState::Failed {
            attempt: 1,
            reason: "r".into(),
        };
        let records = [
            range(5, 0, done(10, 1000)),
            range(5, 1, running),
            range(5, 2, RangeState::Pending),
            range(9, 0, done(3, 30)),
            range(9, 1, failed),
        ];
        for r in &records {
            let key = keys::range("j", r.table_id, r.range_id);
            typed::write(&store, &key, r).await.expect("write");
        }
        let s = job_ranges_status(&store, "j")
            .await
            .expect("read")
            .expect("the job has ranges");
        let want = RangeCounts {
            ranges_total: 5,
            ranges_done: 2,
            ranges_running: 1,
            ranges_failed: 1,
            ingested_kvs: 13,
            ingested_bytes: 1030,
            estimated_bytes: 500,
        };
        assert_eq!(s.total, want);
        let per_table: Vec<(i64, u64, u64, u64)> = s
            .tables
            .iter()
            .map(|t| {
                let c = t.counts;
                (t.table_id, c.ranges_total, c.ranges_done, c.ingested_bytes)
            })
            .collect();
        assert_eq!(per_table, [(5, 3, 1, 1000), (9, 2, 1, 30)]);
        // The job's counts sit at the top of the JSON, beside the tables'.
        let json = serde_json::to_value(&s).expect("JSON");
        assert_eq!(json["ranges_done"], 2);
        assert_eq!(json["tables"][1]["table_id"], 9);
        assert_eq!(json["tables"][1]["ranges_failed"], 1);
        assert_eq!(
            serde_json::from_value::<RangesStatus>(json).expect("reads"),
            s
        );
        // Another job's records are not counted.
        assert_eq!(job_ranges_status(&store, "k").await.expect("read"), None);
    }
}
