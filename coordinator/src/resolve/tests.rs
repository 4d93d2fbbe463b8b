//! Resolution against a small MVCC model of TiKV: engines ingest the first
//! copy of each key at their commit ts and record local duplicates; a model
//! DuplicateDetect applies TiKV's rules; the plan's writes are applied at a
//! newer ts. Each scenario checks the conflicting rows, the final table and
//! that the checksum adjustment turns the local checksum into the table's.

use std::collections::{BTreeMap, BTreeSet};

use squall_codec::key::is_record_key;
use squall_codec::{Datum, Handle, KvChecksum, TableEncoder};
use squall_common::schema::{HandleKind, TableInfo};

use super::analyze::analyze;
use super::checksum::adjustment;
use super::decide::{decide, Fate};
use super::decode::decode_row;
use super::order::SourceOrder;
use super::rows::{Candidates, Origin, TableInputs};
use super::writeset::{write_set, Mutation, WriteSet};
use crate::duplicate::context::EngineSource;
use crate::duplicate::local::LocalDuplicate;
use crate::duplicate::pair::DupPair;
use crate::duplicate::strategy::ConflictStrategy;
use crate::duplicate::target::tests::sample_table;
use crate::duplicate::target::{targets_for, TargetKind};

const MIN_TS: u64 = 100;

/// A source row: `(id, u, v)` of the sample table, plus its `_tidb_rowid`.
#[derive(Clone, Copy)]
struct Src {
    id: i64,
    u: Option<i64>,
    v: &'static str,
    row_id: i64,
}

fn src(id: i64, u: Option<i64>, v: &'static str, row_id: i64) -> Src {
    Src { id, u, v, row_id }
}

fn datums(s: &Src) -> Vec<Datum> {
    vec![
        Datum::Int(s.id),
        s.u.map_or(Datum::Null, Datum::Int),
        Datum::Bytes(s.v.as_bytes().to_vec()),
    ]
}

/// A commit ts and the value written (`None`: a Delete).
type Version = (u64, Option<Vec<u8>>);

#[derive(Default)]
struct Model {
    versions: BTreeMap<Vec<u8>, Vec<Version>>,
    local: Vec<LocalDuplicate>,
    local_sum: KvChecksum,
    base_sum: KvChecksum,
    engines: Vec<EngineSource>,
    /// Record only the copies that were not ingested, as the worker's
    /// duplicate report does today.
    skip_first: bool,
}

impl Model {
    fn put(&mut self, key: &[u8], ts: u64, value: Option<Vec<u8>>) {
        let list = self.versions.entry(key.to_vec()).or_default();
        list.retain(|(t, _)| *t != ts);
        list.push((ts, value));
        list.sort_by_key(|v| std::cmp::Reverse(v.0));
    }

    fn preexisting(&mut self, table: &TableInfo, ts: u64, rows: &[Src]) {
        let mut enc = TableEncoder::new(table).expect("schema");
        for r in rows {
            let mut kvs = Vec::new();
            enc.encode_row(&datums(r), r.row_id, &mut kvs)
                .expect("encodes");
            for kv in kvs {
                self.base_sum.update(&kv.key, &kv.value);
                self.put(&kv.key, ts, Some(kv.value));
            }
        }
    }

