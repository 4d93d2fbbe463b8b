//! Deterministic sample dumps in Dumpling's layout, for the demo, the
//! benchmarks and the conflict tests. Same seed and size, same bytes.

mod shop;
mod sysbench;
mod writer;

use std::path::Path;

use rand::rngs::StdRng;
use rand::SeedableRng;

/// Which dataset to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dataset {
    /// `sbtest.sbtest1`: sysbench's table (int pk, secondary index on k), SQL files.
    Sysbench,
    /// `shop.*`: three tables with many column types, unique and secondary
    /// indexes, a table without primary key; CSV and SQL files.
    Shop,
}

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub dataset: Dataset,
    /// Approximate total bytes of data files.
    pub bytes: u64,
    /// Largest data file; bigger tables are spread over numbered files.
    pub file_bytes: u64,
    /// Fraction of rows (0..1) that reuse an earlier row's primary/unique key.
    pub duplicate_ratio: f64,
    pub seed: u64,
}

/// What was written, so callers (the demo) can check the import against it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GenSummary {
    pub tables: Vec<(String, u64)>,
    pub bytes: u64,
}

pub fn generate(dir: &Path, opts: &GenOptions) -> std::io::Result<GenSummary> {
    std::fs::create_dir_all(dir)?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    match opts.dataset {
        Dataset::Sysbench => sysbench::generate(dir, opts, &mut rng),
        Dataset::Shop => shop::generate(dir, opts, &mut rng),
    }
}
