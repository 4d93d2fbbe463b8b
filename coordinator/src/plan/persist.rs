//! Writing the plan to the checkpoint store, and reading it back.
//!
//! Every record is created with a compare-and-swap on "absent", so writing a
//! plan twice (a crash during planning, then a rerun) keeps what the first
//! run stored: above all each engine's commit ts, taken from PD's TSO before
//! the record is written and never changed afterwards. A stored record that
//! disagrees with the re-plan means the source changed: refused.

use squall_client::PdClient;
use squall_common::checkpoint::{
    keys, typed, EngineCheckpoint, EngineState, SharedCheckpointStore, Stored, Swap,
    TableCheckpoint, RECORD_VERSION,
};

use super::build::Plan;
use crate::error::CoordinatorError;

/// The plan as stored: every table and engine record with its revision.
#[derive(Debug, Clone)]
pub struct StoredPlan {
    pub tables: Vec<Stored<TableCheckpoint>>,
    pub engines: Vec<Stored<EngineCheckpoint>>,
}

impl StoredPlan {
    pub fn engines_of(&self, table_id: i64) -> impl Iterator<Item = &Stored<EngineCheckpoint>> {
        self.engines
            .iter()
            .filter(move |e| e.record.table_id == table_id)
    }

    pub fn source_bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.record.source_bytes).sum()
    }
}

/// Writes every table and engine record that does not exist yet.
pub async fn persist_plan(
    store: &SharedCheckpointStore,
    job_id: &str,
    plan: &Plan,
    pd: &PdClient,
) -> Result<(), CoordinatorError> {
    let store = store.as_ref();
    for t in &plan.tables {
        let key = keys::table(job_id, t.checkpoint.table.id);
        if let Swap::Conflict(Some(existing)) =
            typed::swap(store, &key, None, &t.checkpoint).await?
        {
            let stored: &TableCheckpoint = &existing.record;
            if stored.table != t.checkpoint.table
                || stored.engine_count != t.checkpoint.engine_count
            {
                return Err(CoordinatorError::PlanMismatch {
                    key,
                    reason: "the table's schema or size changed".into(),
                });
            }
        }
        for e in &t.engines {
            let key = keys::engine(job_id, t.checkpoint.table.id, e.engine_id);
            let mut record = EngineCheckpoint {
                version: RECORD_VERSION,
                job_id: job_id.to_string(),
                table_id: t.checkpoint.table.id,
                engine_id: e.engine_id,
                commit_ts: 0,
                chunks: e.chunks.clone(),
                source_bytes: e.source_bytes,
                attempt: 0,
                state: EngineState::Pending,
            };
            if let Some(existing) = typed::read::<EngineCheckpoint>(store, &key).await? {
                check_same(&key, &existing.record, &record)?;
                continue;
            }
            record.commit_ts = pd.tso().await?;
            if let Swap::Conflict(Some(existing)) = typed::swap(store, &key, None, &record).await? {
                check_same(&key, &existing.record, &record)?;
            }
            squall_common::failpoint::point("plan.engine-persisted").await;
        }
    }
    Ok(())
}

fn check_same(
    key: &str,
    stored: &EngineCheckpoint,
    planned: &EngineCheckpoint,
) -> Result<(), CoordinatorError> {
    if stored.same_plan(planned) {
        return Ok(());
    }
    Err(CoordinatorError::PlanMismatch {
        key: key.to_string(),
        reason: "the engine's chunks changed".into(),
    })
}

/// Reads the stored plan of `job_id`.
pub async fn load_plan(
    store: &SharedCheckpointStore,
    job_id: &str,
) -> Result<StoredPlan, CoordinatorError> {
    let store = store.as_ref();
    let tables = typed::read_all(store, &keys::tables_prefix(job_id)).await?;
    let engines = typed::read_all(store, &keys::engines_prefix(job_id)).await?;
    Ok(StoredPlan { tables, engines })
}
