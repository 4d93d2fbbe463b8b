//! The worker's Prometheus metrics, served by `squall worker --metrics-addr`
//! on `GET /metrics` ([`server`]). Counters and the ingest histogram live
//! for the process ([`WorkerMetrics`]); what is read from elsewhere (queue
//! depth from NATS, engine bytes on disk, each job's progress) is read at
//! each scrape ([`scrape`]). Names are listed in `docs/architecture.md`
//! ("Metrics").

pub mod scrape;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use squall_client::observe::ClientObserver;
use squall_common::checkpoint::EngineResult;

use crate::task::worker_loop::Settled;

type Labels = Vec<(&'static str, String)>;

/// Upper bounds of the region ingest histogram: 10 ms doubling to ~82 s.
fn ingest_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.01, 2.0, 14)
}

/// The process's counters. Cheap to update (atomics behind a label map).
pub struct WorkerMetrics {
    registry: Registry,
    rows: Family<Labels, Counter>,
    kvs: Family<Labels, Counter>,
    bytes: Family<Labels, Counter>,
    tasks: Family<Labels, Counter>,
    deliveries: Counter,
    redeliveries: Counter,
    retries: Family<Labels, Counter>,
    region_ingest: Histogram,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkerMetrics {
    pub fn new() -> Self {
        let (rows, kvs, bytes, tasks, retries) = Default::default();
        let (deliveries, redeliveries) = Default::default();
        let region_ingest = Histogram::new(ingest_buckets());
        let mut r = Registry::with_prefix("squall_worker");
        let rows_help = "Rows encoded and ingested by engines this worker finished, by table";
        r.register("rows", rows_help, Family::clone(&rows));
        let kvs_help = "KV pairs ingested by engines this worker finished, by table";
        r.register("kvs", kvs_help, Family::clone(&kvs));
        let bytes_help = "Bytes of engines this worker finished, by table and stage \
                          (encoded: source bytes read; ingested: KV bytes written to TiKV)";
        r.register("bytes", bytes_help, Family::clone(&bytes));
        let tasks_help = "Engine tasks by what became of them (started, done, failed, \
                          retried, released, withdrawn, superseded, skipped, dropped, disk-full)";
        r.register("tasks", tasks_help, Family::clone(&tasks));
        let help = "Task deliveries taken from the queue";
        r.register("deliveries", help, Counter::clone(&deliveries));
        let help = "Task deliveries that were not the task's first (delivery count > 1)";
        r.register("redeliveries", help, Counter::clone(&redeliveries));
        let help = "PD/TiKV calls retried by the client, by error kind";
        r.register("retries", help, Family::clone(&retries));
        let help = "Duration of one region's Write to every peer plus MultiIngest";
        r.register("region_ingest_seconds", help, region_ingest.clone());
        Self {
            registry: r,
            rows,
            kvs,
            bytes,
            tasks,
            deliveries,
            redeliveries,
            retries,
            region_ingest,
        }
    }

    /// Makes this the client's observer (retries, region ingests). The
    /// first caller in a process wins; `false` for a later one.
    pub fn observe_client(self: &Arc<Self>) -> bool {
        squall_client::observe::set_observer(Arc::clone(self) as Arc<dyn ClientObserver>)
    }

    /// A delivery was taken from the queue (`delivered`: its count, from 1).
    pub fn delivery(&self, delivered: u32) {
        self.deliveries.inc();
        if delivered > 1 {
            self.redeliveries.inc();
        }
    }

    /// A task started running.
    pub fn task_started(&self) {
        self.task("started");
    }

    /// How a task ended.
    pub fn task_settled(&self, settled: &Settled) {
        self.task(match settled {
            Settled::Done(_) => "done",
            Settled::Skipped => "skipped",
            Settled::Superseded => "superseded",
            Settled::Retried => "retried",
            Settled::Failed => "failed",
            Settled::Released => "released",
            Settled::Withdrawn => "withdrawn",
            Settled::Dropped => "dropped",
            Settled::DiskFull { .. } => "disk-full",
        });
    }

    fn task(&self, state: &'static str) {
        self.tasks
            .get_or_create(&vec![("state", state.into())])
            .inc();
    }

    /// A finished engine's totals, under its job and table (`source_bytes`:
    /// the source it covered).
    pub fn engine_done(&self, job: &str, table: &str, source_bytes: u64, r: &EngineResult) {
        let labels = |extra: Option<&'static str>| {
            let mut l = vec![("job", job.to_string()), ("table", table.to_string())];
            if let Some(stage) = extra {
                l.push(("stage", stage.to_string()));
            }
            l
        };
        self.rows.get_or_create(&labels(None)).inc_by(r.rows);
        self.kvs.get_or_create(&labels(None)).inc_by(r.kvs);
        self.bytes
            .get_or_create(&labels(Some("encoded")))
            .inc_by(source_bytes);
        self.bytes
            .get_or_create(&labels(Some("ingested")))
            .inc_by(r.bytes);
    }

    /// The counters' text, without the closing `# EOF` (the scrape adds
    /// what it reads, then the end).
    pub fn encode(&self, out: &mut String) {
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(out, &self.registry);
    }
}

impl ClientObserver for WorkerMetrics {
    fn retried(&self, kind: &'static str) {
        self.retries
            .get_or_create(&vec![("kind", kind.into())])
            .inc();
    }

    fn region_ingested(&self, elapsed: Duration) {
        self.region_ingest.observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_as_openmetrics_text() {
        let m = WorkerMetrics::new();
        m.delivery(1);
        m.delivery(2);
        m.task_started();
        let result = EngineResult {
            rows: 10,
            kvs: 20,
            bytes: 300,
            ..Default::default()
        };
        m.task_settled(&Settled::Done(result.clone()));
        m.engine_done("j1", "`db`.`t`", 4096, &result);
        m.retried("not_leader");
        m.region_ingested(Duration::from_millis(30));
        let mut text = String::new();
        m.encode(&mut text);
        for want in [
            "squall_worker_deliveries_total 2",
            "squall_worker_redeliveries_total 1",
            "squall_worker_tasks_total{state=\"done\"} 1",
            "squall_worker_rows_total{job=\"j1\",table=\"`db`.`t`\"} 10",
            "squall_worker_bytes_total{job=\"j1\",table=\"`db`.`t`\",stage=\"encoded\"} 4096",
            "squall_worker_bytes_total{job=\"j1\",table=\"`db`.`t`\",stage=\"ingested\"} 300",
            "squall_worker_retries_total{kind=\"not_leader\"} 1",
            "squall_worker_region_ingest_seconds_count 1",
            "squall_worker_region_ingest_seconds_bucket{le=\"0.04\"} 1",
        ] {
            assert!(text.lines().any(|l| l == want), "no {want:?} in\n{text}");
        }
    }
}
