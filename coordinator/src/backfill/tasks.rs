//! A backfill as range tasks with checkpoints: the plan (snapshot, ranges)
//! is stored once; each range gets its commit ts stored before anything is
//! written, and its result once ingested; the plan's contiguous finished
//! prefix advances as ranges finish. A rerun reads the records and runs
//! only the ranges not done, at the stored snapshot and commit ts, so a
//! killed backfill neither redoes nor loses a range. Here ranges run in
//! this process, `lightning.region-concurrency` at once with no round
//! barrier (a range never waits for a slower one): `squall index backfill`
//! and the embedded import. In a cluster a range record is a whole task
//! the queue hands to workers ([`super::queue`]); both end alike
//! ([`finish_plan`]).

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures::StreamExt;
use squall_client::PdClient;
use squall_codec::key::table_record_range;
use squall_common::checkpoint::{typed, CheckpointStore, Decision, Swap};

use super::build::{build_range, BuildContext, BuildStats, RangeTask, UniqueConflict};
use super::conflict_rows;
use super::detect::cross_range_conflicts;
use super::ranges::cut_at_regions;
use super::records::{
    advance_prefix, BackfillKeys, BackfillPlan, RangeRecord, RangeSpec, BACKFILL_RECORD_VERSION,
};
use super::target::IndexTarget;
use crate::error::CoordinatorError;

/// The failpoint reached after each range is recorded done (tests pause
/// there and kill the process between ranges).
pub const RANGE_DONE_FAILPOINT: &str = "index-backfill-range-done";

/// The stored plan, if any.
pub async fn read_plan(
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
) -> Result<Option<BackfillPlan>, CoordinatorError> {
    Ok(typed::read::<BackfillPlan>(store, &keys.plan())
        .await?
        .map(|s| s.record))
}

/// The stored plan, or a new one at snapshot `ts`: every physical table's
/// record range cut at PD's region boundaries.
pub async fn open_plan(
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
    pd: &PdClient,
    target: &IndexTarget,
    ts: u64,
) -> Result<BackfillPlan, CoordinatorError> {
    let indexes: Vec<i64> = target.indexes.iter().map(|ix| ix.id).collect();
    if let Some(plan) = read_plan(store, keys).await? {
        if plan.indexes != indexes {
            return Err(CoordinatorError::Invalid {
                what: "index backfill",
                reason: format!(
                    "{} holds a backfill of indexes {:?}, this one builds {:?} (the schema \
                     changed?); remove the records under {} to start over",
                    keys.plan(),
                    plan.indexes,
                    indexes,
                    keys.prefix()
                ),
            });
        }
        tracing::info!(table = %plan.table, ts = plan.ts, ranges = plan.ranges.len(),
            finished_prefix = plan.finished_prefix, "resuming the index backfill");
        return Ok(plan);
    }
    let mut ranges = Vec::new();
    for &pid in &target.physical_ids {
        let (start, end) = table_record_range(pid);
        for (from, to) in cut_at_regions(pd, &start, &end).await? {
            ranges.push(RangeSpec {
                pid,
                start: hex::encode(from),
                end: hex::encode(to),
            });
        }
    }
    let plan = BackfillPlan {
        version: BACKFILL_RECORD_VERSION,
        table: target.table.qualified_name(),
        indexes,
        ts,
        // Taken before any range's commit ts (each is a later TSO).
        start_ts: pd.tso().await?,
        ranges,
        finished_prefix: 0,
        finished_through: String::new(),
    };
    match typed::swap(store, &keys.plan(), None, &plan).await? {
        Swap::Swapped(_) => Ok(plan),
        // Another runner stored one first: use it.
        Swap::Conflict(Some(current)) => Ok(current.record),
        Swap::Conflict(None) => Err(CoordinatorError::Invalid {
            what: "index backfill",
            reason: format!("{} changed while it was created; run again", keys.plan()),
        }),
    }
}

