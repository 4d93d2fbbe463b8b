//! `squall gen-dump`: write a deterministic sample dump (demo, benchmarks, tests).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use squall_common::config::ByteSize;

use crate::config_args::GlobalArgs;
use crate::gen::{self, Dataset, Format, GenOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write the dump into (created if missing).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "shop")]
    dataset: Dataset,
    /// Data file format; default: the dataset's own (sysbench, wide and
    /// norowid SQL, lineitem CSV, shop per table).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Approximate size of the data files, e.g. 100MiB, 1GiB.
    #[arg(long, default_value = "100MiB", value_parser = parse_size)]
    size: ByteSize,
    /// Largest single data file.
    #[arg(long, default_value = "64MiB", value_parser = parse_size)]
    file_size: ByteSize,
    /// Fraction of rows (0 to <1) that repeat an earlier row's primary or
    /// unique key, e.g. 0.01.
    #[arg(long, default_value_t = 0.0)]
    duplicates: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn parse_size(s: &str) -> Result<ByteSize, String> {
    ByteSize::parse(s)
}

pub fn run(_global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let opts = GenOptions {
        dataset: args.dataset,
        format: args.format,
        bytes: args.size.0,
        file_bytes: args.file_size.0.max(1),
        duplicate_ratio: args.duplicates,
        seed: args.seed,
    };
    let summary = gen::generate(&args.out, &opts)
        .with_context(|| format!("writing the sample dump into {}", args.out.display()))?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(ExitCode::SUCCESS)
}
