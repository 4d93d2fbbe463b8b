//! Post-processing, per table (several at once) and idempotent: merge engine
//! results, run the duplicate step, then compare the expected checksum with
//! TiKV's. The table's state is the last step that finished; a rerun starts
//! at the step after it. Each step starts only once the job's control
//! lets it ([`Gate::pass`]): a paused job finishes the steps under way and
//! starts no other.

use futures::{stream, StreamExt};
use squall_client::ImportClient;
use squall_codec::KvChecksum;
use squall_common::checkpoint::{
    keys, typed, Decision, EngineCheckpoint, EngineState, JobCheckpoint, SharedCheckpointStore,
    Stored, TableCheckpoint, TableState, TableStep, TableTotals,
};
use squall_common::TaskConfig;

use super::control::Gate;
use super::duplicates::{DuplicateContext, DuplicateStep};
use super::summary::TableSummary;
use crate::checksum::remote_checksum;
use crate::error::CoordinatorError;

pub struct PostContext<'a> {
    pub store: &'a SharedCheckpointStore,
    pub client: &'a ImportClient,
    pub cfg: &'a TaskConfig,
    pub job: &'a JobCheckpoint,
    pub duplicates: &'a dyn DuplicateStep,
    pub output_dir: &'a std::path::Path,
    pub gate: &'a Gate,
    /// A cluster's queue: the index backfill's ranges go to its workers
    /// (`None`: embedded, built in this process).
    pub queue: Option<&'a squall_common::queue::SharedTaskQueue>,
}

/// Runs post-processing for every table; returns one summary per table and
/// the first failure (the other tables are still processed).
pub async fn post_process(cx: &PostContext<'_>) -> (Vec<TableSummary>, Option<CoordinatorError>) {
    let tables: Vec<Stored<TableCheckpoint>> =
        match typed::read_all(cx.store.as_ref(), &keys::tables_prefix(&cx.job.job_id)).await {
            Ok(t) => t,
            Err(e) => return (Vec::new(), Some(e.into())),
        };
    // Tables are independent (disjoint key ranges, one report each), so up
    // to `table-concurrency` of them are post-processed at once; results
    // stay in table order.
    let results: Vec<TableResult> = stream::iter(tables)
        .map(|t| process_table(cx, t))
        .buffered(cx.cfg.lightning.table_concurrency.max(1))
        .collect()
        .await;
    let mut summaries = Vec::new();
    let mut first_error = None;
    for result in results {
        match result {
            Ok(s) => summaries.push(s),
            Err((s, e)) => {
                summaries.extend(s);
                first_error.get_or_insert(e);
            }
        }
    }
    (summaries, first_error)
}

type TableResult = Result<TableSummary, (Option<TableSummary>, CoordinatorError)>;

/// Runs the table's remaining steps in order. [`TableState::next_step`]
/// alone decides what is left; each finished step moves the state one rung
/// up. A failure is noted in `last_error` without moving the state, and an
/// interruption writes nothing, so a rerun redoes exactly the unfinished step.
async fn process_table(cx: &PostContext<'_>, t: Stored<TableCheckpoint>) -> TableResult {
    let name = t.record.table.qualified_name();
    let key = t.key;
    let mut table = t.record;
    let mut checksum_ms = 0;
    while let Some(step) = table.state.next_step() {
        let done = match cx.gate.pass().await {
            Ok(_) => {
                let started = std::time::Instant::now();
                let done = run_step(cx, &table, step).await;
                if step == TableStep::Checksum {
                    checksum_ms = started.elapsed().as_millis() as u64;
                }
                done
            }
            Err(e) => Err(e),
        };
        match done {
            Ok(StepDone { totals, remote }) => {
                table = set(cx, &key, |r| {
                    r.local = totals.clone().or_else(|| r.local.take());
                    r.remote = remote.or(r.remote);
                    r.state = TableState::after(step);
                    r.last_error = None;
                })
                .await
                .map_err(|e| (None, e))?;
            }
            Err(e) => {
                if !matches!(e, CoordinatorError::Interrupted) {
                    let reason = e.to_string();
                    // Best effort: the error is returned (and the job marked
                    // failed) whether or not the note is stored.
                    let _ = set(cx, &key, |r| r.last_error = Some(reason.clone())).await;
                }
                let remote = match &e {
                    CoordinatorError::ChecksumMismatch { remote, .. } => Some(*remote),
                    _ => table.remote,
                };
                let totals = table.local.as_ref().map(|t| summary(&name, t, remote));
                return Err((totals, e));
            }
        }
    }
    let totals = table.local.clone().unwrap_or_default();
    Ok(TableSummary {
        checksum_ms,
        ..summary(&name, &totals, table.remote)
    })
}

/// What a finished step changes besides the state.
struct StepDone {
    totals: Option<TableTotals>,
    remote: Option<KvChecksum>,
}

