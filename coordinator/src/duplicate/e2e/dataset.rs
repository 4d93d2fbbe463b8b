//! A generated dataset with every kind of conflict, and what each strategy
//! must leave, computed independently of the resolution code: by counting
//! unique keys (`remove`) and by replaying REPLACE INTO row by row in source
//! order (`replace`).
//!
//! Two tables with the sample schema `(id, u UNIQUE, v, KEY(v))`: one with a
//! clustered integer primary key (conflicts on the record key), one without
//! (a non-clustered primary key, `_tidb_rowid` handles: index conflicts
//! only). Each has rows already in the table, then two engines whose rows
//! collide with those rows, with each other, and among themselves, on the
//! primary key, on the unique key, on both, and as identical copies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use squall_codec::{Datum, TableEncoder};
use squall_common::schema::{HandleKind, TableInfo};

use crate::duplicate::target::tests::sample_table;

/// One source row. `row_id` is its `_tidb_rowid` (ignored by IntPk tables).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SrcRow {
    pub id: i64,
    pub u: Option<i64>,
    pub v: String,
    pub row_id: i64,
}

impl SrcRow {
    pub fn datums(&self) -> Vec<Datum> {
        vec![
            Datum::Int(self.id),
            self.u.map_or(Datum::Null, Datum::Int),
            Datum::Bytes(self.v.as_bytes().to_vec()),
        ]
    }

    /// The row as a report or export shows it.
    pub fn visible(&self) -> (i64, Option<i64>, String) {
        (self.id, self.u, self.v.clone())
    }
}

pub struct TableData {
    pub table: TableInfo,
    pub existing: Vec<SrcRow>,
    /// Engine 0 (chunk 0) and engine 1 (chunk 1), rows in source order.
    pub engines: [Vec<SrcRow>; 2],
}

/// A tiny deterministic generator (no dependency needed for test data).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

pub fn generate(table_id: i64, handle: HandleKind, rows_per_engine: usize, seed: u64) -> TableData {
    let mut table = sample_table(handle);
    table.id = table_id;
    table.name = format!("t{table_id}");
    let mut rng = Lcg(seed);
    let existing: Vec<SrcRow> = (1..=30)
        .map(|id| SrcRow {
            id,
            u: Some(5000 + id),
            v: format!("pre{id}"),
            row_id: id,
        })
        .collect();
    let mut engines: [Vec<SrcRow>; 2] = [Vec::new(), Vec::new()];
    for (e, rows) in engines.iter_mut().enumerate() {
        let id_base = if e == 0 { 20 } else { 250 };
        for i in 0..rows_per_engine {
            let id = id_base + rng.next(300) as i64;
            let u = match rng.next(20) {
                0..=2 => None,
                3 => Some(5000 + 1 + rng.next(40) as i64),
                _ => Some(rng.next(rows_per_engine as u64 * 2) as i64),
            };
            let row_id = (e as i64 + 1) * 100_000 + i as i64;
            rows.push(SrcRow {
                id,
                u,
                v: format!("e{e}-{i}"),
                row_id,
            });
        }
    }
    // Identical rows: a few rows of engine 0 again, as they are, in engine 1
    // (and for the row-id table with their own row ids, as a re-dumped row).
    for i in (0..rows_per_engine).step_by(rows_per_engine / 8 + 1) {
        let mut copy = engines[0][i].clone();
        copy.row_id = 300_000 + i as i64;
        engines[1].push(copy);
    }
    TableData {
        table,
        existing,
        engines,
    }
}

/// Encodes rows; `(row index, KVs)`.
pub fn encode(table: &TableInfo, rows: &[SrcRow]) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut enc = TableEncoder::new(table).expect("valid schema");
    rows.iter()
        .map(|r| {
            let mut kvs = Vec::new();
            enc.encode_row(&r.datums(), r.row_id, &mut kvs)
                .expect("encodes");
            kvs.into_iter().map(|kv| (kv.key, kv.value)).collect()
        })
        .collect()
}

