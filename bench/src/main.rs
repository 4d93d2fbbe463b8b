//! `squall-bench`: one stage of the import alone over a generated dump, or a
//! yardstick of this machine, timed, printed as one JSON line (source MB/s,
//! rows/s, CPU seconds, peak RSS). `scripts/bench.sh` runs them all beside
//! the whole import and prints the table (BENCHMARKS.md).

mod csv_raw;
mod dump;
mod encode;
mod measure;
mod parse;
mod sort;
mod sst_ingest;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The import's allocator, so stage figures match the `squall` binary's.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(
    name = "squall-bench",
    about = "Time one import stage alone, or a machine yardstick"
)]
struct Cli {
    /// Threads (chunks or files at once). Default 1: per-core figures.
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Squall's CSV/SQL readers over every chunk of the dump.
    Parse { dump: PathBuf },
    /// Parse + convert + encode into TiDB KVs (+ checksum), no engine.
    Encode { dump: PathBuf },
    /// The worker's encode into its local RocksDB engine, then one ordered scan.
    Sort {
        dump: PathBuf,
        /// Directory for the engine (removed afterwards).
        #[arg(long)]
        work: PathBuf,
        /// Write the sorted KVs here afterwards (untimed), for `sst-ingest`.
        #[arg(long)]
        export: Option<PathBuf>,
    },
    /// The `csv` crate's raw parse of the dump's CSV files.
    CsvRaw { dump: PathBuf },
    /// RocksDB bulk load (SstFileWriter + ingest) of the KVs `sort --export` wrote.
    SstIngest {
        kvs: PathBuf,
        /// Directory for the SST files and the DB (removed afterwards).
        #[arg(long)]
        work: PathBuf,
        /// Source bytes the KVs came from (for source MB/s).
        #[arg(long)]
        source_bytes: u64,
        /// Bytes of KVs per SST file.
        #[arg(long, default_value_t = 256 << 20)]
        sst_size: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("squall-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<String> {
    let threads = cli.threads.max(1);
    let report = match cli.command {
        Command::Parse { dump } => parse::run(&dump::Dump::open(&dump)?, threads)?,
        Command::Encode { dump } => encode::run(&dump::Dump::open(&dump)?, threads)?,
        Command::Sort { dump, work, export } => {
            sort::run(&dump::Dump::open(&dump)?, threads, &work, export.as_deref())?
        }
        Command::CsvRaw { dump } => {
            let files = dump::Dump::open(&dump)?.csv_files(&dump);
            csv_raw::run(&files, threads)?
        }
        Command::SstIngest {
            kvs,
            work,
            source_bytes,
            sst_size,
        } => sst_ingest::run(&kvs, &work, source_bytes, sst_size.max(1))?,
    };
    Ok(serde_json::to_string(&report)?)
}
