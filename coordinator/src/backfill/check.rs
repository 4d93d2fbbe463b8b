//! `squall index check`: TiDB's `ADMIN CHECK INDEX` for a loaded table.
//!
//! At one snapshot ts (held by a PD service GC safepoint while the check
//! runs), every row of the table is read back ([`RangeScanner`], the
//! region walk `squall export` uses), its entries in the checked indexes
//! derived with the import's encoder ([`RowEntries`]), and compared with
//! the entries stored in each index's key range:
//! * **missing**: a row's entry is not stored;
//! * **extra**: a stored entry no row derives (its handle is decoded from
//!   the entry when it can be);
//! * **mismatched**: the key is stored but its value differs;
//! * **duplicate**: two rows derive the same unique entry (a unique index
//!   violated in the data).
//!
//! The derived entries of one physical table are held in memory, sorted,
//! and merged with the stored index range as it streams by: memory grows
//! with rows × checked indexes (`--index` checks one at a time).

use std::collections::BTreeMap;
use std::fmt;

use squall_client::{ClientOptions, ImportClient};
use squall_codec::key::{table_index_range, table_record_range};
use squall_codec::{decode_index_handle, Converter, Handle};
use squall_common::schema::IndexInfo;
use squall_common::TaskConfig;

use super::entries::RowEntries;
use super::session::{Selection, Session};
use super::target::IndexTarget;
use crate::error::CoordinatorError;
use crate::export::SchemaSource;
use crate::scan::RangeScanner;

/// Problems kept in the report (all are counted).
pub const KEPT_PROBLEMS: usize = 1000;

/// What to check.
pub struct CheckOptions {
    pub pd_addrs: Vec<String>,
    /// `db.table` (see [`crate::export::name_matches`]).
    pub table: String,
    pub schema: SchemaSource,
    /// Only this index; `None` checks every index that writes entries.
    pub index: Option<String>,
    /// Snapshot ts; `None` takes a fresh one from PD.
    pub ts: Option<u64>,
    /// Rows per `KvScan` page.
    pub batch_size: u32,
    /// `tidb.sql-mode` and `tidb.time-zone` compute VIRTUAL columns.
    pub cfg: TaskConfig,
    pub client: ClientOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    Missing,
    Extra,
    Mismatched,
    Duplicate,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "missing",
            Self::Extra => "extra",
            Self::Mismatched => "mismatched",
            Self::Duplicate => "duplicate",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexProblem {
    pub kind: ProblemKind,
    pub index: String,
    pub key: Vec<u8>,
    /// The row(s) concerned: one handle, or both for a duplicate; for an
    /// extra entry whose handle cannot be decoded, why.
    pub handles: Vec<String>,
    pub detail: String,
}

impl fmt::Display for IndexProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entry in index {}: handle {} key {}",
            self.kind,
            self.index,
            self.handles.join(" and "),
            hex::encode(&self.key)
        )?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub table: String,
    pub indexes: Vec<String>,
    pub ts: u64,
    pub rows: u64,
    /// Entries read from the index ranges.
    pub stored: u64,
    /// Every problem found (`problems` keeps the first [`KEPT_PROBLEMS`]).
    pub problem_count: u64,
    pub problems: Vec<IndexProblem>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.problem_count == 0
    }

    fn note(&mut self, p: IndexProblem) {
        tracing::debug!(problem = %p, "index check");
        self.problem_count += 1;
        if self.problems.len() < KEPT_PROBLEMS {
            self.problems.push(p);
        }
    }
}

/// Finds the table and checks it.
pub async fn check_index(opts: &CheckOptions) -> Result<CheckReport, CoordinatorError> {
    let sel = Selection {
        pd_addrs: &opts.pd_addrs,
        table: &opts.table,
        schema: &opts.schema,
        index: opts.index.as_deref(),
        cfg: &opts.cfg,
        client: &opts.client,
    };
    let s = Session::open("index check", sel, opts.ts).await?;
    let checked = check_target(&s.client, &s.target, &s.converter, s.ts, opts.batch_size).await;
    s.close().await;
    checked
}