    /// An engine: rows in source order get row tags 1, 2, ...; the first
    /// copy of each key is ingested, every copy of a duplicated key recorded.
    fn engine(
        &mut self,
        table: &TableInfo,
        engine_id: u32,
        ts: u64,
        first_chunk: u32,
        rows: &[Src],
    ) {
        let mut enc = TableEncoder::new(table).expect("schema");
        let mut copies: BTreeMap<Vec<u8>, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
        for (i, r) in rows.iter().enumerate() {
            let mut kvs = Vec::new();
            enc.encode_row(&datums(r), r.row_id, &mut kvs)
                .expect("encodes");
            for kv in kvs {
                copies
                    .entry(kv.key)
                    .or_default()
                    .push((i as u64 + 1, kv.value));
            }
        }
        for (key, list) in copies {
            let (_, first) = &list[0];
            self.local_sum.update(&key, first);
            self.put(&key, ts, Some(first.clone()));
            if list.len() > 1 {
                for (n, (tag, value)) in list.iter().enumerate() {
                    if n == 0 && self.skip_first {
                        continue;
                    }
                    self.local.push(LocalDuplicate {
                        engine_id,
                        commit_ts: ts,
                        key: key.clone(),
                        value: value.clone(),
                        row_tag: *tag,
                        ingested: n == 0,
                        source: None,
                    });
                }
            }
        }
        self.engines
            .push(EngineSource::for_test(engine_id, ts, first_chunk));
    }

    /// TiKV's DuplicateDetect rules over one range.
    fn detect(&self, start: &[u8], end: &[u8]) -> Vec<DupPair> {
        let mut out = Vec::new();
        for (key, versions) in self.versions.range(start.to_vec()..end.to_vec()) {
            let (newest_ts, newest) = &versions[0];
            if *newest_ts <= MIN_TS {
                continue;
            }
            let newest = newest.as_ref().expect("no deletes before resolution");
            let mut reported = false;
            for (ts, value) in &versions[1..] {
                let Some(value) = value else { break };
                if !reported {
                    out.push(DupPair {
                        key: key.clone(),
                        value: newest.clone(),
                        commit_ts: *newest_ts,
                    });
                    reported = true;
                }
                out.push(DupPair {
                    key: key.clone(),
                    value: value.clone(),
                    commit_ts: *ts,
                });
                if *ts <= MIN_TS {
                    break;
                }
            }
        }
        out
    }

    fn get(&self, key: &[u8], ts: u64) -> Option<Vec<u8>> {
        self.versions
            .get(key)?
            .iter()
            .find(|(t, _)| *t <= ts)
            .and_then(|(_, v)| v.clone())
    }

    fn apply(&mut self, writes: &WriteSet, ts: u64) {
        for (key, m) in writes {
            let value = match m {
                Mutation::Put(v) => Some(v.clone()),
                Mutation::Delete => None,
            };
            self.put(key, ts, value);
        }
    }

    fn visible(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        self.versions
            .iter()
            .filter_map(|(k, v)| v[0].1.clone().map(|v| (k.clone(), v)))
            .collect()
    }
}

/// What a scenario produced.
struct Outcome {
    /// `(handle, commit ts, row tag, fate)` of every conflicting row.
    rows: BTreeSet<(i64, u64, Option<u64>, Fate)>,
    groups: usize,
    /// `(id, u, v)` of every row left in the table.
    table: BTreeSet<(i64, Option<i64>, String)>,
}

