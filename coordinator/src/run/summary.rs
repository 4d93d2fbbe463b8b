//! The end-of-job summary: what was imported and how fast.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use squall_codec::KvChecksum;

/// Serializable: `squall coordinator` sends it to `squall import --coordinator`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSummary {
    pub name: String,
    pub rows: u64,
    pub kvs: u64,
    pub kv_bytes: u64,
    pub local_duplicates: u64,
    pub skipped_rows: u64,
    pub warnings: u64,
    /// Conflicting rows found by global duplicate detection.
    pub conflicts: u64,
    /// Wall time of duplicate detection and resolution for this table.
    pub duplicate_ms: u64,
    /// Wall time of this run's checksum of the table inside TiKV (0 when
    /// an earlier run did it, or it is off).
    #[serde(default)]
    pub checksum_ms: u64,
    pub local: KvChecksum,
    /// `None` when the checksum was turned off.
    pub remote: Option<KvChecksum>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub job_id: String,
    pub tables: Vec<TableSummary>,
    pub engines: u64,
    pub source_bytes: u64,
    pub elapsed: Duration,
    /// Wall time of this run's engine phase (encode, sort, ingest).
    #[serde(default)]
    pub engines_elapsed: Duration,
    /// Every table's checksum was compared with TiKV's and matched (see
    /// [`all_matched`]); never set when a checksum was off or mismatched.
    pub verified: bool,
    /// The job had finished before this run; nothing was imported now.
    pub already_done: bool,
    pub output_dir: PathBuf,
    /// The SQL steps on the target (`tidb.host`): what was done, and what
    /// was not and why.
    #[serde(default)]
    pub sql_steps: Vec<String>,
}

impl ImportSummary {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
    pub fn kvs(&self) -> u64 {
        self.tables.iter().map(|t| t.kvs).sum()
    }
    pub fn kv_bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.kv_bytes).sum()
    }
    pub fn duplicates(&self) -> u64 {
        self.tables.iter().map(|t| t.local_duplicates).sum()
    }
    pub fn skipped_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.skipped_rows).sum()
    }
    pub fn conflicts(&self) -> u64 {
        self.tables.iter().map(|t| t.conflicts).sum()
    }
    pub fn duplicate_secs(&self) -> f64 {
        self.tables.iter().map(|t| t.duplicate_ms).sum::<u64>() as f64 / 1e3
    }
    pub fn checksum_secs(&self) -> f64 {
        self.tables.iter().map(|t| t.checksum_ms).sum::<u64>() as f64 / 1e3
    }
    pub fn warnings(&self) -> u64 {
        self.tables.iter().map(|t| t.warnings).sum()
    }

    /// Tables whose checksum was not compared with TiKV's.
    pub fn unchecked(&self) -> Vec<&str> {
        self.tables
            .iter()
            .filter(|t| t.remote.is_none())
            .map(|t| t.name.as_str())
            .collect()
    }

    /// Tables whose checksum TiKV's did not match.
    pub fn mismatched(&self) -> Vec<&str> {
        self.tables
            .iter()
            .filter(|t| t.remote.is_some_and(|r| r != t.local))
            .map(|t| t.name.as_str())
            .collect()
    }

    /// Why the job is not verified: what was not checked, what mismatched
    /// (worded without "verified", which only a match may print).
    fn not_verified(&self) -> String {
        let mut why = Vec::new();
        let unchecked = self.unchecked();
        if !unchecked.is_empty() {
            why.push(format!(
                "NOT CHECKED: no checksum compared with TiKV's for {} of {} tables ({})",
                unchecked.len(),
                self.tables.len(),
                unchecked.join(", ")
            ));
        }
        let mismatched = self.mismatched();
        if !mismatched.is_empty() {
            why.push(format!(
                "checksum MISMATCH with TiKV's in {}",
                mismatched.join(", ")
            ));
        }
        match why.is_empty() {
            true => "NOT verified".to_string(),
            false => why.join("; "),
        }
    }

    /// Source MB/s over this run's wall time.
    pub fn source_mb_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64().max(1e-3);
        self.source_bytes as f64 / 1e6 / secs
    }
}

/// Whether every table's checksum was compared with TiKV's and matched:
/// what "verified" means in a summary, a job state and the exit code.
pub fn all_matched(tables: &[TableSummary]) -> bool {
    tables.iter().all(|t| t.remote == Some(t.local))
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match (self.verified, self.already_done) {
            (true, true) => "already imported and verified".to_string(),
            (true, false) => "imported and verified".to_string(),
            (false, _) => self.not_verified(),
        };
        writeln!(f, "job {}: {status}", self.job_id)?;
        for t in &self.tables {
            let check = match &t.remote {
                Some(r) if *r == t.local => "checksum ok".to_string(),
                Some(r) => format!("checksum MISMATCH (local {}, TiKV {r})", t.local),
                None => "checksum NOT checked".to_string(),
            };
            writeln!(
                f,
                "  {}: {} rows, {} KVs, {} bytes, {} local duplicates, {} conflicting rows (detect+resolve {:.1}s), {} skipped rows, {} warnings, {check}",
                t.name,
                t.rows,
                t.kvs,
                t.kv_bytes,
                t.local_duplicates,
                t.conflicts,
                t.duplicate_ms as f64 / 1e3,
                t.skipped_rows,
                t.warnings
            )?;
        }
        for step in &self.sql_steps {
            writeln!(f, "  SQL: {step}")?;
        }
        write!(
            f,
            "total: {} tables, {} engines, {} rows, {} KVs ({:.1} MB), source {:.1} MB in {:.1}s ({:.1} MB/s), {} local duplicates, {} conflicting rows (detect+resolve {:.1}s), {} skipped rows, {} warnings; phases: engines {:.1}s, detect+resolve {:.1}s, checksum {:.1}s; reports in {}",
            self.tables.len(),
            self.engines,
            self.rows(),
            self.kvs(),
            self.kv_bytes() as f64 / 1e6,
            self.source_bytes as f64 / 1e6,
            self.elapsed.as_secs_f64(),
            self.source_mb_per_sec(),
            self.duplicates(),
            self.conflicts(),
            self.duplicate_secs(),
            self.skipped_rows(),
            self.warnings(),
            self.engines_elapsed.as_secs_f64(),
            self.duplicate_secs(),
            self.checksum_secs(),
            self.output_dir.display()
        )
    }
}
