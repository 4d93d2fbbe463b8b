//! `squall job list|status`: a cluster's jobs as its coordinators report
//! them (any coordinator answers, the leader or a standby).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use squall_coordinator::service::JobStatus;

use super::follow::Coordinators;

/// How long the coordinators may all be unreachable before giving up.
const UNREACHABLE_FOR: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The coordinators (`http://host:port`, comma separated).
    #[arg(long, env = "SQUALL_COORDINATOR")]
    coordinator: String,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// One line per job: id, phase, engines done, verified or the error.
    List,
    /// One job: its tables and engines.
    Status { job_id: String },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let coordinators = Coordinators::parse(&args.coordinator)?;
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
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn get<T: serde::de::DeserializeOwned>(c: &Coordinators, path: &str) -> anyhow::Result<T> {
    let (host, resp) = c.call(UNREACHABLE_FOR, "GET", path, "").await?;
    if resp.status != 200 {
        bail!("GET http://{host}{path}: {} {}", resp.status, resp.body);
    }
    serde_json::from_str(&resp.body)
        .with_context(|| format!("GET http://{host}{path}: unexpected answer: {}", resp.body))
}

fn line(job: &JobStatus) -> String {
    let done = job.engines.iter().filter(|e| e.state == "done").count();
    let end = match (&job.error, job.verified) {
        (_, true) => "verified".to_string(),
        (Some(e), false) => format!("error: {e}"),
        (None, false) => String::new(),
    };
    format!(
        "{}  {:<22} engines {done}/{}  {end}",
        job.job_id,
        job.phase,
        job.engines.len()
    )
}

fn print_status(job: &JobStatus) {
    println!("{}", line(job));
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