impl TableData {
    /// Every row in source order: the table's rows first, then the engines
    /// in chunk order.
    pub fn source_order(&self) -> Vec<&SrcRow> {
        self.existing
            .iter()
            .chain(&self.engines[0])
            .chain(&self.engines[1])
            .collect()
    }

    fn unique_keys(r: &SrcRow) -> Vec<(u8, i64)> {
        let mut keys = vec![(0, r.id)];
        keys.extend(r.u.map(|u| (1, u)));
        keys
    }

    /// Indexes (into [`Self::source_order`]) of rows sharing a unique key
    /// with another row.
    pub fn conflicting(&self) -> BTreeSet<usize> {
        let rows = self.source_order();
        let mut count: HashMap<(u8, i64), usize> = HashMap::new();
        for r in &rows {
            for k in Self::unique_keys(r) {
                *count.entry(k).or_default() += 1;
            }
        }
        (0..rows.len())
            .filter(|&i| Self::unique_keys(rows[i]).iter().any(|k| count[k] > 1))
            .collect()
    }

    /// The table after `remove`.
    pub fn after_remove(&self) -> BTreeSet<(i64, Option<i64>, String)> {
        let bad = self.conflicting();
        self.source_order()
            .iter()
            .enumerate()
            .filter(|(i, _)| !bad.contains(i))
            .map(|(_, r)| r.visible())
            .collect()
    }

    /// The table after `replace`: REPLACE INTO, one row at a time.
    pub fn after_replace(&self) -> BTreeSet<(i64, Option<i64>, String)> {
        let rows = self.source_order();
        let mut live: BTreeMap<usize, &SrcRow> = BTreeMap::new();
        let mut owner: HashMap<(u8, i64), usize> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            for k in Self::unique_keys(r) {
                if let Some(j) = owner.get(&k).copied() {
                    if let Some(old) = live.remove(&j) {
                        for ok in Self::unique_keys(old) {
                            owner.remove(&ok);
                        }
                    }
                }
            }
            for k in Self::unique_keys(r) {
                owner.insert(k, i);
            }
            live.insert(i, r);
        }
        live.values().map(|r| r.visible()).collect()
    }
}

#[test]
fn the_dataset_has_every_kind_of_conflict() {
    let d = generate(100, HandleKind::IntPk, 200, 7);
    let rows = d.source_order();
    let bad = d.conflicting();
    let n_pre = d.existing.len();
    let n0 = d.engines[0].len();
    let in_engine = |i: usize| {
        if i < n_pre {
            None
        } else if i < n_pre + n0 {
            Some(0)
        } else {
            Some(1)
        }
    };
    let mut kinds = BTreeSet::new();
    for &i in &bad {
        for &j in &bad {
            if i >= j {
                continue;
            }
            let (a, b) = (rows[i], rows[j]);
            let pk = a.id == b.id;
            let uk = a.u.is_some() && a.u == b.u;
            if !(pk || uk) {
                continue;
            }
            let place = match (in_engine(i), in_engine(j)) {
                (None, _) | (_, None) => "existing",
                (Some(x), Some(y)) if x == y => "within",
                _ => "across",
            };
            kinds.insert((place, pk, uk, a.visible() == b.visible()));
        }
    }
    for want in [
        ("existing", true, false),
        ("within", true, false),
        ("within", false, true),
        ("across", true, false),
        ("across", false, true),
        ("across", true, true),
    ] {
        assert!(
            kinds.iter().any(|k| (k.0, k.1, k.2) == want),
            "missing {want:?} in {kinds:?}"
        );
    }
    assert!(kinds.iter().any(|k| k.3), "identical rows");
    assert!(
        kinds.iter().any(|k| k.0 == "existing" && k.2),
        "unique key clash with an existing row"
    );
}