fn run(table: &TableInfo, mut m: Model, strategy: ConflictStrategy) -> Outcome {
    let mut record_pairs = Vec::new();
    let mut index_pairs = Vec::new();
    for t in targets_for(table) {
        let pairs = m.detect(&t.start, &t.end);
        match t.kind {
            TargetKind::Record => record_pairs = pairs,
            TargetKind::Index(id) => index_pairs.extend(pairs.into_iter().map(|p| (id, p))),
        }
    }
    let local = m.local.clone();
    let converter = squall_codec::Converter::new("STRICT_TRANS_TABLES", "UTC").expect("converter");
    let inputs = TableInputs {
        table,
        min_commit_ts: MIN_TS,
        record_pairs: &record_pairs,
        index_pairs: &index_pairs,
        local: &local,
        converter: &converter,
    };
    let mut cands = Candidates::collect(&inputs).expect("collects");
    let read_ts = 1000;
    let entries = cands
        .to_fetch_index
        .keys()
        .map(|k| (k.clone(), m.get(k, read_ts)))
        .collect();
    cands
        .supply_index(&inputs, &entries)
        .expect("supplies entries");
    let fetched = cands
        .to_fetch
        .keys()
        .map(|k| (k.clone(), m.get(k, read_ts)))
        .collect();
    cands.supply(table, &fetched).expect("supplies");
    let analysis = analyze(&inputs, cands).expect("analyzes");
    let order = SourceOrder::new(&m.engines);
    let fates = decide(&analysis, strategy, &order);
    let writes = if strategy.writes() {
        write_set(&analysis, &fates)
    } else {
        WriteSet::new()
    };
    let adj = adjustment(&analysis, &fates, &writes, &local);
    m.apply(&writes, 2000);
    let visible = m.visible();
    let mut actual = KvChecksum::new();
    for (k, v) in &visible {
        actual.update(k, v);
    }
    assert_eq!(
        adj.expected(&m.local_sum, Some(&m.base_sum)),
        actual,
        "checksum adjustment ({strategy:?})"
    );
    let rows = analysis
        .rows
        .iter()
        .zip(&fates)
        .map(|(r, f)| {
            let Handle::Int(h) = r.id.handle else {
                panic!("int handles only")
            };
            (h, r.id.origin.commit_ts(), r.id.origin.row_tag(), *f)
        })
        .collect();
    let table_rows = visible
        .iter()
        .filter(|(k, _)| is_record_key(k))
        .map(|(k, v)| {
            let (_, handle) = squall_codec::decode_record_key(k).expect("record key");
            let d = decode_row(table, &handle, v).expect("decodes");
            let u = match &d[1] {
                Datum::Int(u) => Some(*u),
                _ => None,
            };
            let Datum::Int(id) = d[0] else {
                panic!("id is an int")
            };
            let Datum::Bytes(v) = &d[2] else {
                panic!("v is bytes")
            };
            (id, u, String::from_utf8_lossy(v).into_owned())
        })
        .collect();
    if strategy.writes() {
        check_index_consistency(table, &visible);
    }
    Outcome {
        rows,
        groups: analysis.groups.len(),
        table: table_rows,
    }
}

/// Every visible row's index entries are visible, and nothing else is.
fn check_index_consistency(table: &TableInfo, visible: &BTreeMap<Vec<u8>, Vec<u8>>) {
    let mut enc = TableEncoder::new(table).expect("schema");
    let mut expected = BTreeMap::new();
    for (k, v) in visible.iter().filter(|(k, _)| is_record_key(k)) {
        let (_, handle) = squall_codec::decode_record_key(k).expect("record key");
        let d = decode_row(table, &handle, v).expect("decodes");
        let Handle::Int(h) = handle else {
            panic!("int handle")
        };
        let mut kvs = Vec::new();
        enc.encode_row(&d, h, &mut kvs).expect("encodes");
        for kv in kvs {
            expected.insert(kv.key, kv.value);
        }
    }
    assert_eq!(&expected, visible, "the table's indexes match its rows");
}

fn rows_of(o: &Outcome) -> Vec<(i64, u64, Option<u64>, Fate)> {
    o.rows.iter().copied().collect()
}

fn table_of(o: &Outcome) -> Vec<(i64, Option<i64>, &str)> {
    o.table
        .iter()
        .map(|(a, b, c)| (*a, *b, c.as_str()))
        .collect()
}

/// IntPk: a primary key clash across engines (different rows), a unique
/// key clash across engines (different primary keys), an identical row in
/// both engines, and a duplicate inside engine 1.
fn int_pk_model(table: &TableInfo) -> Model {
    let mut m = Model::default();
    m.engine(
        table,
        0,
        200,
        0,
        &[
            src(1, Some(10), "a0", 0),
            src(2, Some(20), "b0", 0),
            src(4, Some(40), "same", 0),
            src(9, Some(90), "solo", 0),
            src(7, None, "x0", 0),
        ],
    );
    m.engine(
        table,
        1,
        300,
        1,
        &[
            src(1, Some(11), "a1", 0),
            src(3, Some(20), "c1", 0),
            src(4, Some(40), "same", 0),
            src(5, Some(50), "d1", 0),
            src(5, Some(51), "d2", 0),
            src(7, None, "x1", 0),
        ],
    );
    m
}

