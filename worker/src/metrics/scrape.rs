//! What one scrape reads at the moment, beside the process's counters: the
//! queue's depth (from NATS: the shared consumer's info), the bytes of local
//! engines on disk, and each job's progress on this worker (tasks in flight
//! included).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use squall_common::queue::{SharedTaskQueue, TaskQueue};

use super::WorkerMetrics;
use crate::node::JobContexts;

/// How long a scrape waits for the per-job progress.
const PROGRESS_WAIT: Duration = Duration::from_secs(2);

/// Where a worker's scrape reads from.
#[derive(Clone)]
pub struct ScrapeSources {
    pub metrics: Arc<WorkerMetrics>,
    pub queue: SharedTaskQueue,
    pub contexts: Arc<JobContexts>,
    /// `--sorted-kv-dir`: every local engine lives under it.
    pub sorted_kv_dir: PathBuf,
}

/// The whole page: counters, then what was read now, then `# EOF`.
pub async fn render(sources: &ScrapeSources) -> String {
    let mut text = String::new();
    sources.metrics.encode(&mut text);
    let mut r = Registry::with_prefix("squall");
    add_queue_depth(&mut r, sources.queue.as_ref()).await;
    let w = r.sub_registry_with_prefix("worker");
    let dir = sources.sorted_kv_dir.clone();
    let on_disk = tokio::task::spawn_blocking(move || dir_bytes(&dir))
        .await
        .unwrap_or(0);
    let engine_bytes = Gauge::<i64>::default();
    engine_bytes.set(i64::try_from(on_disk).unwrap_or(i64::MAX));
    let help = "Bytes of local engines on disk under --sorted-kv-dir";
    w.register("local_engine_bytes", help, engine_bytes);
    let progress = Family::<Vec<(&'static str, String)>, Gauge>::default();
    // The contexts' lock is held while a job's context is built (a PD
    // connect): do not let a scrape wait on that.
    let jobs = tokio::time::timeout(PROGRESS_WAIT, sources.contexts.progress())
        .await
        .unwrap_or_default();
    for (job, p) in jobs {
        for (stage, n) in [("encoded", p.encoded_bytes), ("ingested", p.ingested_bytes)] {
            progress
                .get_or_create(&vec![("job", job.clone()), ("stage", stage.into())])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    let help = "Bytes this worker has encoded (source) and ingested (KV) per job so far, \
                tasks in flight included";
    w.register("progress_bytes", help, progress);
    // Writing into a String cannot fail.
    let _ = encode_registry(&mut text, &r);
    let _ = encode_eof(&mut text);
    text
}

/// Registers `queue_pending` and `queue_in_flight` (under `registry`'s
/// prefix) from `queue`; registers nothing when the queue cannot tell or
/// does not answer (an absent series, not a wrong zero).
pub async fn add_queue_depth(registry: &mut Registry, queue: &dyn TaskQueue) {
    let depth = match queue.depth().await {
        Ok(Some(d)) => d,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read the queue depth");
            return;
        }
    };
    let gauge = |n: u64| {
        let g = Gauge::<i64>::default();
        g.set(i64::try_from(n).unwrap_or(i64::MAX));
        g
    };
    let help = "Tasks in the queue not yet delivered (or handed back and due again)";
    registry.register("queue_pending", help, gauge(depth.pending));
    let help = "Tasks delivered to a worker and not yet acked";
    registry.register("queue_in_flight", help, gauge(depth.in_flight));
}

/// Bytes of every file under `dir` (0 if it is missing). Files that
/// vanish mid-walk (RocksDB compacts and deletes) are skipped.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            total += dir_bytes(&entry.path());
        } else {
            total += meta.len();
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_bytes_sums_nested_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("j/e1")).expect("mkdir");
        std::fs::write(dir.path().join("j/e1/000001.sst"), [0u8; 100]).expect("write");
        std::fs::write(dir.path().join("LOCK"), [0u8; 7]).expect("write");
        assert_eq!(dir_bytes(dir.path()), 107);
        assert_eq!(dir_bytes(&dir.path().join("missing")), 0);
    }
}
