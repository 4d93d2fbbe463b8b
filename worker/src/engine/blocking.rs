//! Using the engine from async code. RocksDB calls block, so they run on
//! tokio's blocking pool; these helpers do that with a clone of the engine.

use tokio::sync::mpsc;

use super::error::EngineError;
use super::local::LocalEngine;
use super::reader::EngineKv;

impl LocalEngine {
    /// Runs `f` on tokio's blocking pool with a clone of this engine, e.g.
    /// `engine.run_blocking(|e| e.region_ranges()).await`.
    pub async fn run_blocking<T, F>(&self, f: F) -> Result<T, EngineError>
    where
        F: FnOnce(&LocalEngine) -> Result<T, EngineError> + Send + 'static,
        T: Send + 'static,
    {
        let engine = self.clone();
        tokio::task::spawn_blocking(move || f(&engine))
            .await
            .map_err(|e| EngineError::Blocking {
                engine: self.inner.id.clone(),
                reason: e.to_string(),
            })?
    }

    /// Streams `iter_range(start, end)` in batches of about `batch_bytes`
    /// (key + value) through a channel of `queue` batches, read on the blocking
    /// pool. Memory is bounded by `queue + 1` batches. The scan stops early when
    /// the receiver is dropped, and after sending an error. Must be called from
    /// inside a tokio runtime.
    pub fn stream_range(
        &self,
        start: Vec<u8>,
        end: Vec<u8>,
        batch_bytes: usize,
        queue: usize,
    ) -> mpsc::Receiver<Result<Vec<EngineKv>, EngineError>> {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::new();
            let mut size = 0;
            for item in engine.iter_range(&start, &end) {
                let kv = match item {
                    Ok(kv) => kv,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                };
                size += kv.key().len() + kv.value().len();
                batch.push(kv);
                if size >= batch_bytes {
                    if tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
                        return;
                    }
                    size = 0;
                }
            }
            if !batch.is_empty() {
                let _ = tx.blocking_send(Ok(batch));
            }
        });
        rx
    }
}
