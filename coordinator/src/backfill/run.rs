//! `squall index backfill`, embedded: one process builds every physical
//! table's entries of the chosen indexes at one snapshot ts, held by a PD
//! service GC safepoint while it runs.

use std::path::PathBuf;
use std::time::Duration;

use squall_client::{ClientOptions, ImportClient, PdClient};
use squall_codec::Converter;
use squall_common::TaskConfig;

use super::build::{build_physical, BuildContext, BuildStats, UniqueConflict};
use super::target::IndexTarget;
use crate::error::CoordinatorError;
use crate::export::{resolve_table, ExportFormat, ExportOptions, SchemaSource};
use crate::gc_safepoint::{GcSafepointKeeper, DEFAULT_TTL_SECS};

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
    /// `tidb.*` for virtual columns, `tikv-importer.*` for the engine and ingest.
    pub cfg: TaskConfig,
    pub client: ClientOptions,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    pub table: String,
    pub indexes: Vec<String>,
    pub ts: u64,
    pub commit_ts: u64,
    pub stats: BuildStats,
}

/// Finds the table and builds its indexes; a unique conflict fails it
/// naming the index, the value and both handles, with nothing ingested for
/// that physical table.
pub async fn backfill_index(opts: &BackfillOptions) -> Result<BackfillReport, CoordinatorError> {
    let lookup = ExportOptions {
        pd_addrs: opts.pd_addrs.clone(),
        table: opts.table.clone(),
        schema: opts.schema.clone(),
        format: ExportFormat::Kv,
        ts: None,
        cfg: opts.cfg.clone(),
        client: opts.client.clone(),
    };
    let target = IndexTarget::new(resolve_table(&lookup).await?, opts.index.as_deref())?;
    let converter =
        Converter::new(&opts.cfg.tidb.sql_mode, &opts.cfg.tidb.time_zone).map_err(|e| {
            CoordinatorError::Invalid {
                what: "index backfill",
                reason: format!("tidb.sql-mode or tidb.time-zone: {e}"),
            }
        })?;
    let pd = PdClient::connect(&opts.pd_addrs, opts.client.clone()).await?;
    let client = ImportClient::new(pd.clone());
    let ts = pd.tso().await?;
    let keeper = GcSafepointKeeper::start(
        &pd,
        &format!("index-backfill-{}-{ts}", target.table.id),
        ts,
        Duration::from_secs(DEFAULT_TTL_SECS),
        true,
    )
    .await?;
    let ts = keeper.as_ref().map_or(ts, |k| k.safe_point());
    // Entries are written above the snapshot they were derived from.
    let commit_ts = pd.tso().await?;
    let root = PathBuf::from(&opts.cfg.tikv_importer.sorted_kv_dir);
    let cx = BuildContext {
        pd: &pd,
        client: &client,
        cfg: &opts.cfg,
        converter: &converter,
        engine_root: &root,
        ts,
        commit_ts,
        batch_size: opts.batch_size.max(1),
    };
    let built = build_all(&cx, &target).await;
    if let Some(keeper) = keeper {
        if let Err(e) = keeper.finish().await {
            tracing::warn!(error = %e, "removing the backfill's GC safepoint failed; it expires by its TTL");
        }
    }
    Ok(BackfillReport {
        table: target.table.qualified_name(),
        indexes: target.indexes.iter().map(|ix| ix.name.clone()).collect(),
        ts,
        commit_ts,
        stats: built?,
    })
}

async fn build_all(
    cx: &BuildContext<'_>,
    target: &IndexTarget,
) -> Result<BuildStats, CoordinatorError> {
    let mut total = BuildStats::default();
    if target.indexes.is_empty() {
        tracing::info!(table = %target.table.qualified_name(), "no index writes entries: nothing to build");
        return Ok(total);
    }
    for &pid in &target.physical_ids {
        match build_physical(cx, target, pid).await? {
            Ok(s) => {
                total.ranges += s.ranges;
                total.rows += s.rows;
                total.entries += s.entries;
                total.checksum.merge(&s.checksum);
                tracing::info!(table = %target.table.qualified_name(), physical_id = pid,
                    ranges = s.ranges, rows = s.rows, entries = s.entries, "index entries built");
            }
            Err(conflicts) => return Err(conflict_error(target, &conflicts)),
        }
    }
    Ok(total)
}

fn conflict_error(target: &IndexTarget, conflicts: &[UniqueConflict]) -> CoordinatorError {
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
            "{} unique index conflicts, no entry of this table was written: {}; remove or \
             change the duplicate rows, then run the backfill again",
            conflicts.len(),
            listed.join("; ")
        ),
    }
}