/// Runs every range of `plan` not done yet, then checks unique entries
/// across ranges. The stats cover every range, those of earlier runs too.
pub async fn run_plan(
    cx: &BuildContext<'_>,
    target: &IndexTarget,
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
    plan: &BackfillPlan,
) -> Result<Result<BuildStats, Vec<UniqueConflict>>, CoordinatorError> {
    let records = read_records(store, keys).await?;
    let done: Vec<bool> = (0..plan.ranges.len())
        .map(|n| records.get(&n).is_some_and(|r| r.done.is_some()))
        .collect();
    cx.progress.add_total(plan.ranges.len() as u64);
    for r in records.values() {
        if let Some(d) = &r.done {
            cx.progress.resumed(d.rows, d.entries);
        }
    }
    let todo: Vec<usize> = (0..plan.ranges.len()).filter(|&n| !done[n]).collect();
    if todo.len() < plan.ranges.len() {
        tracing::info!(table = %plan.table, done = plan.ranges.len() - todo.len(),
            left = todo.len(), "index backfill: finished ranges are not built again");
    }
    let done = Mutex::new(done);
    let concurrency = cx.cfg.lightning.region_concurrency.max(1);
    let mut runs = futures::stream::iter(todo)
        .map(|n| run_range(cx, target, store, keys, plan, n, records.get(&n), &done))
        .buffer_unordered(concurrency);
    let mut conflicts = Vec::new();
    let mut failure = None;
    while let Some(ran) = runs.next().await {
        match ran {
            Ok(Ok(())) => {}
            Ok(Err(c)) => conflicts.extend(c),
            // The other ranges go on: what they finish is kept for the rerun.
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    drop(runs);
    if let Some(e) = failure {
        return Err(e);
    }
    if !conflicts.is_empty() {
        return Ok(Err(conflicts));
    }
    finish_plan(cx, target, store, keys, plan).await
}

/// The range records by range number.
pub(super) async fn read_records(
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
) -> Result<BTreeMap<usize, RangeRecord>, CoordinatorError> {
    let stored: Vec<typed::Stored<RangeRecord>> =
        typed::read_all(store, &keys.ranges_prefix()).await?;
    let mut records: BTreeMap<usize, RangeRecord> = BTreeMap::new();
    for s in stored {
        if let Some(n) = s.key.strip_prefix(&keys.ranges_prefix()) {
            if let Ok(n) = n.parse::<usize>() {
                records.insert(n, s.record);
            }
        }
    }
    Ok(records)
}

/// Once every range is recorded done: the stats of all of them, and the
/// unique check across ranges.
pub(super) async fn finish_plan(
    cx: &BuildContext<'_>,
    target: &IndexTarget,
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
    plan: &BackfillPlan,
) -> Result<Result<BuildStats, Vec<UniqueConflict>>, CoordinatorError> {
    let concurrency = cx.cfg.lightning.region_concurrency.max(1);
    let mut stats = BuildStats::default();
    let finished: Vec<typed::Stored<RangeRecord>> =
        typed::read_all(store, &keys.ranges_prefix()).await?;
    for r in &finished {
        if let Some(d) = &r.record.done {
            stats.add(d);
        }
    }
    if stats.ranges != plan.ranges.len() as u64 {
        return Err(CoordinatorError::Invalid {
            what: "index backfill",
            reason: format!(
                "{} of {} ranges are recorded done under {}; run the backfill again",
                stats.ranges,
                plan.ranges.len(),
                keys.prefix()
            ),
        });
    }
    // Two rows of different ranges holding one unique entry: each range's
    // engine could not see it.
    let mut pids: Vec<i64> = plan.ranges.iter().map(|r| r.pid).collect();
    pids.dedup();
    let crossing =
        cross_range_conflicts(cx.client, target, &pids, plan.start_ts, concurrency).await?;
    if !crossing.is_empty() {
        return Ok(Err(conflict_rows::describe(cx, target, crossing).await));
    }
    Ok(Ok(stats))
}

/// One range: its commit ts (stored first), the build, its result, the
/// plan's finished prefix.
#[allow(clippy::too_many_arguments)]
async fn run_range(
    cx: &BuildContext<'_>,
    target: &IndexTarget,
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
    plan: &BackfillPlan,
    n: usize,
    record: Option<&RangeRecord>,
    done: &Mutex<Vec<bool>>,
) -> Result<Result<(), Vec<UniqueConflict>>, CoordinatorError> {
    let spec = &plan.ranges[n];
    let commit_ts = match record {
        Some(r) => r.commit_ts,
        None => fix_commit_ts(store, keys, cx.pd, spec, n).await?,
    };
    let (start, end) = spec.keys();
    let task = RangeTask {
        pid: spec.pid,
        n,
        start,
        end,
        commit_ts,
    };
    let result = match build_range(cx, target, &task).await? {
        Ok(result) => result,
        Err(conflicts) => return Ok(Err(conflicts)),
    };
    let (rows, entries) = (result.rows, result.entries);
    let stored = result.clone();
    typed::update(store, &keys.range(n), move |r: &mut RangeRecord| {
        r.done = Some(stored.clone());
        Decision::Write
    })
    .await?;
    // Rows were counted while scanning.
    cx.progress.range_done(0, entries);
    tracing::debug!(table = %plan.table, range = n, rows, entries, "index backfill range done");
    let advanced = {
        let mut d = done.lock().unwrap_or_else(|p| p.into_inner());
        d[n] = true;
        d.clone()
    };
    advance(store, keys, plan, &advanced).await?;
    squall_common::failpoint::point(RANGE_DONE_FAILPOINT).await;
    Ok(Ok(()))
}

/// A TSO stored as range `n`'s commit ts before any of its entries is
/// written (a racing runner's stored one wins).
pub(super) async fn fix_commit_ts(
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
    pd: &PdClient,
    spec: &RangeSpec,
    n: usize,
) -> Result<u64, CoordinatorError> {
    let record = RangeRecord {
        version: BACKFILL_RECORD_VERSION,
        pid: spec.pid,
        start: spec.start.clone(),
        end: spec.end.clone(),
        commit_ts: pd.tso().await?,
        done: None,
        conflicts: Vec::new(),
        failed: None,
        reopened: 0,
    };
    match typed::swap(store, &keys.range(n), None, &record).await? {
        Swap::Swapped(_) => Ok(record.commit_ts),
        Swap::Conflict(Some(current)) => Ok(current.record.commit_ts),
        Swap::Conflict(None) => Err(CoordinatorError::Invalid {
            what: "index backfill",
            reason: format!("{} changed while it was created; run again", keys.range(n)),
        }),
    }
}

/// Moves the plan's finished prefix over every finished range after it.
pub(super) async fn advance(
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
    plan: &BackfillPlan,
    done: &[bool],
) -> Result<(), CoordinatorError> {
    let len = done.len();
    typed::update(store, &keys.plan(), |p: &mut BackfillPlan| {
        let next = advance_prefix(p.finished_prefix, |i| done[i], len);
        if next == p.finished_prefix {
            return Decision::Keep;
        }
        p.finished_prefix = next;
        p.finished_through = plan.ranges[next as usize - 1].end.clone();
        Decision::Write
    })
    .await?;
    Ok(())
}

/// Removes a backfill's records (a standalone backfill that ended: the
/// next run starts at a fresh snapshot).
pub async fn remove_records(
    store: &dyn CheckpointStore,
    keys: &BackfillKeys,
) -> Result<(), CoordinatorError> {
    for (key, _) in store.list(keys.prefix()).await? {
        store.delete(&key).await?;
    }
    Ok(())
}
