//! Deterministic sample dumps in Dumpling's layout, for the demo, the
//! benchmarks and the conflict tests. Same seed and options, same bytes.

mod dups;
mod lineitem;
mod norowid;
mod shop;
mod sysbench;
mod values;
mod wide;
mod writer;

use std::path::Path;

use rand::rngs::StdRng;
use rand::SeedableRng;

pub use writer::Format;

/// Which dataset to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dataset {
    /// `sbtest.sbtest1`: sysbench's table (int pk, secondary index on k); SQL by default.
    Sysbench,
    /// `shop.*`: three tables with many column types, unique and secondary
    /// indexes, a table without primary key; CSV and SQL files.
    Shop,
    /// `wide.wide1`: every column type family, int pk, a unique, a
    /// composite and a plain secondary index; SQL by default.
    Wide,
    /// `norowid.norowid1`: a varchar NONCLUSTERED primary key (rows keyed
    /// by `_tidb_rowid`) and one secondary index; SQL by default.
    Norowid,
    /// `tpch.lineitem`: TPC-H's lineitem, clustered (l_orderkey,
    /// l_linenumber) primary key; CSV by default.
    Lineitem,
}

impl Dataset {
    /// The format used when `--format` is not given.
    fn default_format(self) -> Option<Format> {
        match self {
            Dataset::Sysbench | Dataset::Wide | Dataset::Norowid => Some(Format::Sql),
            Dataset::Lineitem => Some(Format::Csv),
            // Each table its own format (customers and events SQL, orders CSV).
            Dataset::Shop => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub dataset: Dataset,
    /// Data file format; `None`: the dataset's default.
    pub format: Option<Format>,
    /// Approximate total bytes of data files.
    pub bytes: u64,
    /// Largest data file; bigger tables are spread over numbered files.
    pub file_bytes: u64,
    /// Fraction of rows (0..1) that reuse an earlier row's primary/unique key.
    pub duplicate_ratio: f64,
    pub seed: u64,
}

impl GenOptions {
    /// The format of tables that have no format of their own.
    fn format(&self) -> Format {
        self.format
            .or(self.dataset.default_format())
            .unwrap_or(Format::Sql)
    }
}

/// What was written, so callers (the demo, tests, benchmarks) can check
/// the import against it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GenSummary {
    /// `db.table` and its rows (duplicates included).
    pub tables: Vec<(String, u64)>,
    /// Bytes of data files.
    pub bytes: u64,
    /// Per table: rows, files, format, and the duplicates written.
    pub details: Vec<TableSummary>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TableSummary {
    pub table: String,
    pub format: Format,
    pub files: u32,
    pub rows: u64,
    pub bytes: u64,
    /// Rows that repeat an earlier row's primary or unique key (`None`:
    /// not counted, `shop`).
    pub duplicate_rows: Option<u64>,
    /// Rows the import reports as conflicting (every row whose key another
    /// row shares); `None` where the dataset cannot tell (`shop`).
    pub conflicting_rows: Option<u64>,
}

impl GenSummary {
    fn of(details: Vec<TableSummary>) -> Self {
        Self {
            tables: details.iter().map(|t| (t.table.clone(), t.rows)).collect(),
            bytes: details.iter().map(|t| t.bytes).sum(),
            details,
        }
    }
}

pub fn generate(dir: &Path, opts: &GenOptions) -> std::io::Result<GenSummary> {
    if !(0.0..1.0).contains(&opts.duplicate_ratio) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "--duplicates {} is not a fraction in [0, 1): give e.g. 0.01 for 1% of the rows",
                opts.duplicate_ratio
            ),
        ));
    }
    std::fs::create_dir_all(dir)?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    match opts.dataset {
        Dataset::Sysbench => sysbench::generate(dir, opts, &mut rng),
        Dataset::Shop => shop::generate(dir, opts, &mut rng),
        Dataset::Wide => wide::generate(dir, opts, &mut rng),
        Dataset::Norowid => norowid::generate(dir, opts, &mut rng),
        Dataset::Lineitem => lineitem::generate(dir, opts, &mut rng),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
