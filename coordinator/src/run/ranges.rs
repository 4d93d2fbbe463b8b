//! The ingest half of engine ranges (`squall.engine-ranges`), beside the
//! engines' wait: once every engine of a table is `Done` (encoded, runs
//! written), one `IngestRangeTask` per range of that table not yet done goes
//! on the same queue, and the range records are polled until all are
//! `Done`, one fails for good, or the job is stopped. Like
//! the engines' wait (`engines.rs`): paused jobs wait, a resumed job
//! publishes again what was withdrawn, a dead embedded loop fails the job.

use std::collections::HashSet;
use std::time::Duration;

use squall_common::checkpoint::{
    keys, typed, EngineCheckpoint, EngineState, RangeCheckpoint, RangeState, SharedCheckpointStore,
    Stored,
};
use squall_common::queue::{Published, SharedTaskQueue};
use squall_worker::task::{IngestRangeTask, TaskError};
use tokio::task::JoinSet;

use super::control::Gate;
use super::engines::MessageIds;
use super::observe::RangeObserver;
use crate::error::CoordinatorError;

const POLL: Duration = Duration::from_millis(250);

pub struct RangeWait<'a> {
    pub store: &'a SharedCheckpointStore,
    pub job_id: &'a str,
    pub queue: &'a SharedTaskQueue,
    pub ids: MessageIds,
    pub gate: &'a Gate,
}

