//! `GET /metrics`: the cluster's progress in Prometheus' text format, read
//! from the checkpoint store at each scrape (the store is the truth, and a
//! standby answers the same as the leader): per job, engines by state,
//! source/encoded/ingested bytes, engines redone (attempt > 1) and claims
//! made; per table, rows and conflicts once known; workers registered;
//! whether this coordinator leads; and the task queue's depth, read from
//! NATS (the shared consumer's info), the same for every coordinator.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use squall_common::checkpoint::CheckpointError;
use squall_worker::metrics::scrape::add_queue_depth;

use super::api::ApiState;
use super::status::all_jobs;
use super::wire::JobStatus;

/// Where `squall worker` registers (see `squall_worker::node::registration`).
const WORKERS_PREFIX: &str = "squall/workers/";

type Labels = Vec<(&'static str, String)>;

/// Gauges built for one scrape.
#[derive(Default)]
struct Gauges {
    leader: Gauge,
    workers: Gauge,
    engines: Family<Labels, Gauge>,
    bytes: Family<Labels, Gauge>,
    redone: Family<Labels, Gauge>,
    claims: Family<Labels, Gauge>,
    rows: Family<Labels, Gauge>,
    conflicts: Family<Labels, Gauge>,
}

impl Gauges {
    fn add_job(&self, s: &JobStatus) {
        let job = || ("job", s.job_id.clone());
        for state in ["pending", "running", "done", "failed"] {
            let n = s.engines.iter().filter(|e| e.state == state).count();
            self.engines
                .get_or_create(&vec![job(), ("state", state.into())])
                .set(n as i64);
        }
        let p = &s.progress;
        for (stage, n) in [
            ("source", p.total_source_bytes),
            ("encoded", p.encoded_bytes),
            ("ingested", p.ingested_bytes),
        ] {
            self.bytes
                .get_or_create(&vec![job(), ("stage", stage.into())])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let redone = s.engines.iter().filter(|e| e.attempt > 1).count();
        self.redone.get_or_create(&vec![job()]).set(redone as i64);
        let claims: u64 = s.engines.iter().map(|e| u64::from(e.attempt)).sum();
        self.claims
            .get_or_create(&vec![job()])
            .set(i64::try_from(claims).unwrap_or(i64::MAX));
        for t in &s.tables {
            let labels = vec![job(), ("table", t.name.clone())];
            if let Some(rows) = t.rows {
                self.rows
                    .get_or_create(&labels)
                    .set(i64::try_from(rows).unwrap_or(i64::MAX));
            }
            if let Some(c) = t.conflicts {
                self.conflicts
                    .get_or_create(&labels)
                    .set(i64::try_from(c).unwrap_or(i64::MAX));
            }
        }
    }

    fn register(self) -> Registry {
        let mut r = Registry::with_prefix("squall");
        r.register("leader", "1 when this coordinator leads", self.leader);
        r.register("workers", "Workers registered in etcd", self.workers);
        r.register("engines", "Engines of a job by state", self.engines);
        r.register("bytes", "Source bytes of a job by stage", self.bytes);
        r.register(
            "engines_redone",
            "Engines claimed more than once (redelivered or retried)",
            self.redone,
        );
        r.register(
            "engine_claims",
            "Claims made on a job's engines (attempts)",
            self.claims,
        );
        r.register("table_rows", "Rows imported into a table", self.rows);
        r.register(
            "table_conflicts",
            "Conflicting rows found in a table",
            self.conflicts,
        );
        r
    }
}

/// The metrics text, or the store error that kept it from being read.
pub async fn render(state: &ApiState) -> Result<String, CheckpointError> {
    let store = &state.seams.store;
    let gauges = Gauges::default();
    gauges.leader.set(i64::from(state.leading.is_leader()));
    let workers = store.list(WORKERS_PREFIX).await?;
    gauges.workers.set(workers.len() as i64);
    for status in all_jobs(state).await? {
        gauges.add_job(&status);
    }
    let mut registry = gauges.register();
    add_queue_depth(&mut registry, state.seams.queue.as_ref()).await;
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut text, &registry);
    Ok(text)
}