#[test]
fn int_pk_record_keeps_tikv_and_reports_every_conflict() {
    let table = sample_table(HandleKind::IntPk);
    let out = run(&table, int_pk_model(&table), ConflictStrategy::Record);
    let u = Fate::Unchanged;
    assert_eq!(
        rows_of(&out),
        vec![
            (1, 200, None, u),
            (1, 300, None, u),
            (2, 200, None, u),
            (3, 300, None, u),
            (4, 200, None, u),
            (4, 300, None, u),
            (5, 300, Some(4), u),
            (5, 300, Some(5), u),
            (7, 200, None, u),
            (7, 300, None, u)
        ]
    );
    // pk 1, pk 4, uk 20, uk 40, pk 5 (inside engine 1), pk 7 (whose NULL
    // unique entries, keyed by the handle, TiKV reports too).
    assert_eq!(out.groups, 6);
}

#[test]
fn int_pk_remove_deletes_every_conflicting_row() {
    let table = sample_table(HandleKind::IntPk);
    let out = run(&table, int_pk_model(&table), ConflictStrategy::Remove);
    assert!(out.rows.iter().all(|r| r.3 == Fate::Removed));
    assert_eq!(table_of(&out), vec![(9, Some(90), "solo")]);
}

#[test]
fn int_pk_replace_keeps_the_last_source_row() {
    let table = sample_table(HandleKind::IntPk);
    let out = run(&table, int_pk_model(&table), ConflictStrategy::Replace);
    // Engine 1 comes after engine 0; inside engine 1 the later copy of pk 5
    // wins although only the first copy's record was ingested.
    assert_eq!(
        table_of(&out),
        vec![
            (1, Some(11), "a1"),
            (3, Some(20), "c1"),
            (4, Some(40), "same"),
            (5, Some(51), "d2"),
            (7, None, "x1"),
            (9, Some(90), "solo")
        ]
    );
}

#[test]
fn replace_follows_source_order_not_commit_ts() {
    let table = sample_table(HandleKind::IntPk);
    let mut m = Model::default();
    // Engine 7 holds the later chunk but was given the smaller commit ts.
    m.engine(&table, 7, 150, 3, &[src(1, Some(10), "late", 0)]);
    m.engine(&table, 2, 250, 1, &[src(1, Some(10), "early", 0)]);
    let out = run(&table, m, ConflictStrategy::Replace);
    assert_eq!(table_of(&out), vec![(1, Some(10), "late")]);
}

#[test]
fn replace_orders_rows_of_one_engine_by_row_tag() {
    let table = sample_table(HandleKind::IntPk);
    let mut m = Model::default();
    // Only their unique key is duplicated: the later row (pk 5) must win
    // although its handle sorts first.
    m.engine(
        &table,
        0,
        200,
        0,
        &[src(6, Some(50), "first", 0), src(5, Some(50), "second", 0)],
    );
    let out = run(&table, m, ConflictStrategy::Replace);
    assert_eq!(table_of(&out), vec![(5, Some(50), "second")]);
}

#[test]
fn replace_chain_keeps_rows_whose_rival_was_already_replaced() {
    let table = sample_table(HandleKind::IntPk);
    let mut m = Model::default();
    // A (pk 1, uk 10), then B (pk 1, uk 20), then C (pk 3, uk 10): B replaces
    // A; C shares uk 10 only with A, which is gone, so B and C both stay.
    m.engine(&table, 0, 200, 0, &[src(1, Some(10), "A", 0)]);
    m.engine(&table, 1, 300, 1, &[src(1, Some(20), "B", 0)]);
    m.engine(&table, 2, 400, 2, &[src(3, Some(10), "C", 0)]);
    let out = run(&table, m, ConflictStrategy::Replace);
    assert_eq!(table_of(&out), vec![(1, Some(20), "B"), (3, Some(10), "C")]);
}

