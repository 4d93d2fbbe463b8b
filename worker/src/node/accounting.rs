//! What a finished engine adds to the worker's metrics, under its table's
//! name: the engine's source bytes come from its record, the table's name
//! from the table's record (read once per table, then remembered).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use squall_common::checkpoint::{typed, EngineCheckpoint, EngineResult, TableCheckpoint};

use crate::metrics::WorkerMetrics;
use crate::task::{EngineTask, WorkerContext};

pub(super) struct Accounting {
    pub metrics: Arc<WorkerMetrics>,
    /// `(job, table id)` → the table's qualified name, as the
    /// coordinator's metrics label it.
    names: Mutex<HashMap<(String, i64), String>>,
}

impl Accounting {
    pub fn new(metrics: Arc<WorkerMetrics>) -> Self {
        Self {
            metrics,
            names: Mutex::default(),
        }
    }

    pub async fn engine_done(&self, cx: &WorkerContext, task: &EngineTask, result: &EngineResult) {
        let table = self.table_name(cx, task).await;
        let key = task.checkpoint_key();
        // Missing source bytes only make the "encoded" series lag; the
        // engine is done either way.
        let source_bytes = match typed::read::<EngineCheckpoint>(cx.store.as_ref(), &key).await {
            Ok(Some(e)) => e.record.source_bytes,
            Ok(None) => 0,
            Err(e) => {
                tracing::warn!(%task, error = %e, "metrics: could not read the engine's source bytes");
                0
            }
        };
        self.metrics
            .engine_done(&task.job_id, &table, source_bytes, result);
    }

    async fn table_name(&self, cx: &WorkerContext, task: &EngineTask) -> String {
        let key = (task.job_id.clone(), task.table_id);
        if let Some(name) = self.names().get(&key) {
            return name.clone();
        }
        match typed::read::<TableCheckpoint>(cx.store.as_ref(), &task.table_key()).await {
            Ok(Some(t)) => {
                let name = t.record.table.qualified_name();
                self.names().insert(key, name.clone());
                name
            }
            // Not remembered: the next engine of the table tries again.
            Ok(None) => format!("table-{}", task.table_id),
            Err(e) => {
                tracing::warn!(%task, error = %e, "metrics: could not read the table's name");
                format!("table-{}", task.table_id)
            }
        }
    }

    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<(String, i64), String>> {
        // A map of names stays consistent whatever panicked while holding it.
        self.names.lock().unwrap_or_else(|p| p.into_inner())
    }
}
