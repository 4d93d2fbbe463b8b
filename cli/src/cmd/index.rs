//! `squall index`: check (and build) a loaded table's secondary indexes
//! against its rows in TiKV, schema from the dump or an import's checkpoint
//! (as `squall export` finds it).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use squall_client::ClientOptions;
use squall_coordinator::backfill::{
    backfill_index, check_index, BackfillOptions, BackfillProgress, CheckOptions,
};

use crate::config_args::GlobalArgs;
use crate::table_args::TableSource;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Debug, clap::Subcommand)]
enum IndexCommand {
    /// Compare the index entries derived from the rows with those stored
    /// (ADMIN CHECK INDEX): list missing, extra and mismatched entries with
    /// their handles; exit 1 on any.
    Check(CheckArgs),
    /// Build the entries of a table's indexes from its rows: scan at one
    /// snapshot ts, sort locally, ingest (the import's path), range by range
    /// with checkpoints (in `checkpoint.dsn`, else under
    /// `tikv-importer.sorted-kv-dir`): run again after a kill, it resumes at
    /// the same snapshot without redoing finished ranges. Fails naming the
    /// index, value and handles if two rows hold one unique entry.
    Backfill(BackfillArgs),
}

#[derive(Debug, clap::Args)]
struct BackfillArgs {
    #[command(flatten)]
    table: TableArgs,
}

/// Where the table is and which index.
#[derive(Debug, clap::Args)]
struct TableArgs {
    #[command(flatten)]
    source: TableSource,
    /// Only this index (default: every secondary index, and a non-clustered
    /// primary key).
    #[arg(long)]
    index: Option<String>,
    /// Rows (and entries) per KvScan request.
    #[arg(long, default_value_t = 1024)]
    batch_size: u32,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    table: TableArgs,
    /// Snapshot ts (default: now, from PD).
    #[arg(long)]
    ts: Option<u64>,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        IndexCommand::Check(a) => check(global, a),
        IndexCommand::Backfill(a) => backfill(global, a),
    }
}

fn backfill(global: &GlobalArgs, args: BackfillArgs) -> anyhow::Result<ExitCode> {
    let t = args.table;
    let (cfg, pd_addrs, schema) = t.source.resolve(global)?;
    let progress = Arc::new(BackfillProgress::default());
    let opts = BackfillOptions {
        pd_addrs,
        table: t.source.table,
        schema,
        index: t.index,
        batch_size: t.batch_size.max(1),
        client: ClientOptions::from_task(&cfg),
        cfg,
        progress: Arc::clone(&progress),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime
        .block_on(async {
            let shown = tokio::spawn(show_progress(progress));
            let report = backfill_index(&opts).await;
            shown.abort();
            report
        })
        .context("index backfill failed")?;
    eprintln!(
        "backfilled {} (indexes {}): {} rows scanned in {} ranges ({} finished by an earlier \
         run) at ts {}, {} entries written above ts {}",
        report.table,
        report.indexes.join(", "),
        report.stats.rows,
        report.stats.ranges,
        report.resumed_ranges,
        report.ts,
        report.stats.entries,
        report.commit_ts
    );
    Ok(ExitCode::SUCCESS)
}

/// A progress line on stderr every two seconds while the backfill runs.
async fn show_progress(progress: Arc<BackfillProgress>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
    tick.tick().await;
    loop {
        tick.tick().await;
        eprintln!("{}", super::progress::backfill_line(&progress.view()));
    }
}

fn check(global: &GlobalArgs, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let t = args.table;
    let (cfg, pd_addrs, schema) = t.source.resolve(global)?;
    let opts = CheckOptions {
        pd_addrs,
        table: t.source.table,
        schema,
        index: t.index,
        ts: args.ts,
        batch_size: t.batch_size.max(1),
        client: ClientOptions::from_task(&cfg),
        cfg,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime
        .block_on(check_index(&opts))
        .context("index check failed")?;
    for p in &report.problems {
        println!("{p}");
    }
    let shown = report.problems.len() as u64;
    if report.problem_count > shown {
        println!("… and {} more", report.problem_count - shown);
    }
    eprintln!(
        "checked {} rows and {} stored entries of {} (indexes {}) at ts {}: {}",
        report.rows,
        report.stored,
        report.table,
        report.indexes.join(", "),
        report.ts,
        if report.is_clean() {
            "consistent".to_string()
        } else {
            format!("{} problems", report.problem_count)
        }
    );
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
