//! A backfill plan run by a cluster's workers: one `backfill-range` task per
//! unfinished range on the job's queue, then the range records polled
//! (with the engines' poll wait, `run::wait_a_poll`) until every range is
//! settled, the plan's finished prefix advanced as ranges finish, and the
//! same end as in-process ([`super::tasks::finish_plan`]: the stats and the
//! unique check across ranges).
//!
//! Each range's commit ts is stored before its task is published, so the
//! worker (and a redelivery, and a second worker) reads it from the record.
//! A restarted coordinator reads the plan and the records and publishes
//! again only the ranges not done: JetStream drops a message id it still
//! remembers (that message is still queued or in a worker's hands), and a
//! second message for one range only builds the same versions again. A
//! range a worker gave up on (its deliveries used up) or found conflicts
//! in fails the table; a rerun of the job reopens it under a new message
//! id (`reopened`).
//!
//! A paused job pauses its backfill as it pauses its engines: the wait
//! passes the job's [`Gate`] (it waits while the job is paused), a worker
//! handed a range of a held job acks it without building it (the range
//! stays unsettled), and when the job goes on (a new control generation)
//! the unsettled ranges are published again, the generation in their
//! message ids so the queue does not drop them as seen.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use squall_common::checkpoint::{typed, CheckpointStore, Decision};
use squall_common::queue::{Published, SharedTaskQueue};
use squall_worker::task::{BackfillRangeTask, TaskError};
use tokio::task::JoinSet;

use super::build::{BuildContext, BuildStats, UniqueConflict};
use super::records::{BackfillKeys, BackfillPlan, RangeRecord};
use super::target::IndexTarget;
use super::tasks::{advance, finish_plan, fix_commit_ts, read_records};
use crate::error::CoordinatorError;
use crate::run::Gate;

/// How often a still-waiting step says which ranges it waits for.
const STILL_WAITING: Duration = Duration::from_secs(60);

/// Where the job's workers take their tasks.
pub struct QueueRun<'a> {
    pub queue: &'a SharedTaskQueue,
    pub job_id: &'a str,
    pub table_id: i64,
    /// The job's control: paused, the wait waits (the workers withdraw
    /// the ranges they are handed); going on, the unsettled ranges are
    /// published again; a cancel or shutdown ends the wait `Interrupted`.
    pub gate: &'a Gate,
}

/// Runs every range of `plan` not done yet on the workers, then checks
/// unique entries across ranges.
pub async fn run_plan_on_queue(
    cx: &BuildContext<'_>,
    target: &IndexTarget,
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
    plan: &BackfillPlan,
    q: &QueueRun<'_>,
) -> Built {
    // Nothing is handed out while the job is paused.
    let mut generation = q.gate.pass().await?.generation;
    let mut records = read_records(store, keys).await?;
    let len = plan.ranges.len();
    cx.progress.add_total(len as u64);
    let mut counted = vec![false; len];
    for (&n, r) in &records {
        if let (Some(d), Some(c)) = (&r.done, counted.get_mut(n)) {
            cx.progress.resumed(d.rows, d.entries);
            *c = true;
        }
    }
    let mut published = 0;
    for n in 0..len {
        let record = match records.get(&n) {
            Some(r) if r.done.is_some() => continue,
            Some(r) if !r.unsettled() => reopen(store, keys, n).await?,
            Some(r) => r.clone(),
            None => {
                fix_commit_ts(store, keys, cx.pd, &plan.ranges[n], n).await?;
                // Read back: a racing coordinator's record may have won.
                typed::read::<RangeRecord>(store, &keys.range(n))
                    .await?
                    .map(|s| s.record)
                    .ok_or_else(|| CoordinatorError::MissingCheckpoint { key: keys.range(n) })?
            }
        };
        published += publish(q, plan, n, &record, generation).await?;
    }
    tracing::info!(table = %plan.table, ranges = len, published,
        done = counted.iter().filter(|c| **c).count(),
        "index backfill ranges handed to the workers");
    let mut no_loops: JoinSet<Result<(), TaskError>> = JoinSet::new();
    let mut said = Instant::now();
    loop {
        let done: Vec<bool> = (0..len)
            .map(|n| records.get(&n).is_some_and(|r| r.done.is_some()))
            .collect();
        for (n, r) in &records {
            if let (Some(d), Some(c)) = (&r.done, counted.get_mut(*n)) {
                if !*c {
                    cx.progress.range_done(d.rows, d.entries);
                    *c = true;
                }
            }
        }
        advance(store, keys, plan, &done).await?;
        let unsettled: Vec<usize> = (0..len)
            .filter(|n| records.get(n).is_none_or(RangeRecord::unsettled))
            .collect();
        if unsettled.is_empty() {
            break;
        }
        if said.elapsed() >= STILL_WAITING {
            tracing::info!(table = %plan.table, left = unsettled.len(), first = unsettled[0],
                "index backfill: waiting for the workers' ranges (only `squall worker` builds them)");
            said = Instant::now();
        }
        super::super::run::wait_a_poll(&q.gate.stop, &mut no_loops, "the index ranges were built")
            .await?;
        // Waits here while the job is paused; the records are read after
        // the control, so a resume sees every range withdrawn before it.
        let control = q.gate.pass().await?;
        records = match read_records(store, keys).await {
            Ok(r) => r,
            // The store retried already; the workers wait for it too.
            Err(CoordinatorError::Checkpoint(e)) if e.is_retryable() => {
                tracing::warn!(table = %plan.table, error = %e,
                    "cannot read the index backfill's range records; trying again");
                records
            }
            Err(e) => return Err(e),
        };
        if control.generation != generation {
            generation = control.generation;
            let mut again = 0;
            for (&n, r) in records.iter().filter(|(_, r)| r.unsettled()) {
                again += publish(q, plan, n, r, generation).await?;
            }
            tracing::info!(table = %plan.table, ranges = again, generation,
                "job going on: its unfinished index backfill ranges published again");
        }
    }
    if let Some(end) = given_up(&records, keys, plan) {
        return end;
    }
    finish_plan(cx, target, store, keys, plan).await
}

