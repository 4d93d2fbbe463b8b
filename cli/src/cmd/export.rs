//! `squall export`: print a table as it is in TiKV (rows as CSV or JSON
//! lines, or raw KVs), with the schema from the dump or an import's checkpoint.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use squall_client::ClientOptions;
use squall_coordinator::{export_table, ExportFormat, ExportOptions};

use crate::config_args::GlobalArgs;
use crate::table_args::TableSource;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
    Kv,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    table: TableSource,
    #[arg(long, value_enum, default_value = "csv")]
    format: FormatArg,
    /// Read timestamp (default: now, from PD).
    #[arg(long)]
    ts: Option<u64>,
    /// Write here instead of stdout.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let (cfg, pd_addrs, schema) = args.table.resolve(global)?;
    let format = match args.format {
        FormatArg::Csv => ExportFormat::Csv,
        FormatArg::Jsonl => ExportFormat::Jsonl,
        FormatArg::Kv => ExportFormat::Kv,
    };
    let client = ClientOptions::from_task(&cfg);
    let opts = ExportOptions {
        pd_addrs,
        table: args.table.table,
        schema,
        format,
        ts: args.ts,
        cfg,
        client,
    };
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let stats = runtime
        .block_on(export_table(&opts, &mut *out))
        .context("export failed")?;
    drop(out);
    eprintln!(
        "exported {} rows ({} KVs) of {} at ts {}",
        stats.rows, stats.kvs, opts.table, stats.ts
    );
    Ok(ExitCode::SUCCESS)
}
