//! What an import leaves that must not depend on faults, and how two are
//! compared: per table the summary line (rows, KVs, bytes, local
//! duplicates, conflicting rows), the KV count and SHA-256 of everything
//! TiKV holds for the table (`squall export --format kv`, rows and indexes,
//! in key order), and the conflict report lines (`commit_ts` aside: each
//! cluster has its own clock).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use super::SQUALL;

pub const TABLES: [&str; 3] = ["shop.customers", "shop.orders", "shop.events"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The summary's table lines up to their timings.
    pub tables: Vec<String>,
    /// Table → (KVs in TiKV, SHA-256 of their `key\tvalue` lines).
    pub digests: BTreeMap<String, (u64, String)>,
    /// Every conflict report line, sorted.
    pub conflicts: Vec<String>,
}

impl Outcome {
    /// Reads the outcome of an import whose summary is `summary`, whose
    /// reports are under `out` and whose KVs are in the cluster at `pd`.
    pub fn read(summary: &str, out: &Path, pd: &str, dump: &Path) -> Self {
        Self {
            tables: table_lines(summary),
            digests: TABLES
                .iter()
                .map(|t| (t.to_string(), digest(pd, t, dump)))
                .collect(),
            conflicts: report_lines(&out.join("conflicts")),
        }
    }

    /// What differs from `want`, one sentence each; empty when exact.
    pub fn differences(&self, want: &Outcome) -> Vec<String> {
        let mut diffs = Vec::new();
        if self.tables != want.tables {
            diffs.push(format!(
                "table totals differ:\n  got  {:?}\n  want {:?}",
                self.tables, want.tables
            ));
        }
        for (table, want_digest) in &want.digests {
            match self.digests.get(table) {
                Some(got) if got == want_digest => {}
                got => diffs.push(format!(
                    "{table}: TiKV holds other KVs: (count, sha256) {got:?}, want {want_digest:?}"
                )),
            }
        }
        if self.conflicts != want.conflicts {
            diffs.push(format!(
                "conflict reports differ: {} lines, want {}",
                self.conflicts.len(),
                want.conflicts.len()
            ));
        }
        diffs
    }

    /// Rows over all tables, from the summary lines.
    pub fn rows(&self) -> u64 {
        self.tables
            .iter()
            .filter_map(|l| {
                l.split(": ")
                    .nth(1)?
                    .split(" rows")
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    }

    /// Conflicting rows over all tables.
    pub fn conflicting_rows(&self) -> u64 {
        self.tables
            .iter()
            .filter_map(|l| {
                l.strip_suffix(" conflicting rows")?
                    .rsplit(", ")
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    }
}

/// `  `db`.`table`: N rows, ...` lines of a summary (with or without the
/// `[import] ` prefix of `--progress log`), cut before the timing.
pub fn table_lines(summary: &str) -> Vec<String> {
    summary
        .lines()
        .map(|l| l.strip_prefix("[import] ").unwrap_or(l))
        .filter(|l| l.starts_with("  `"))
        .map(|l| l.split(" (detect+resolve").next().unwrap_or(l).to_string())
        .collect()
}

/// Streams `squall export --format kv` of `table` through `sha256sum`,
/// counting lines on the way (the export of a big table never sits in memory).
fn digest(pd: &str, table: &str, dump: &Path) -> (u64, String) {
    let mut export = Command::new(SQUALL)
        .args([
            "export", "--format", "kv", "--pd", pd, "--table", table, "--source",
        ])
        .arg(dump)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut hasher = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) runs");
    let mut from = export.stdout.take().unwrap();
    let mut to = hasher.stdin.take().unwrap();
    let (mut lines, mut buf) = (0u64, vec![0u8; 1 << 20]);
    loop {
        let n = from.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        to.write_all(&buf[..n]).unwrap();
    }
    drop(to);
    let exported = export.wait_with_output().unwrap();
    assert!(
        exported.status.success(),
        "squall export of {table} from {pd}: {}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let hashed = hasher.wait_with_output().unwrap();
    assert!(hashed.status.success(), "sha256sum failed");
    let sum = String::from_utf8_lossy(&hashed.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(lines > 0, "{table}: TiKV holds nothing");
    (lines, sum)
}

/// Every JSONL line of the conflict reports, `commit_ts` removed, sorted.
fn report_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return lines;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
                if let Some(obj) = v.as_object_mut() {
                    obj.remove("commit_ts");
                }
                lines.push(v.to_string());
            }
        }
    }
    lines.sort();
    lines
}
