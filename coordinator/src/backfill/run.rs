//! `squall index backfill`, embedded: one process builds every physical
//! table's entries of the chosen indexes at one snapshot ts, held by a PD
//! service GC safepoint while it runs, as range tasks with checkpoints
//! ([`super::tasks`]) in the local checkpoint store: a killed backfill,
//! run again, resumes at the same snapshot without redoing finished ranges.

use std::path::PathBuf;
use std::sync::Arc;

use squall_client::ClientOptions;
use squall_common::checkpoint::LocalCheckpointStore;
use squall_common::TaskConfig;

use super::build::{BuildContext, BuildStats, UniqueConflict};
use super::progress::BackfillProgress;
use super::records::BackfillKeys;
use super::session::{Selection, Session};
use super::target::IndexTarget;
use super::tasks::{open_plan, read_plan, remove_records, run_plan};
use crate::error::CoordinatorError;
use crate::export::SchemaSource;

/// Conflicts listed in the error message (all are logged).
const SHOWN_CONFLICTS: usize = 10;

pub struct BackfillOptions {
    pub pd_addrs: Vec<String>,
    /// `db.table`.
    pub table: String,
    pub schema: SchemaSource,
    /// Only this index; `None` builds every index that writes entries.
    pub index: Option<String>,
    /// Rows per `KvScan` page.
    pub batch_size: u32,
    /// `tidb.*` for virtual columns, `tikv-importer.*` for the engine and
    /// ingest (and the records: [`Self::checkpoint_dir`]).
    pub cfg: TaskConfig,
    pub client: ClientOptions,
    /// Counters the caller may show while the backfill runs.
    pub progress: Arc<BackfillProgress>,
}

impl BackfillOptions {
    /// `checkpoint.dsn` (a directory: the keys do not overlap an import's),
    /// else `<tikv-importer.sorted-kv-dir>/index-backfill-checkpoint`, beside
    /// the backfill's local engines: a rerun on this machine finds both.
    pub fn checkpoint_dir(&self) -> PathBuf {
        match self.cfg.checkpoint.dsn.as_str() {
            "" => PathBuf::from(&self.cfg.tikv_importer.sorted_kv_dir)
                .join("index-backfill-checkpoint"),
            dsn => PathBuf::from(dsn),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    pub table: String,
    pub indexes: Vec<String>,
    /// The snapshot the rows were read at.
    pub ts: u64,
    /// Every entry was written at a commit ts above this one (each range
    /// at its own).
    pub commit_ts: u64,
    pub stats: BuildStats,
    /// Ranges finished by an earlier, interrupted run of this backfill.
    pub resumed_ranges: u64,
}

/// Finds the table and builds its indexes, resuming an unfinished backfill
/// of the same table and indexes; a unique conflict fails it naming the
/// index, the value and both handles (nothing of a range with a conflict
/// inside it is ingested).
pub async fn backfill_index(opts: &BackfillOptions) -> Result<BackfillReport, CoordinatorError> {
    let dir = opts.checkpoint_dir();
    let store = LocalCheckpointStore::open(&dir)?;
    let keys = BackfillKeys::standalone(&opts.table, opts.index.as_deref());
    let earlier = read_plan(&store, &keys).await?;
    let sel = Selection {
        pd_addrs: &opts.pd_addrs,
        table: &opts.table,
        schema: &opts.schema,
        index: opts.index.as_deref(),
        cfg: &opts.cfg,
        client: &opts.client,
    };
    // A resumed backfill reads at its stored snapshot (GC must not have
    // passed it: the session refuses then, saying so).
    let s = match Session::open("index backfill", sel, earlier.as_ref().map(|p| p.ts)).await {
        Ok(s) => s,
        Err(e) => {
            return Err(match &earlier {
                Some(plan) => CoordinatorError::Invalid {
                    what: "index backfill",
                    reason: format!(
                        "resuming the unfinished backfill of {} at snapshot ts {} ({}): {e}; \
                         to start over at a fresh snapshot, remove {} under {}",
                        plan.table,
                        plan.ts,
                        keys.plan(),
                        keys.prefix(),
                        dir.display()
                    ),
                },
                None => e,
            })
        }
    };
    let built = build(opts, &store, &keys, &s).await;
    let (report, ended) = match built {
        Ok(Ok(report)) => (Ok(report), true),
        // The data must change before a rerun: it starts over.
        Ok(Err(conflicts)) => (Err(conflict_error(&s.target, &conflicts)), true),
        Err(e) => (Err(e), false),
    };
    s.close().await;
    if ended {
        remove_records(&store, &keys).await?;
    }
    report
}

async fn build(
    opts: &BackfillOptions,
    store: &LocalCheckpointStore,
    keys: &BackfillKeys,
    s: &Session,
) -> Result<Result<BackfillReport, Vec<UniqueConflict>>, CoordinatorError> {
    let mut report = BackfillReport {
        table: s.target.table.qualified_name(),
        indexes: s.target.indexes.iter().map(|ix| ix.name.clone()).collect(),
        ts: s.ts,
        ..Default::default()
    };
    if s.target.indexes.is_empty() {
        tracing::info!(table = %report.table, "no index writes entries: nothing to build");
        return Ok(Ok(report));
    }
    let plan = open_plan(store, keys, &s.pd, &s.target, s.ts).await?;
    let root = PathBuf::from(&opts.cfg.tikv_importer.sorted_kv_dir);
    let cx = BuildContext {
        pd: &s.pd,
        client: &s.client,
        cfg: &opts.cfg,
        converter: &s.converter,
        engine_root: &root,
        ts: plan.ts,
        batch_size: opts.batch_size.max(1),
        progress: &opts.progress,
    };
    let stats = match run_plan(&cx, &s.target, store, keys, &plan).await? {
        Ok(stats) => stats,
        Err(conflicts) => return Ok(Err(conflicts)),
    };
    tracing::info!(table = %report.table, ranges = stats.ranges, rows = stats.rows,
        entries = stats.entries, "index entries built");
    report.ts = plan.ts;
    report.commit_ts = plan.start_ts;
    report.resumed_ranges = opts.progress.view().ranges_resumed;
    report.stats = stats;
    Ok(Ok(report))
}

pub(crate) fn conflict_error(
    target: &IndexTarget,
    conflicts: &[UniqueConflict],
) -> CoordinatorError {
    for c in conflicts {
        tracing::error!(table = %target.table.qualified_name(), "{c}");
    }
    let mut listed: Vec<String> = conflicts
        .iter()
        .take(SHOWN_CONFLICTS)
        .map(ToString::to_string)
        .collect();
    if conflicts.len() > SHOWN_CONFLICTS {
        listed.push(format!(
            "… {} more in the log",
            conflicts.len() - SHOWN_CONFLICTS
        ));
    }
    CoordinatorError::Schema {
        table: target.table.qualified_name(),
        reason: format!(
            "{} unique index conflicts (a range holding both rows wrote no entry): {}; \
             remove or change the duplicate rows, then run the backfill again",
            conflicts.len(),
            listed.join("; ")
        ),
    }
}
