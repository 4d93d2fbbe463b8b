//! What `index check` and `index backfill` both start from: the table and
//! the indexes to work on, the job's converter (VIRTUAL columns), PD and the
//! import client, and a snapshot ts held against GC while the work runs.

use std::time::Duration;

use squall_client::{ClientOptions, ImportClient, PdClient};
use squall_codec::Converter;
use squall_common::TaskConfig;

use super::target::IndexTarget;
use crate::error::CoordinatorError;
use crate::export::{resolve_table, ExportFormat, ExportOptions, SchemaSource};
use crate::gc_safepoint::{GcSafepointKeeper, DEFAULT_TTL_SECS};

/// Which table and index, and how to reach the cluster.
pub(crate) struct Selection<'a> {
    pub pd_addrs: &'a [String],
    pub table: &'a str,
    pub schema: &'a SchemaSource,
    pub index: Option<&'a str>,
    pub cfg: &'a TaskConfig,
    pub client: &'a ClientOptions,
}

pub(crate) struct Session {
    pub target: IndexTarget,
    pub converter: Converter,
    pub pd: PdClient,
    pub client: ImportClient,
    /// The snapshot the rows are read at.
    pub ts: u64,
    what: &'static str,
    keeper: Option<GcSafepointKeeper>,
}

impl Session {
    /// Finds the table, connects, and holds GC back at `ts` (a fresh TSO
    /// when `None`). `what` names the command in errors and the safepoint.
    pub(crate) async fn open(
        what: &'static str,
        sel: Selection<'_>,
        ts: Option<u64>,
    ) -> Result<Self, CoordinatorError> {
        let lookup = ExportOptions {
            pd_addrs: sel.pd_addrs.to_vec(),
            table: sel.table.to_string(),
            schema: sel.schema.clone(),
            format: ExportFormat::Kv,
            ts,
            cfg: sel.cfg.clone(),
            client: sel.client.clone(),
        };
        let target = IndexTarget::new(resolve_table(&lookup).await?, sel.index)?;
        let converter =
            Converter::new(&sel.cfg.tidb.sql_mode, &sel.cfg.tidb.time_zone).map_err(|e| {
                CoordinatorError::Invalid {
                    what,
                    reason: format!("tidb.sql-mode or tidb.time-zone: {e}"),
                }
            })?;
        let pd = PdClient::connect(sel.pd_addrs, sel.client.clone()).await?;
        let client = ImportClient::new(pd.clone());
        let snapshot = match ts {
            Some(ts) => ts,
            None => pd.tso().await?,
        };
        let keeper = GcSafepointKeeper::start(
            &pd,
            &format!("{}-{}-{snapshot}", what.replace(' ', "-"), target.table.id),
            snapshot,
            Duration::from_secs(DEFAULT_TTL_SECS),
            ts.is_none(),
        )
        .await?;
        let ts = keeper.as_ref().map_or(snapshot, |k| k.safe_point());
        Ok(Self {
            target,
            converter,
            pd,
            client,
            ts,
            what,
            keeper,
        })
    }

    /// Lets GC go past the snapshot again (best effort: the safepoint
    /// expires by its TTL anyway).
    pub(crate) async fn close(self) {
        if let Some(keeper) = self.keeper {
            if let Err(e) = keeper.finish().await {
                tracing::warn!(error = %e, what = self.what,
                    "removing the GC safepoint failed; it expires by its TTL");
            }
        }
    }
}
