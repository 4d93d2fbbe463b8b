//! Post-processing, per table (several at once) and idempotent (each step is skipped if
//! the table's state says it is done): merge engine results, run the
//! duplicate step, then compare the expected checksum with TiKV's.

use futures::{stream, StreamExt};
use squall_client::ImportClient;
use squall_common::checkpoint::{
    keys, typed, ChecksumRecord, Decision, EngineCheckpoint, EngineState, JobCheckpoint,
    SharedCheckpointStore, Stored, TableCheckpoint, TableState, TableTotals,
};
use squall_common::TaskConfig;

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

async fn process_table(cx: &PostContext<'_>, t: Stored<TableCheckpoint>) -> TableResult {
    let name = t.record.table.qualified_name();
    let key = t.key.clone();
    let mut table = t.record;
    if table.state.rank() < TableState::Ingested.rank() {
        let totals = merge_engines(cx, table.table.id)
            .await
            .map_err(|e| (None, e))?;
        table = set(cx, &key, |r| {
            r.local = Some(totals.clone());
            r.state = TableState::Ingested;
        })
        .await
        .map_err(|e| (None, e))?;
    }
    let mut totals = table.local.clone().unwrap_or_default();
    if table.state.rank() < TableState::Resolved.rank() {
        let dcx = DuplicateContext {
            client: cx.client,
            cfg: cx.cfg,
            job: cx.job,
            table: &table,
            totals: &totals,
            output_dir: cx.output_dir,
        };
        let started = std::time::Instant::now();
        let outcome = match cx.duplicates.detect_and_resolve(&dcx).await {
            Ok(o) => o,
            Err(e) => {
                let reason = e.to_string();
                let _ = set(cx, &key, |r| {
                    r.state = TableState::Failed {
                        reason: reason.clone(),
                    }
                })
                .await;
                return Err((Some(summary(&name, &totals, None)), e));
            }
        };
        totals.conflicts = outcome.found;
        totals.duplicate_ms = started.elapsed().as_millis() as u64;
        subtract(&mut totals.checksum, &outcome.removed);
        totals.checksum.merge(&outcome.added);
        table = set(cx, &key, |r| {
            r.local = Some(totals.clone());
            r.state = TableState::Resolved;
        })
        .await
        .map_err(|e| (None, e))?;
    }
    if !checksum_enabled(cx.cfg) || table.state == TableState::ChecksumVerified {
        return Ok(summary(&name, &totals, table.remote));
    }
    // A ts taken after the duplicate step, so the scan sees its deletes and
    // re-puts (they are ingested at a newer ts than the import's).
    let checksum_ts = cx
        .client
        .pd()
        .tso()
        .await
        .map_err(|e| (Some(summary(&name, &totals, None)), e.into()))?;
    let concurrency = cx.cfg.tidb.distsql_scan_concurrency;
    let remote = remote_checksum(cx.client, &table.physical_ids(), checksum_ts, concurrency)
        .await
        .map_err(|e| (Some(summary(&name, &totals, None)), e.into()))?;
    let matched = remote == totals.checksum;
    let state = if matched || !cx.cfg.checksum_required() {
        TableState::ChecksumVerified
    } else {
        TableState::Failed {
            reason: format!(
                "checksum mismatch: local {}, TiKV {remote}",
                totals.checksum
            ),
        }
    };
    set(cx, &key, |r| {
        r.remote = Some(remote);
        r.state = state.clone();
    })
    .await
    .map_err(|e| (None, e))?;
    let s = summary(&name, &totals, Some(remote));
    if matched {
        tracing::info!(table = %name, checksum = %remote, "checksum matches");
        Ok(s)
    } else if cx.cfg.checksum_required() {
        Err((
            Some(s),
            CoordinatorError::ChecksumMismatch {
                table: name,
                local: totals.checksum,
                remote,
            },
        ))
    } else {
        tracing::warn!(table = %name, local = %totals.checksum, %remote, "checksum mismatch (post-restore.checksum = optional)");
        Ok(s)
    }
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

fn subtract(c: &mut ChecksumRecord, other: &ChecksumRecord) {
    c.crc ^= other.crc;
    c.kvs = c.kvs.saturating_sub(other.kvs);
    c.bytes = c.bytes.saturating_sub(other.bytes);
}

fn summary(name: &str, t: &TableTotals, remote: Option<ChecksumRecord>) -> TableSummary {
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
        local: t.checksum,
        remote,
    }
}