/// Publishes every unfinished range and waits until all are `Done`.
pub async fn run_ranges(
    w: &RangeWait<'_>,
    workers: &mut JoinSet<Result<(), TaskError>>,
    mut observer: Option<&mut RangeObserver>,
) -> Result<(), CoordinatorError> {
    let shutdown = &w.gate.stop;
    // (table, range, attempt, generation) already published.
    let mut published: HashSet<(i64, u32, u32, u32)> = HashSet::new();
    // Tables whose ranges were handed out once: their first pass also
    // hands out `Running` ranges left by a crash.
    let mut handed: HashSet<i64> = HashSet::new();
    let mut last_done = usize::MAX;
    loop {
        let control = w.gate.pass().await?;
        let ranges: Vec<Stored<RangeCheckpoint>> = match typed::read_all(
            w.store.as_ref(),
            &keys::ranges_prefix(w.job_id),
        )
        .await
        {
            Ok(r) => r,
            Err(e) if e.is_retryable() => {
                tracing::warn!(job = w.job_id, error = %e, "cannot read the range records; trying again");
                tokio::select! {
                    _ = shutdown.cancelled() => return Err(CoordinatorError::Interrupted),
                    _ = tokio::time::sleep(POLL * 8) => continue,
                }
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(observer) = observer.as_deref_mut() {
            observer.observe(&ranges);
        }
        let ready = match ready_tables(w).await {
            Ok(ready) => ready,
            Err(e) if e.is_retryable() => {
                tracing::warn!(job = w.job_id, error = %e, "cannot read the engine records; trying again");
                tokio::select! {
                    _ = shutdown.cancelled() => return Err(CoordinatorError::Interrupted),
                    _ = tokio::time::sleep(POLL * 8) => continue,
                }
            }
            Err(e) => return Err(e.into()),
        };
        let mut sent = 0;
        for r in &ranges {
            let rec = &r.record;
            // A table's ranges go out once all its engines wrote their runs.
            if !ready.contains(&rec.table_id) {
                continue;
            }
            // The first pass hands out every unfinished range, `Running`
            // ones left by a crash included (an embedded queue died with
            // the process); later passes only ranges let go of since (a
            // `Running` one has its task, or the queue redelivers it).
            let wanted = match &rec.state {
                RangeState::Pending => true,
                RangeState::Running { .. } => !handed.contains(&rec.table_id),
                RangeState::Done(_) | RangeState::Failed { .. } => false,
            };
            if !wanted {
                continue;
            }
            let id = (rec.table_id, rec.range_id, rec.attempt, control.generation);
            if !published.insert(id) {
                continue;
            }
            let task = IngestRangeTask {
                job_id: rec.job_id.clone(),
                table_id: rec.table_id,
                range_id: rec.range_id,
            };
            let mut message = task.to_message();
            if w.ids == MessageIds::PerAttempt {
                message.id = format!("{}.a{}", message.id, rec.attempt);
            }
            if control.generation > 0 {
                message.id = format!("{}.g{}", message.id, control.generation);
            }
            if w.queue.publish(message).await? == Published::Queued {
                sent += 1;
            }
        }
        if sent > 0 {
            tracing::info!(
                job = w.job_id,
                ranges = ranges.len(),
                published = sent,
                "engine ranges handed out for ingest"
            );
        }
        handed.extend(ready);
        if let Some((table, range, reason)) = ranges.iter().find_map(|r| match &r.record.state {
            RangeState::Failed { reason, .. } => {
                Some((r.record.table_id, r.record.range_id, reason.clone()))
            }
            _ => None,
        }) {
            return Err(CoordinatorError::EngineFailed {
                table: table.to_string(),
                engine: range,
                reason: format!("ingest of engine range {range} failed: {reason}"),
            });
        }
        let done = ranges
            .iter()
            .filter(|r| matches!(r.record.state, RangeState::Done(_)))
            .count();
        if done != last_done {
            // The ingest half's progress (the display's bars count the
            // engines' encode, then the ingested bytes).
            let bytes: u64 = ranges
                .iter()
                .filter_map(|r| match &r.record.state {
                    RangeState::Done(d) => Some(d.bytes),
                    _ => None,
                })
                .sum();
            tracing::info!(
                job = w.job_id,
                done,
                ranges = ranges.len(),
                ingested_bytes = bytes,
                "engine ranges ingested"
            );
            last_done = done;
        }
        if done == ranges.len() {
            return Ok(());
        }
        super::engines::wait_a_poll(shutdown, workers, "the ranges were ingested").await?;
    }
}

/// Tables whose engines are all `Done` (their runs are all written).
async fn ready_tables(
    w: &RangeWait<'_>,
) -> Result<HashSet<i64>, squall_common::checkpoint::CheckpointError> {
    let engines: Vec<Stored<EngineCheckpoint>> =
        typed::read_all(w.store.as_ref(), &keys::engines_prefix(w.job_id)).await?;
    let mut ready: HashSet<i64> = engines.iter().map(|e| e.record.table_id).collect();
    for e in &engines {
        if !matches!(e.record.state, EngineState::Done(_)) {
            ready.remove(&e.record.table_id);
        }
    }
    Ok(ready)
}

/// With engine ranges, what the table's ranges did on top of its engines'
/// encode results: their local duplicates (count and checksums) come off
/// the encoded totals, so the table's totals equal what TiKV holds, as an
/// engine's own duplicate accounting does without ranges. A table without
/// range records (planned without engine ranges) is left as it is; one
/// with a range not `Done` is an error. The duplicates themselves go to the
/// table's duplicate step (`duplicate::worker_files` reads the ranges'
/// `duplicates/t<table>-r<range>.jsonl`), which resolves them with
/// `conflict.strategy` as it does an engine's.
pub async fn add_range_results(
    store: &SharedCheckpointStore,
    job_id: &str,
    table_id: i64,
    totals: &mut squall_common::checkpoint::TableTotals,
) -> Result<(), CoordinatorError> {
    let ranges: Vec<Stored<RangeCheckpoint>> =
        typed::read_all(store.as_ref(), &keys::table_ranges_prefix(job_id, table_id)).await?;
    let mut duplicates = 0;
    for r in &ranges {
        let RangeState::Done(result) = &r.record.state else {
            return Err(CoordinatorError::Invalid {
                what: "post-processing",
                reason: format!("{} is {:?}, not done", r.key, r.record.state),
            });
        };
        duplicates += result.local_duplicates;
        totals.local_duplicates += result.local_duplicates;
        totals.data.subtract(&result.duplicate_data);
        totals.checksum.subtract(&result.duplicate_data);
        for (id, c) in &result.duplicate_indexes {
            totals.indexes.entry(*id).or_default().subtract(c);
            totals.checksum.subtract(c);
        }
    }
    if duplicates > 0 {
        tracing::info!(
            table = table_id,
            duplicates,
            "engine ranges found local duplicates; the duplicate step resolves them"
        );
    }
    Ok(())
}

/// Engine ranges that failed before go back to `Pending` (keeping attempt
/// and commit ts), like failed engines (`job::reopen_failed`).
pub async fn reopen_failed_ranges(
    store: &SharedCheckpointStore,
    job_id: &str,
) -> Result<(), CoordinatorError> {
    let ranges: Vec<Stored<RangeCheckpoint>> =
        typed::read_all(store.as_ref(), &keys::ranges_prefix(job_id)).await?;
    let mut reopened = 0;
    for r in ranges
        .iter()
        .filter(|r| matches!(r.record.state, RangeState::Failed { .. }))
    {
        typed::update(store.as_ref(), &r.key, |rec: &mut RangeCheckpoint| {
            if !matches!(rec.state, RangeState::Failed { .. }) {
                return squall_common::checkpoint::Decision::Keep;
            }
            rec.state = RangeState::Pending;
            squall_common::checkpoint::Decision::Write
        })
        .await?;
        reopened += 1;
    }
    if reopened > 0 {
        tracing::info!(
            job = job_id,
            ranges = reopened,
            "retrying engine ranges that failed before"
        );
    }
    Ok(())
}
