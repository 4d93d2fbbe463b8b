//! The runner's duplicate hook ([`crate::run::DuplicateStep`], called once
//! per table between the last ingest and the checksum) backed by global
//! detection and resolution; `run_import` installs it unless
//! `ImportOptions::duplicates` names another step.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use squall_client::{ClientOptions, RetryPolicy};
use squall_common::artefacts::SharedArtefactStore;
use squall_common::checkpoint::{
    keys, typed, EngineCheckpoint, EngineState, RangeCheckpoint, RangeState, SharedCheckpointStore,
};
use squall_common::TaskConfig;
use tokio_util::sync::CancellationToken;

use super::cancel::Cancel;
use super::context::{
    DuplicateContext as Ctx, EngineSource, TableJob, DEFAULT_CONCURRENCY, DEFAULT_SEGMENT_BYTES,
};
use super::error::DuplicateError;
use super::run::detect_and_resolve;
use super::strategy::ConflictStrategy;
use super::worker_files::{RangeDuplicates, WorkerDuplicateFiles, RANGES_ENGINE_ID};
use crate::error::CoordinatorError;
use crate::resolve::apply::RegionWriter;
use crate::resolve::locate::SourceRows;
use crate::run::{DuplicateContext, DuplicateOutcome, DuplicateStep};

pub struct GlobalDuplicates {
    pub store: SharedCheckpointStore,
    /// The job's artefacts, where workers leave their local duplicates
    /// ([`crate::run::Workers::artefacts`]).
    pub artefacts: SharedArtefactStore,
    /// DuplicateDetect streams in flight (`tikv-importer.range-concurrency`).
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub cancel: Cancel,
}

impl GlobalDuplicates {
    pub fn new(
        store: SharedCheckpointStore,
        artefacts: SharedArtefactStore,
        cfg: &TaskConfig,
        shutdown: &CancellationToken,
    ) -> Self {
        Self {
            store,
            artefacts,
            concurrency: cfg.tikv_importer.range_concurrency.max(1),
            retry: ClientOptions::from_task(cfg).retry,
            cancel: Cancel::from_token(shutdown),
        }
    }

    /// The table's engines, and the local duplicates each `Done` one recorded.
    async fn engines(
        &self,
        job_id: &str,
        table_id: i64,
    ) -> Result<(Vec<EngineSource>, HashMap<(i64, u32), u64>), CoordinatorError> {
        let stored = typed::read_all::<EngineCheckpoint>(
            &*self.store,
            &keys::table_engines_prefix(job_id, table_id),
        )
        .await?;
        let recorded = stored
            .iter()
            .filter_map(|s| match &s.record.state {
                EngineState::Done(r) => {
                    Some(((s.record.table_id, s.record.engine_id), r.local_duplicates))
                }
                _ => None,
            })
            .collect();
        let engines = stored
            .iter()
            .map(|s| EngineSource::from_checkpoint(&s.record))
            .collect();
        Ok((engines, recorded))
    }

    /// With engine ranges, the table's ranges as one engine over all
    /// `engines`' chunks (see [`RangeDuplicates`]) and the local duplicates
    /// each recorded; `None` for a table planned without ranges. A range not
    /// `Done` is an error (the merge step checked they all are).
    async fn ranges(
        &self,
        job_id: &str,
        table_id: i64,
        engines: &[EngineSource],
    ) -> Result<Option<RangeDuplicates>, CoordinatorError> {
        let stored = typed::read_all::<RangeCheckpoint>(
            &*self.store,
            &keys::table_ranges_prefix(job_id, table_id),
        )
        .await?;
        let Some(commit_ts) = stored.iter().map(|s| s.record.commit_ts).max() else {
            return Ok(None);
        };
        let mut recorded = Vec::with_capacity(stored.len());
        for s in &stored {
            let RangeState::Done(r) = &s.record.state else {
                return Err(CoordinatorError::Invalid {
                    what: "duplicate detection and conflict resolution",
                    reason: format!("{} is {:?}, not done", s.key, s.record.state),
                });
            };
            recorded.push((s.record.range_id, r.local_duplicates));
        }
        let mut chunks: Vec<_> = engines.iter().flat_map(|e| e.chunks.clone()).collect();
        chunks.sort_by_key(|c| c.ordinal);
        Ok(Some(RangeDuplicates {
            engine: EngineSource {
                engine_id: RANGES_ENGINE_ID,
                commit_ts,
                chunks,
            },
            recorded,
            range_ts: stored.iter().map(|s| s.record.commit_ts).collect(),
        }))
    }
}

