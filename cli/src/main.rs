//! `squall`: one binary, one subcommand per role. Each subcommand lives in
//! `cmd/` and is a thin shell over the library crates.

mod cluster_args;
mod cmd;
mod config_args;
mod gen;
mod http;
mod table_args;
mod tls_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config_args::GlobalArgs;

/// jemalloc, as TiKV uses: ingest frees and reallocates Write batches from
/// many threads, and glibc's malloc kept that freed heap resident. On a
/// 4 GiB import in 512 MiB engines the ingest phase held 470–560 MiB with
/// glibc and 100–250 MiB with jemalloc, same config (README, Benchmarks).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(
    name = "squall",
    version,
    about = "Distributed bulk loader: SQL dumps into TiKV at disk speed"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a task config file and print it with every default filled in.
    CheckConfig(cmd::check_config::Args),
    /// Write a deterministic sample dump (Dumpling layout) for demos and benchmarks.
    GenDump(cmd::gen_dump::Args),
    /// Import a dump into TiKV (coordinator and workers in this process, or
    /// on a cluster with --coordinator).
    Import(cmd::import::Args),
    /// Run the prechecks of `import` alone (source, schemas, CSV/SQL
    /// settings, cluster, stores, regions, disk, empty tables) and print them.
    Precheck(cmd::precheck::Args),
    /// Run a cluster's coordinator: an HTTP API that runs submitted jobs on
    /// `squall worker` processes (checkpoints in etcd, tasks on NATS).
    Coordinator(cmd::coordinator::Args),
    /// Run a stateless cluster worker: pull engine tasks from NATS and run them.
    Worker(cmd::worker::Args),
    /// List a cluster's jobs, or show one, from its coordinators.
    Job(cmd::job::Args),
    /// Print a table as it is in TiKV (CSV, JSON lines or raw KVs).
    Export(cmd::export::Args),
    /// Check or rebuild a loaded table's indexes from its rows (`index check`, `index backfill`).
    Index(cmd::index::Args),
    /// Print a raw TiDB key or value (hex) in human-readable form.
    Decode(cmd::decode::Args),
    /// Run a TiKV + PD protocol-compatible test cluster (tikv-sim).
    Sim(tikv_sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.global.init_logging();
    let result = match cli.command {
        Command::CheckConfig(args) => cmd::check_config::run(&cli.global, args),
        Command::GenDump(args) => cmd::gen_dump::run(&cli.global, args),
        Command::Sim(args) => cmd::sim::run(args),
        Command::Decode(args) => cmd::decode::run(args),
        Command::Import(args) => cmd::import::run(&cli.global, args),
        Command::Precheck(args) => cmd::precheck::run(&cli.global, args),
        Command::Coordinator(args) => cmd::coordinator::run(args),
        Command::Worker(args) => cmd::worker::run(args),
        Command::Job(args) => cmd::job::run(args),
        Command::Export(args) => cmd::export::run(&cli.global, args),
        Command::Index(args) => cmd::index::run(&cli.global, args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
