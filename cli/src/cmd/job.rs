//! `squall job list|status|pause|resume|cancel|destroy`: a cluster's jobs
//! as its coordinators report them (any coordinator answers reads, the
//! leader or a standby), and the operator's control over them (the leader
//! acts; a standby declines and the next coordinator is tried).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use squall_common::checkpoint::JobState;
use squall_coordinator::service::JobStatus;

use super::follow::Coordinators;

/// How long the coordinators may all be unreachable before giving up.
const UNREACHABLE_FOR: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The coordinators (`http://host:port` or `https://host:port`, comma
    /// separated).
    #[arg(long, env = "SQUALL_COORDINATOR")]
    coordinator: String,
    #[command(flatten)]
    tls: crate::tls_args::TlsArgs,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// One line per job: id, phase, engines done, verified or the error.
    List,
    /// One job: its tables and engines, workers, throughput and errors.
    Status { job_id: String },
    /// Pause a job: workers finish the ingest under way, hand back what
    /// they encode and take no more of its tasks; no new step starts; TiKV
    /// leaves import mode. Survives a coordinator failover.
    Pause { job_id: String },
    /// Let a paused job go on from its checkpoints.
    Resume { job_id: String },
    /// Stop a job: its tasks are withdrawn, TiKV leaves import mode, what
    /// was written is reported. Submitting it again goes on from its
    /// checkpoints; `destroy` removes them.
    Cancel { job_id: String },
    /// Remove every record of a job that is not running (checkpoints,
    /// artefacts). What it wrote to TiKV stays.
    Destroy { job_id: String },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let coordinators = Coordinators::parse(&args.coordinator, &args.tls)?;
        match args.what {
            What::List => {
                let jobs: Vec<JobStatus> = get(&coordinators, "/jobs").await?;
                if jobs.is_empty() {
                    println!("no jobs");
                }
                for job in &jobs {
                    println!("{}", line(job));
                }
            }
            What::Status { job_id } => {
                let job: JobStatus = get(&coordinators, &format!("/jobs/{job_id}")).await?;
                print_status(&job);
            }
            What::Pause { job_id } => control(&coordinators, "pause", &job_id).await?,
            What::Resume { job_id } => control(&coordinators, "resume", &job_id).await?,
            What::Cancel { job_id } => control(&coordinators, "cancel", &job_id).await?,
            What::Destroy { job_id } => destroy(&coordinators, &job_id).await?,
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `POST /jobs/{id}/{action}`: 202 with the status; anything else is the
/// coordinator's refusal, said as it says it (404 unknown job, 409 a
/// transition that makes no sense).
async fn control(c: &Coordinators, action: &str, job_id: &str) -> anyhow::Result<()> {
    let path = format!("/jobs/{job_id}/{action}");
    let (host, resp) = c.call(UNREACHABLE_FOR, "POST", &path, "").await?;
    if resp.status != 202 {
        bail!(
            "{action} job {job_id} ({host}): {} {}",
            resp.status,
            resp.body
        );
    }
    let job: JobStatus = serde_json::from_str(&resp.body)
        .with_context(|| format!("POST {host}{path}: unexpected answer: {}", resp.body))?;
    let now = match action {
        "pause" => "paused: workers finish the ingest under way and take no more of its tasks",
        "resume" => "resumed: it goes on from its checkpoints",
        _ => "cancelled: its tasks are withdrawn; submit it again to go on, or destroy it",
    };
    println!("job {job_id} {now}");
    println!("{}", line(&job));
    Ok(())
}

/// `DELETE /jobs/{id}`.
async fn destroy(c: &Coordinators, job_id: &str) -> anyhow::Result<()> {
    let path = format!("/jobs/{job_id}");
    let (host, resp) = c.call(UNREACHABLE_FOR, "DELETE", &path, "").await?;
    if resp.status != 200 {
        bail!(
            "destroy job {job_id} ({host}): {} {}",
            resp.status,
            resp.body
        );
    }
    let answer: serde_json::Value = serde_json::from_str(&resp.body)
        .with_context(|| format!("DELETE {host}{path}: unexpected answer: {}", resp.body))?;
    println!(
        "job {job_id} destroyed: {} records, {} artefacts removed (what it wrote to TiKV stays)",
        answer["records"], answer["artefacts"]
    );
    Ok(())
}

async fn get<T: serde::de::DeserializeOwned>(c: &Coordinators, path: &str) -> anyhow::Result<T> {
    let (host, resp) = c.call(UNREACHABLE_FOR, "GET", path, "").await?;
    if resp.status != 200 {
        bail!("GET {host}{path}: {} {}", resp.status, resp.body);
    }
    serde_json::from_str(&resp.body)
        .with_context(|| format!("GET {host}{path}: unexpected answer: {}", resp.body))
}

fn line(job: &JobStatus) -> String {
    let done = job.engines.iter().filter(|e| e.state == "done").count();
    let end = match (&job.error, job.verified, &job.state) {
        (_, true, _) => "verified".to_string(),
        (Some(e), false, _) => format!("error: {e}"),
        (None, false, Some(JobState::Imported)) => {
            "imported, NOT CHECKED (no checksum match)".to_string()
        }
        (None, false, Some(JobState::Cancelled { engines_done, rows })) => {
            format!("cancelled ({engines_done} engines done, {rows} rows ingested)")
        }
        (None, false, _) if job.control != "running" => job.control.clone(),
        (None, false, _) => String::new(),
    };
    format!(
        "{}  {:<22} engines {done}/{}  {end}",
        job.job_id,
        job.phase,
        job.engines.len()
    )
}

/// `12.3 MiB/s, ETA 4m05s` from the status, or nothing.
fn pace(job: &JobStatus) -> Option<String> {
    let rate = job.throughput_bytes_per_sec?;
    let mut s = format!("{:.1} MiB/s", rate / (1024.0 * 1024.0));
    if let Some(eta) = job.eta_secs {
        s += &format!(", ETA {}m{:02}s", eta / 60, eta % 60);
    }
    Some(s)
}

fn print_status(job: &JobStatus) {
    println!("{}", line(job));
    println!("  control: {}", job.control);
    if let Some(pace) = pace(job) {
        println!("  throughput: {pace}");
    }
    if let Some(r) = &job.ranges {
        let r = r.total;
        println!(
            "  engine ranges: {}/{} ingested ({} running, {} failed), {} KVs, {} bytes",
            r.ranges_done,
            r.ranges_total,
            r.ranges_running,
            r.ranges_failed,
            r.ingested_kvs,
            r.ingested_bytes
        );
    }
    if let Some(b) = &job.backfill {
        println!("  {}", super::progress::backfill_line(b));
    }
    for w in &job.workers {
        println!(
            "  worker {}: {}, {}",
            w.id,
            if w.alive { "alive" } else { "not registered" },
            w.doing.as_deref().unwrap_or("idle")
        );
    }
    for e in &job.last_errors {
        println!("  error: {e}");
    }
    for t in &job.tables {
        let rows = t.rows.map_or("-".into(), |r| r.to_string());
        let conflicts = t.conflicts.map_or("-".into(), |c| c.to_string());
        println!(
            "  table {}: {:?}, {} engines, rows {rows}, conflicts {conflicts}{}",
            t.name,
            t.state,
            t.engines,
            t.last_error
                .as_ref()
                .map_or(String::new(), |e| format!(", last error: {e}"))
        );
    }
    for e in &job.engines {
        println!(
            "  engine {}/{}: {} (attempt {}{}){}",
            e.table_id,
            e.engine_id,
            e.state,
            e.attempt,
            e.worker
                .as_ref()
                .map_or(String::new(), |w| format!(", {w}")),
            e.reason
                .as_ref()
                .map_or(String::new(), |r| format!(": {r}"))
        );
    }
}