/// Checks `target`'s indexes at `ts`.
pub async fn check_target(
    client: &ImportClient,
    target: &IndexTarget,
    converter: &Converter,
    ts: u64,
    batch_size: u32,
) -> Result<CheckReport, CoordinatorError> {
    let mut report = CheckReport {
        table: target.table.qualified_name(),
        indexes: target.indexes.iter().map(|ix| ix.name.clone()).collect(),
        ts,
        ..Default::default()
    };
    for &pid in &target.physical_ids {
        let expected =
            derive_all(client, target, pid, converter, ts, batch_size, &mut report).await?;
        for ix in &target.indexes {
            let want = expected.get(&ix.id).cloned().unwrap_or_default();
            compare_index(client, target, pid, ix, want, ts, batch_size, &mut report).await?;
        }
    }
    Ok(report)
}

/// An entry a row should have.
#[derive(Debug, Clone)]
struct Expected {
    value: Vec<u8>,
    handle: Handle,
}

type ByIndex = BTreeMap<i64, BTreeMap<Vec<u8>, Expected>>;

/// Every entry the rows of physical table `pid` derive, by index, sorted.
async fn derive_all(
    client: &ImportClient,
    target: &IndexTarget,
    pid: i64,
    converter: &Converter,
    ts: u64,
    batch_size: u32,
    report: &mut CheckReport,
) -> Result<ByIndex, CoordinatorError> {
    let mut rows = RowEntries::new(target, pid, converter)?;
    let (start, end) = table_record_range(pid);
    let mut scanner = RangeScanner::new(client, start, end, ts).with_page(batch_size);
    let mut out = ByIndex::new();
    while let Some(page) = scanner.next_page().await? {
        for (key, value) in &page {
            report.rows += 1;
            let (handle, kvs) = rows.entries(key, value)?;
            for kv in kvs {
                let Some(id) = kv.index_id else { continue };
                let entries = out.entry(id).or_default();
                if let Some(first) = entries.get(&kv.key) {
                    let p = IndexProblem {
                        kind: ProblemKind::Duplicate,
                        index: target.index_name(id).to_string(),
                        handles: vec![first.handle.to_string(), handle.to_string()],
                        detail: "two rows have the same unique index value".into(),
                        key: kv.key,
                    };
                    report.note(p);
                    continue;
                }
                entries.insert(
                    kv.key,
                    Expected {
                        value: kv.value,
                        handle: handle.clone(),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// Merges the sorted expected entries with the stored index range.
#[allow(clippy::too_many_arguments)]
async fn compare_index(
    client: &ImportClient,
    target: &IndexTarget,
    pid: i64,
    ix: &IndexInfo,
    want: BTreeMap<Vec<u8>, Expected>,
    ts: u64,
    batch_size: u32,
    report: &mut CheckReport,
) -> Result<(), CoordinatorError> {
    let table = target.physical(pid);
    let problem = |kind, key: &[u8], handles: Vec<String>, detail: String| IndexProblem {
        kind,
        index: ix.name.clone(),
        key: key.to_vec(),
        handles,
        detail,
    };
    let missing = |key: &[u8], e: &Expected| {
        problem(
            ProblemKind::Missing,
            key,
            vec![e.handle.to_string()],
            String::new(),
        )
    };
    let mut want = want.into_iter().peekable();
    let (start, end) = table_index_range(pid, ix.id);
    let mut scanner = RangeScanner::new(client, start, end, ts).with_page(batch_size);
    while let Some(page) = scanner.next_page().await? {
        for (key, value) in &page {
            report.stored += 1;
            while let Some((k, e)) = want.next_if(|(k, _)| k < key) {
                report.note(missing(&k, &e));
            }
            match want.next_if(|(k, _)| k == key) {
                Some((_, e)) if e.value == *value => {}
                Some((_, e)) => report.note(problem(
                    ProblemKind::Mismatched,
                    key,
                    vec![e.handle.to_string()],
                    format!(
                        "stored value {}, the row gives {}",
                        hex::encode(value),
                        hex::encode(&e.value)
                    ),
                )),
                None => {
                    let handle = match decode_index_handle(key, value, &table, ix) {
                        Ok(h) => h.to_string(),
                        Err(e) => format!("<undecodable: {e}>"),
                    };
                    report.note(problem(
                        ProblemKind::Extra,
                        key,
                        vec![handle],
                        "no row has this entry".into(),
                    ));
                }
            }
        }
    }
    for (k, e) in want {
        report.note(missing(&k, &e));
    }
    Ok(())
}