#[async_trait]
impl DuplicateStep for GlobalDuplicates {
    async fn detect_and_resolve(
        &self,
        cx: &DuplicateContext<'_>,
    ) -> Result<DuplicateOutcome, CoordinatorError> {
        let table = &cx.table.table;
        let strategy = ConflictStrategy::parse(cx.cfg.conflict.strategy.as_str())
            .map_err(|e| to_coordinator(e, &table.qualified_name()))?;
        let (engines, recorded) = self.engines(&cx.job.job_id, table.id).await?;
        let ranges = self.ranges(&cx.job.job_id, table.id, &engines).await?;
        // Resolution orders, locates and reports the ranges' copies as the
        // rows of one more engine.
        let mut planned = engines.clone();
        planned.extend(ranges.iter().map(|r| r.engine.clone()));
        // Without the source, conflicting rows keep the positions engines recorded.
        let source_rows = SourceRows::for_job(cx.cfg, cx.job.created_unix_ms)
            .inspect_err(|e| tracing::warn!(error = %e, "source unreadable: some conflict positions unknown"))
            .ok()
            .map(Arc::new);
        let converter = crate::resolve::locate::job_converter(cx.cfg, cx.job.created_unix_ms)
            .map_err(|e| {
                let name = table.qualified_name();
                to_coordinator(DuplicateError::inconsistent(&name, e), &name)
            })?;
        // Resolution spills here (shards, downloaded duplicates files).
        let spill_dir = std::path::Path::new(&cx.cfg.tikv_importer.sorted_kv_dir)
            .join("conflict-spill")
            .join(file_safe(&cx.job.job_id));
        let ctx = Ctx {
            job_id: cx.job.job_id.clone(),
            import: cx.client.clone(),
            tables: vec![TableJob {
                table: table.clone(),
                engines: planned,
                ts_alias: ranges
                    .iter()
                    .flat_map(|r| r.range_ts.iter().map(|&ts| (ts, r.engine.commit_ts)))
                    .collect(),
            }],
            min_commit_ts: cx.job.start_ts,
            strategy,
            threshold: cx.cfg.conflict.threshold,
            checkpoints: self.store.clone(),
            output_dir: cx.output_dir.to_path_buf(),
            concurrency: if self.concurrency == 0 {
                DEFAULT_CONCURRENCY
            } else {
                self.concurrency
            },
            retry: self.retry.clone(),
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            resolve_batch_rows: usize::try_from(cx.cfg.conflict.resolve_batch_rows)
                .unwrap_or(usize::MAX)
                .max(1),
            resolve_memory: cx.cfg.conflict.resolve_memory.0.max(1),
            spill_dir: spill_dir.clone(),
            local: Arc::new(WorkerDuplicateFiles {
                artefacts: Arc::clone(&self.artefacts),
                engines: HashMap::from([(table.id, engines)]),
                recorded,
                ranges: ranges.into_iter().map(|r| (table.id, r)).collect(),
                download_dir: Some(spill_dir.join("downloads")),
            }),
            source_rows,
            converter,
            writer: Arc::new(RegionWriter {
                client: cx.client.clone(),
                retry: self.retry.clone(),
                cancel: self.cancel.clone(),
            }),
            cancel: self.cancel.clone(),
        };
        let summary = detect_and_resolve(&ctx)
            .await
            .map_err(|e| to_coordinator(e, &table.qualified_name()))?;
        let Some(t) = summary.table(table.id) else {
            return Ok(DuplicateOutcome::default());
        };
        Ok(DuplicateOutcome {
            found: t.conflict_rows,
            removed: t.checksum.subtract_local,
            added: t.checksum.add,
        })
    }
}

/// A job id as one directory name.
fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn to_coordinator(err: DuplicateError, table: &str) -> CoordinatorError {
    match err {
        DuplicateError::Checkpoint(e) => CoordinatorError::Checkpoint(e),
        DuplicateError::Cancelled => CoordinatorError::Interrupted,
        DuplicateError::ConflictsFound {
            rows, report_dir, ..
        } => CoordinatorError::Duplicates {
            table: table.to_string(),
            count: rows,
            strategy: "error".into(),
            report: report_dir,
        },
        DuplicateError::ThresholdExceeded {
            rows,
            threshold,
            report_dir,
        } => CoordinatorError::Duplicates {
            table: table.to_string(),
            count: rows,
            strategy: format!("(conflict.threshold = {threshold} exceeded)"),
            report: report_dir,
        },
        other => CoordinatorError::Invalid {
            what: "duplicate detection and conflict resolution",
            reason: other.to_string(),
        },
    }
}