/// RowId: a non-clustered primary key and a unique key, rows already in the
/// table, duplicates inside one engine on the unique key only.
fn row_id_model(table: &TableInfo) -> Model {
    let mut m = Model::default();
    m.preexisting(
        table,
        50,
        &[src(1, Some(10), "old1", 1), src(7, Some(70), "old7", 7)],
    );
    m.engine(
        table,
        0,
        200,
        0,
        &[
            src(1, Some(11), "new1", 1001),
            src(2, Some(20), "x", 1002),
            src(3, Some(20), "y", 1003),
            src(8, None, "n", 1004),
        ],
    );
    m.engine(
        table,
        1,
        300,
        1,
        &[src(4, Some(70), "new70", 2001), src(5, None, "n2", 2002)],
    );
    m
}

#[test]
fn row_id_conflicts_with_existing_rows_and_inside_an_engine() {
    let table = sample_table(HandleKind::RowId);
    let out = run(&table, row_id_model(&table), ConflictStrategy::Record);
    let hs: Vec<(i64, u64)> = out.rows.iter().map(|r| (r.0, r.1)).collect();
    // PK 1 old vs new; uk 20 between rows 1002 and 1003 of engine 0; uk 70
    // old row 7 vs new row 2001.
    assert_eq!(
        hs,
        vec![
            (1, 50),
            (7, 50),
            (1001, 200),
            (1002, 200),
            (1003, 200),
            (2001, 300)
        ]
    );
    assert_eq!(out.groups, 3);
}

#[test]
fn row_id_remove_and_replace() {
    let table = sample_table(HandleKind::RowId);
    let removed = run(&table, row_id_model(&table), ConflictStrategy::Remove);
    assert_eq!(table_of(&removed), vec![(5, None, "n2"), (8, None, "n")]);
    let replaced = run(&table, row_id_model(&table), ConflictStrategy::Replace);
    assert_eq!(
        table_of(&replaced),
        vec![
            (1, Some(11), "new1"),
            (3, Some(20), "y"),
            (4, Some(70), "new70"),
            (5, None, "n2"),
            (8, None, "n")
        ]
    );
}

#[test]
fn no_conflicts_no_writes() {
    let table = sample_table(HandleKind::IntPk);
    let mut m = Model::default();
    m.engine(&table, 0, 200, 0, &[src(1, Some(10), "a", 0)]);
    m.engine(&table, 1, 300, 1, &[src(2, Some(20), "b", 0)]);
    let out = run(&table, m, ConflictStrategy::Replace);
    assert!(out.rows.is_empty() && out.groups == 0);
    assert_eq!(out.table.len(), 2);
}

#[test]
fn origins_order_preexisting_first() {
    assert!(
        Origin::Preexisting { commit_ts: 9 }
            < Origin::Imported {
                commit_ts: 1,
                row_tag: None
            }
    );
}

#[test]
fn without_the_ingested_copies_recorded_the_outcome_is_the_same() {
    for (handle, model) in [
        (HandleKind::IntPk, int_pk_model as fn(&TableInfo) -> Model),
        (HandleKind::RowId, row_id_model),
    ] {
        let table = sample_table(handle);
        for strategy in [
            ConflictStrategy::Record,
            ConflictStrategy::Remove,
            ConflictStrategy::Replace,
        ] {
            let full = run(&table, model(&table), strategy);
            let mut m = model(&table);
            m.local.retain(|d| !d.ingested);
            m.skip_first = true;
            let partial = run(&table, m, strategy);
            assert_eq!(
                partial.rows.len(),
                full.rows.len(),
                "{handle:?} {strategy:?}"
            );
            assert_eq!(partial.groups, full.groups, "{handle:?} {strategy:?}");
            assert_eq!(
                table_of(&partial),
                table_of(&full),
                "{handle:?} {strategy:?}"
            );
        }
    }
}