/// Publishes range `n`'s task; 1 when the queue took it (0: a message
/// with its id is still remembered, so it is queued or being built).
async fn publish(
    q: &QueueRun<'_>,
    plan: &BackfillPlan,
    n: usize,
    record: &RangeRecord,
    generation: u32,
) -> Result<usize, CoordinatorError> {
    let task = BackfillRangeTask {
        job_id: q.job_id.to_string(),
        table_id: q.table_id,
        indexes: plan.indexes.clone(),
        range: n as u32,
    };
    let mut message = task.to_message();
    message.id = message_id(message.id, record.reopened, generation);
    Ok(usize::from(
        q.queue.publish(message).await? == Published::Queued,
    ))
}

/// A range's message id: a range reopened after a rerun, or published
/// again after the job was held (its workers acked the old message
/// without building it), needs an id the queue's de-duplication has not
/// seen.
fn message_id(base: String, reopened: u32, generation: u32) -> String {
    let mut id = base;
    if reopened > 0 {
        id = format!("{id}.o{reopened}");
    }
    if generation > 0 {
        id = format!("{id}.g{generation}");
    }
    id
}

type Built = Result<Result<BuildStats, Vec<UniqueConflict>>, CoordinatorError>;

/// Every range settled: a failure or conflicts end the plan here.
fn given_up(
    records: &BTreeMap<usize, RangeRecord>,
    keys: &BackfillKeys,
    plan: &BackfillPlan,
) -> Option<Built> {
    if let Some((n, reason)) = records
        .iter()
        .find_map(|(n, r)| r.failed.as_ref().map(|f| (n, f)))
    {
        return Some(Err(CoordinatorError::Invalid {
            what: "index backfill",
            reason: format!(
                "table {}: range {n} ({}) failed on the workers: {reason}; run the job again \
                 (it resumes the backfill at that range)",
                plan.table,
                keys.range(*n)
            ),
        }));
    }
    let conflicts: Vec<UniqueConflict> = records
        .values()
        .flat_map(|r| r.conflicts.iter())
        .map(UniqueConflict::from)
        .collect();
    (!conflicts.is_empty()).then_some(Ok(Err(conflicts)))
}

