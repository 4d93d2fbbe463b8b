//! `squall index backfill`, embedded: one process builds every physical
//! table's entries of the chosen indexes at one snapshot ts, held by a PD
//! service GC safepoint while it runs.

use std::path::PathBuf;

use squall_client::ClientOptions;
use squall_common::TaskConfig;

use super::build::{build_physical, BuildContext, BuildStats, UniqueConflict};
use super::session::{Selection, Session};
use super::target::IndexTarget;
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
    let sel = Selection {
        pd_addrs: &opts.pd_addrs,
        table: &opts.table,
        schema: &opts.schema,
        index: opts.index.as_deref(),
        cfg: &opts.cfg,
        client: &opts.client,
    };
    let s = Session::open("index backfill", sel, None).await?;
    // Entries are written above the snapshot they were derived from.
    let built = match s.pd.tso().await {
        Ok(commit_ts) => {
            let root = PathBuf::from(&opts.cfg.tikv_importer.sorted_kv_dir);
            let cx = BuildContext {
                pd: &s.pd,
                client: &s.client,
                cfg: &opts.cfg,
                converter: &s.converter,
                engine_root: &root,
                ts: s.ts,
                commit_ts,
                batch_size: opts.batch_size.max(1),
            };
            build_all(&cx, &s.target)
                .await
                .map(|stats| (commit_ts, stats))
        }
        Err(e) => Err(e.into()),
    };
    let report = built.map(|(commit_ts, stats)| BackfillReport {
        table: s.target.table.qualified_name(),
        indexes: s.target.indexes.iter().map(|ix| ix.name.clone()).collect(),
        ts: s.ts,
        commit_ts,
        stats,
    });
    s.close().await;
    report
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