async fn run_step(
    cx: &PostContext<'_>,
    table: &TableCheckpoint,
    step: TableStep,
) -> Result<StepDone, CoordinatorError> {
    match step {
        TableStep::Merge => Ok(StepDone {
            totals: Some(merge_engines(cx, table.table.id).await?),
            remote: None,
        }),
        TableStep::Duplicates => resolve_duplicates(cx, table).await,
        TableStep::Backfill => Ok(StepDone {
            totals: crate::backfill::import_step::build_indexes(
                cx.store.as_ref(),
                cx.client,
                cx.cfg,
                cx.job,
                table,
                cx.queue.map(|queue| crate::backfill::import_step::OnQueue {
                    queue,
                    gate: cx.gate,
                }),
            )
            .await?,
            remote: None,
        }),
        TableStep::Checksum => verify_checksum(cx, table).await,
    }
}

/// Detection and resolution; their removed/added KVs adjust the expected
/// checksum.
async fn resolve_duplicates(
    cx: &PostContext<'_>,
    table: &TableCheckpoint,
) -> Result<StepDone, CoordinatorError> {
    let mut totals = table.local.clone().unwrap_or_default();
    let dcx = DuplicateContext {
        client: cx.client,
        cfg: cx.cfg,
        job: cx.job,
        table,
        totals: &totals,
        output_dir: cx.output_dir,
    };
    let started = std::time::Instant::now();
    let outcome = cx.duplicates.detect_and_resolve(&dcx).await?;
    totals.conflicts = outcome.found;
    totals.duplicate_ms = started.elapsed().as_millis() as u64;
    totals.checksum.subtract(&outcome.removed);
    totals.checksum.merge(&outcome.added);
    Ok(StepDone {
        totals: Some(totals),
        remote: None,
    })
}

/// Compares the expected checksum with TiKV's; a mismatch is an error when
/// `post-restore.checksum = required`, a warning otherwise.
async fn verify_checksum(
    cx: &PostContext<'_>,
    table: &TableCheckpoint,
) -> Result<StepDone, CoordinatorError> {
    let done = StepDone {
        totals: None,
        remote: None,
    };
    if !checksum_enabled(cx.cfg) {
        return Ok(done);
    }
    let name = table.table.qualified_name();
    let expected = table.local.clone().unwrap_or_default().checksum;
    // A ts taken after the duplicate step, so the scan sees its deletes and
    // re-puts (they are ingested at a newer ts than the import's).
    let checksum_ts = cx.client.pd().tso().await?;
    let concurrency = cx.cfg.tidb.distsql_scan_concurrency;
    let remote = remote_checksum(cx.client, table, checksum_ts, concurrency).await?;
    if remote == expected {
        tracing::info!(table = %name, checksum = %remote, "checksum matches");
    } else if cx.cfg.checksum_required() {
        return Err(CoordinatorError::ChecksumMismatch {
            table: name,
            local: expected,
            remote,
        });
    } else {
        tracing::warn!(table = %name, local = %expected, %remote, "checksum mismatch (post-restore.checksum = optional)");
    }
    Ok(StepDone {
        remote: Some(remote),
        ..done
    })
}

pub fn checksum_enabled(cfg: &TaskConfig) -> bool {
    !matches!(cfg.post_restore.checksum.as_str(), "off" | "false")
}

async fn merge_engines(
    cx: &PostContext<'_>,
    table_id: i64,
) -> Result<TableTotals, CoordinatorError> {
    let prefix = keys::table_engines_prefix(&cx.job.job_id, table_id);
    let engines: Vec<Stored<EngineCheckpoint>> =
        typed::read_all(cx.store.as_ref(), &prefix).await?;
    let mut totals = TableTotals::default();
    for e in &engines {
        match &e.record.state {
            EngineState::Done(r) => totals.add(r),
            other => {
                return Err(CoordinatorError::Invalid {
                    what: "post-processing",
                    reason: format!("{} is {other:?}, not done", e.key),
                });
            }
        }
    }
    // Engine ranges: the ranges' local duplicates (a no-op without ranges).
    super::ranges::add_range_results(cx.store, &cx.job.job_id, table_id, &mut totals).await?;
    Ok(totals)
}

async fn set<F>(
    cx: &PostContext<'_>,
    key: &str,
    mut change: F,
) -> Result<TableCheckpoint, CoordinatorError>
where
    F: FnMut(&mut TableCheckpoint) + Send,
{
    let stored = typed::update(cx.store.as_ref(), key, |r: &mut TableCheckpoint| {
        change(r);
        Decision::Write
    })
    .await?;
    Ok(stored.record)
}

fn summary(name: &str, t: &TableTotals, remote: Option<KvChecksum>) -> TableSummary {
    TableSummary {
        name: name.to_string(),
        rows: t.rows,
        kvs: t.checksum.kvs,
        kv_bytes: t.checksum.bytes,
        local_duplicates: t.local_duplicates,
        skipped_rows: t.skipped_rows,
        warnings: t.warnings,
        conflicts: t.conflicts,
        duplicate_ms: t.duplicate_ms,
        checksum_ms: 0,
        local: t.checksum,
        remote,
    }
}
