//! `csv-raw` yardstick: the `csv` crate's fastest path (one reused
//! `ByteRecord`, MySQL-style `\` escapes, header line) over the same CSV
//! files, as in source/benches/parse.rs. What a CSV parse costs on this
//! machine with no conversion at all.

use std::path::PathBuf;

use anyhow::Context;

use crate::dump::par_map;
use crate::measure::{Meter, Report};

const BLOCK: usize = 64 << 10;

pub fn run(files: &[PathBuf], threads: usize) -> anyhow::Result<Report> {
    anyhow::ensure!(
        !files.is_empty(),
        "no CSV data files in the dump: csv-raw needs a CSV dump (gen-dump --format csv)"
    );
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()
        .context("sizing the CSV files")?;
    let meter = Meter::start();
    let counts = par_map(threads, files, |path| {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .escape(Some(b'\\'))
            .buffer_capacity(BLOCK)
            .from_path(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let (mut rec, mut n) = (csv::ByteRecord::new(), 0u64);
        while r
            .read_byte_record(&mut rec)
            .with_context(|| format!("parsing {}", path.display()))?
        {
            n += 1;
        }
        Ok(n)
    })?;
    let span = meter.stop();
    Ok(
        Report::new("csv-raw", threads, bytes, counts.iter().sum(), span)
            .with("files", files.len()),
    )
}
