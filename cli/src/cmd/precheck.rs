//! `squall precheck`: the checks `squall import` runs before it writes
//! anything (`lightning.check-requirements`), run alone: source, schemas,
//! CSV/SQL settings, PD and TiKV (reachable, versions, stores, regions),
//! local disk, target tables empty. Prints one line per check and, for each
//! failure, what to do. Exit 0 when none failed, 1 otherwise. Reads
//! nothing but the source and the cluster; writes nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use squall_common::checkpoint::{keys, typed, JobCheckpoint, LocalCheckpointStore};
use squall_coordinator::precheck::{run_prechecks, PrecheckInput};
use squall_coordinator::ImportOptions;

use crate::config_args::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The dump, as for `squall import` (a directory or an `s3://` URL).
    #[arg(long)]
    source: PathBuf,
    /// PD address(es), comma separated; default `[tidb] pd-addr`.
    #[arg(long, value_delimiter = ',')]
    pd: Vec<String>,
    /// The import's output directory (`[squall] output-dir`): a job with a
    /// checkpoint there is a resume, and its tables may hold its own rows.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let mut cfg = global.load_config()?;
    cfg.mydumper.data_source_dir = args.source.display().to_string();
    if !args.pd.is_empty() {
        cfg.tidb.pd_addr = args.pd.join(",");
    }
    cfg.validate().context("validating the task config")?;
    let pd_addrs: Vec<String> = cfg
        .tidb
        .pd_addr
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let output = args
        .output
        .unwrap_or_else(|| PathBuf::from(&cfg.squall.output_dir));
    let opts = ImportOptions::new(cfg.clone(), args.source, pd_addrs.clone(), output);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let resuming = has_checkpoint(&opts).await?;
        let input = PrecheckInput {
            cfg: &cfg,
            pd_addrs: &pd_addrs,
            client: opts.client.clone(),
            resuming,
            local_engines: true,
        };
        let report = run_prechecks(&input).await;
        println!("{report}");
        Ok(if report.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

/// Whether the job these options name has a checkpoint in its (embedded)
/// checkpoint directory; never creates the directory.
async fn has_checkpoint(opts: &ImportOptions) -> anyhow::Result<bool> {
    let dir = opts.checkpoint_dir();
    if !dir.is_dir() {
        return Ok(false);
    }
    // A source that cannot be opened has no job; the source check says why.
    let Ok(id) = opts.job_id() else {
        return Ok(false);
    };
    let store = LocalCheckpointStore::open(&dir)
        .with_context(|| format!("opening the checkpoint in {}", dir.display()))?;
    let job = typed::read::<JobCheckpoint>(&store, &keys::job(&id))
        .await
        .with_context(|| format!("reading job {id} in {}", dir.display()))?;
    Ok(job.is_some())
}