/// A range given up by an earlier run goes out again (same commit ts).
async fn reopen(
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
    n: usize,
) -> Result<RangeRecord, CoordinatorError> {
    let stored = typed::update(store, &keys.range(n), |r: &mut RangeRecord| {
        if r.unsettled() || r.done.is_some() {
            return Decision::Keep;
        }
        r.failed = None;
        r.conflicts.clear();
        r.reopened += 1;
        Decision::Write
    })
    .await?;
    tracing::info!(key = %keys.range(n), reopened = stored.record.reopened,
        "index backfill: a range given up before goes out again");
    Ok(stored.record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backfill::records::{RangeConflict, RangeDone, RangeSpec, BACKFILL_RECORD_VERSION};

    fn record(n: u64) -> RangeRecord {
        RangeRecord {
            version: BACKFILL_RECORD_VERSION,
            pid: 1,
            start: format!("{n:02x}"),
            end: format!("{:02x}", n + 1),
            commit_ts: 100 + n,
            done: None,
            conflicts: Vec::new(),
            failed: None,
            reopened: 0,
        }
    }

    fn plan(len: u64) -> BackfillPlan {
        BackfillPlan {
            version: BACKFILL_RECORD_VERSION,
            table: "db.t".into(),
            indexes: vec![1],
            ts: 1,
            start_ts: 2,
            ranges: (0..len)
                .map(|n| RangeSpec {
                    pid: 1,
                    start: format!("{n:02x}"),
                    end: format!("{:02x}", n + 1),
                })
                .collect(),
            finished_prefix: 0,
            finished_through: String::new(),
        }
    }

    #[test]
    fn a_failed_range_fails_the_plan_naming_it_and_conflicts_are_returned() {
        let keys = BackfillKeys::in_job("j", 7, &[1]);
        let mut records: BTreeMap<usize, RangeRecord> =
            (0..3).map(|n| (n as usize, record(n))).collect();
        for r in records.values_mut() {
            r.done = Some(RangeDone::default());
        }
        assert!(given_up(&records, &keys, &plan(3)).is_none());

        records.get_mut(&1).expect("test setup").done = None;
        records.get_mut(&1).expect("test setup").conflicts = vec![RangeConflict {
            index: "us".into(),
            value: "\"x\"".into(),
            handles: ["1".into(), "9".into()],
            rows: Vec::new(),
        }];
        match given_up(&records, &keys, &plan(3)) {
            Some(Ok(Err(c))) => {
                assert_eq!(c.len(), 1);
                assert_eq!(c[0].handles, ["1".to_string(), "9".to_string()]);
                assert_eq!(c[0].index, "us");
            }
            other => panic!("conflicts expected: {other:?}"),
        }

        records.get_mut(&2).expect("test setup").done = None;
        records.get_mut(&2).expect("test setup").failed = Some("ingest: no leader".into());
        match given_up(&records, &keys, &plan(3)) {
            Some(Err(e)) => {
                let text = e.to_string();
                assert!(
                    text.contains("range 2") && text.contains("ingest: no leader"),
                    "{text}"
                );
                assert!(text.contains("j/backfill/7/i1/r000002"), "{text}");
            }
            other => panic!("a failure expected: {other:?}"),
        }
    }

    #[test]
    fn a_republished_range_gets_an_id_the_queue_has_not_seen() {
        let ids: Vec<String> = [(0, 0), (1, 0), (0, 1), (1, 2)]
            .iter()
            .map(|&(o, g)| message_id("b.j.7.i1.r3".into(), o, g))
            .collect();
        assert_eq!(
            ids,
            [
                "b.j.7.i1.r3",
                "b.j.7.i1.r3.o1",
                "b.j.7.i1.r3.g1",
                "b.j.7.i1.r3.o1.g2"
            ]
        );
    }

    #[tokio::test]
    async fn a_given_up_range_reopens_once_with_its_commit_ts() {
        let dir = tempfile::tempdir().expect("test setup");
        let store =
            squall_common::checkpoint::LocalCheckpointStore::open(dir.path()).expect("test setup");
        let keys = BackfillKeys::in_job("j", 7, &[1]);
        let mut r = record(0);
        r.failed = Some("gone".into());
        typed::swap(&store, &keys.range(0), None, &r)
            .await
            .expect("test setup");
        let back = reopen(&store, &keys, 0).await.expect("test setup");
        assert!(back.unsettled());
        assert_eq!((back.reopened, back.commit_ts), (1, 100));
        // Unsettled already: left as it is.
        let again = reopen(&store, &keys, 0).await.expect("test setup");
        assert_eq!(again.reopened, 1);
    }
}
