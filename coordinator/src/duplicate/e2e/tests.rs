//! End to end against tikv-sim: real local engines ingested by the worker's
//! region ingest, local duplicates from the worker's own report, then
//! [`detect_and_resolve`] over real DuplicateDetect / KvBatchGet / Write /
//! MultiIngest. Each strategy must leave exactly the table the independent
//! model in `dataset` computes, report exactly the conflicting rows, and
//! make the adjusted local checksum equal TiKV's.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use squall_codec::key::{is_record_key, table_range};
use squall_codec::{Datum, KvChecksum, TableEncoder};
use squall_common::checkpoint::{LocalCheckpointStore, SharedCheckpointStore};
use squall_common::schema::{HandleKind, TableInfo};

use super::dataset::{encode, generate, TableData};
use super::fixture::{fast_retry, tag, Fixture};
use crate::duplicate::cancel::Cancel;
use crate::duplicate::context::{DuplicateContext, TableJob};
use crate::duplicate::detect_and_resolve;
use crate::duplicate::error::DuplicateError;
use crate::duplicate::strategy::ConflictStrategy;
use crate::duplicate::summary::ConflictSummary;
use crate::duplicate::worker_files::WorkerDuplicateFiles;
use crate::resolve::apply::{RegionWriter, ResolutionWriter};
use crate::resolve::decode::decode_row;
use crate::resolve::writeset::WriteSet;
use squall_common::artefacts::LocalArtefactStore;

struct Loaded {
    fx: Fixture,
    data: Vec<TableData>,
    jobs: Vec<TableJob>,
    min_commit_ts: u64,
    local: HashMap<i64, KvChecksum>,
    base: HashMap<i64, KvChecksum>,
    /// Where the workers wrote their duplicate reports.
    worker_output: PathBuf,
}

async fn load(rows_per_engine: usize) -> Loaded {
    let fx = Fixture::start().await;
    let worker_output = fx.path("worker-output");
    let data = vec![
        generate(100, HandleKind::IntPk, rows_per_engine, 7),
        generate(101, HandleKind::RowId, rows_per_engine, 11),
    ];
    let pre_ts = fx.tso().await;
    let mut base = HashMap::new();
    for d in &data {
        let kvs: BTreeMap<Vec<u8>, Vec<u8>> = encode(&d.table, &d.existing)
            .into_iter()
            .flatten()
            .collect();
        base.insert(d.table.id, checksum(&kvs));
        fx.put(kvs, pre_ts).await;
    }
    let min_commit_ts = fx.tso().await;
    // Engine 1 holds the later chunk but gets the older commit ts: `replace`
    // must follow source order, not timestamps.
    let ts1 = fx.tso().await;
    let ts = [fx.tso().await, ts1];
    let mut jobs = Vec::new();
    let mut local = HashMap::new();
    for d in &data {
        let mut engines = Vec::new();
        let mut sum = KvChecksum::new();
        for (e, rows) in d.engines.iter().enumerate() {
            let tagged: Vec<_> = encode(&d.table, rows)
                .into_iter()
                .enumerate()
                .map(|(i, kvs)| (tag(e as u32, i), kvs))
                .collect();
            let (source, ingested) = fx
                .engine(
                    &worker_output,
                    d.table.id,
                    e as u32,
                    e as u32,
                    ts[e],
                    &tagged,
                )
                .await;
            sum.merge(&checksum(&ingested));
            engines.push(source);
        }
        local.insert(d.table.id, sum);
        jobs.push(TableJob {
            table: d.table.clone(),
            engines,
            ts_alias: HashMap::new(),
        });
    }
    Loaded {
        fx,
        data,
        jobs,
        min_commit_ts,
        local,
        base,
        worker_output,
    }
}

fn checksum(kvs: &BTreeMap<Vec<u8>, Vec<u8>>) -> KvChecksum {
    let mut c = KvChecksum::new();
    for (k, v) in kvs {
        c.update(k, v);
    }
    c
}

fn context(
    l: &Loaded,
    job_id: &str,
    strategy: ConflictStrategy,
    store: SharedCheckpointStore,
    output: &Path,
) -> DuplicateContext {
    let engines = l
        .jobs
        .iter()
        .map(|j| (j.table.id, j.engines.clone()))
        .collect();
    DuplicateContext {
        job_id: job_id.to_string(),
        import: l.fx.client.clone(),
        tables: l.jobs.clone(),
        min_commit_ts: l.min_commit_ts,
        strategy,
        threshold: 0,
        checkpoints: store,
        output_dir: output.to_path_buf(),
        concurrency: 4,
        retry: fast_retry(),
        // Small segments: progress is checkpointed many times per range.
        segment_bytes: 512,
        // Small batches: resolution pages through many.
        resolve_batch_rows: 7,
        resolve_memory: crate::duplicate::context::DEFAULT_RESOLVE_MEMORY,
        spill_dir: output.join("spill"),
        local: Arc::new(WorkerDuplicateFiles::new(
            Arc::new(LocalArtefactStore::new(&l.worker_output)),
            engines,
        )),
        source_rows: None,
        converter: squall_codec::Converter::new("STRICT_TRANS_TABLES", "UTC").expect("converter"),
        writer: Arc::new(RegionWriter {
            client: l.fx.client.clone(),
            retry: fast_retry(),
            cancel: Cancel::never(),
        }),
        cancel: Cancel::never(),
    }
}

fn store(l: &Loaded, name: &str) -> SharedCheckpointStore {
    Arc::new(LocalCheckpointStore::open(l.fx.path(name)).expect("checkpoint store"))
}

async fn table_kvs(l: &Loaded, table: &TableInfo) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let (start, end) = table_range(table.id);
    let ts = l.fx.tso().await;
    l.fx.scan(&start, &end, ts).await
}

/// The table's rows as `(id, u, v)`; panics if the table's index entries do
/// not match its rows exactly.
fn rows_and_check_indexes(
    table: &TableInfo,
    kvs: &BTreeMap<Vec<u8>, Vec<u8>>,
) -> Vec<(i64, Option<i64>, String)> {
    let mut enc = TableEncoder::new(table).expect("schema");
    let mut derived = BTreeMap::new();
    let mut rows = Vec::new();
    for (k, v) in kvs.iter().filter(|(k, _)| is_record_key(k)) {
        let (_, handle) = squall_codec::decode_record_key(k).expect("record key");
        let d = decode_row(table, &handle, v).expect("decodes");
        let row_id = match handle {
            squall_codec::Handle::Int(h) => h,
            squall_codec::Handle::Common(_) => 0,
        };
        let mut out = Vec::new();
        enc.encode_row(&d, row_id, &mut out).expect("encodes");
        derived.extend(out.into_iter().map(|kv| (kv.key, kv.value)));
        let (Datum::Int(id), Datum::Bytes(v)) = (&d[0], &d[2]) else {
            panic!("unexpected row {d:?}")
        };
        let u = if let Datum::Int(u) = d[1] {
            Some(u)
        } else {
            None
        };
        rows.push((*id, u, String::from_utf8_lossy(v).into_owned()));
    }
    assert_eq!(
        &derived, kvs,
        "{}: index entries match the rows",
        table.name
    );
    rows
}

fn report(path: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("report")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// The distinct `(id, u, v)` rows a report names.
fn reported_rows(path: &str) -> BTreeSet<(i64, Option<i64>, String)> {
    report(path)
        .iter()
        .map(|l| {
            let r = &l["row"];
            let int =
                |v: &serde_json::Value| v.as_str().map(|s| s.parse::<i64>().expect("int column"));
            (
                int(&r["id"]).expect("id"),
                int(&r["u"]),
                r["v"].as_str().expect("v").to_string(),
            )
        })
        .collect()
}

/// Checks the report and the checksum adjustment of every table.
async fn check_common(l: &Loaded, summary: &ConflictSummary) {
    for d in &l.data {
        let s = summary.table(d.table.id).expect("table summary");
        let rows = d.source_order();
        let expected: BTreeSet<_> = d.conflicting().iter().map(|&i| rows[i].visible()).collect();
        assert_eq!(
            s.conflict_rows as usize,
            d.conflicting().len(),
            "{}: conflicting rows",
            d.table.name
        );
        assert_eq!(
            reported_rows(&s.report_jsonl),
            expected,
            "{}: reported rows",
            d.table.name
        );
        let csv = std::fs::read_to_string(&s.report_csv).expect("csv");
        assert_eq!(
            csv.lines().count(),
            report(&s.report_jsonl).len() + 1,
            "csv has a header and one line per JSON line"
        );
        let kvs = table_kvs(l, &d.table).await;
        let expected_sum = s
            .checksum
            .expected(&l.local[&d.table.id], Some(&l.base[&d.table.id]));
        assert_eq!(
            expected_sum,
            checksum(&kvs),
            "{}: adjusted local checksum equals TiKV's",
            d.table.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_reports_every_conflict_and_leaves_tikv_alone() {
    let l = load(120).await;
    let before: Vec<_> =
        futures::future::join_all(l.data.iter().map(|d| table_kvs(&l, &d.table))).await;
    let out = l.fx.path("out-record");
    let summary = detect_and_resolve(&context(
        &l,
        "rec",
        ConflictStrategy::Record,
        store(&l, "ck-record"),
        &out,
    ))
    .await
    .expect("record");
    check_common(&l, &summary).await;
    let after: Vec<_> =
        futures::future::join_all(l.data.iter().map(|d| table_kvs(&l, &d.table))).await;
    assert_eq!(before, after, "record writes nothing");
    assert!(summary
        .tables
        .iter()
        .all(|t| t.put_kvs == 0 && t.deleted_kvs == 0 && t.resolve_ts == 0));
    let line = &report(&summary.tables[0].report_jsonl)[0];
    for field in [
        "table",
        "index",
        "key_hex",
        "key",
        "handle",
        "commit_ts",
        "origin",
        "action",
        "row",
    ] {
        assert!(!line[field].is_null(), "report field {field}: {line}");
    }
    assert!(
        report(&summary.tables[0].report_jsonl)
            .iter()
            .any(|l| l["source_file"].is_string() && l["source_offset"].is_u64()),
        "local duplicates carry their source position"
    );
    l.fx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_deletes_every_conflicting_row_and_a_restart_changes_nothing() {
    let l = load(120).await;
    let out = l.fx.path("out-remove");
    let ck = store(&l, "ck-remove");
    let ctx = context(&l, "rm", ConflictStrategy::Remove, ck.clone(), &out);
    let summary = detect_and_resolve(&ctx).await.expect("remove");
    check_common(&l, &summary).await;
    for d in &l.data {
        let rows = rows_and_check_indexes(&d.table, &table_kvs(&l, &d.table).await);
        assert_eq!(
            rows.iter().cloned().collect::<BTreeSet<_>>(),
            d.after_remove(),
            "{}",
            d.table.name
        );
        assert_eq!(rows.len(), d.after_remove().len());
    }
    let report_before = std::fs::read(&summary.tables[0].report_jsonl).expect("report");
    // A restarted coordinator: nothing is scanned again (TiKV would answer a
    // key error over the deleted keys), the report is rebuilt identically.
    let again = detect_and_resolve(&ctx)
        .await
        .expect("rerun after resolution");
    assert_eq!(again, summary);
    assert_eq!(
        std::fs::read(&summary.tables[0].report_jsonl).expect("report"),
        report_before
    );
    l.fx.shutdown().await;
}

/// Fails the first write, like a coordinator dying in the middle.
struct FailOnce(std::sync::atomic::AtomicBool, RegionWriter);

#[async_trait]
impl ResolutionWriter for FailOnce {
    async fn write(
        &self,
        table: &str,
        commit_ts: u64,
        set: &WriteSet,
    ) -> Result<(), DuplicateError> {
        if !self.0.swap(true, std::sync::atomic::Ordering::SeqCst) {
            // Half the table's writes land, then the "crash".
            let half: WriteSet = set
                .iter()
                .take(set.len() / 2)
                .map(|(k, m)| (k.clone(), m.clone()))
                .collect();
            self.1.write(table, commit_ts, &half).await?;
            return Err(DuplicateError::Ingest {
                table: table.into(),
                commit_ts,
                reason: "injected crash".into(),
            });
        }
        self.1.write(table, commit_ts, set).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_keeps_the_last_source_row_even_after_a_crash_mid_write() {
    let l = load(120).await;
    let out = l.fx.path("out-replace");
    let ck = store(&l, "ck-replace");
    let mut ctx = context(&l, "rp", ConflictStrategy::Replace, ck.clone(), &out);
    let writer = RegionWriter {
        client: l.fx.client.clone(),
        retry: fast_retry(),
        cancel: Cancel::never(),
    };
    ctx.writer = Arc::new(FailOnce(Default::default(), writer));
    let err = detect_and_resolve(&ctx)
        .await
        .expect_err("the first write fails");
    assert!(matches!(err, DuplicateError::Ingest { .. }), "{err}");
    let summary = detect_and_resolve(&ctx).await.expect("resumes");
    check_common(&l, &summary).await;
    for d in &l.data {
        let rows = rows_and_check_indexes(&d.table, &table_kvs(&l, &d.table).await);
        assert_eq!(
            rows.iter().cloned().collect::<BTreeSet<_>>(),
            d.after_replace(),
            "{}",
            d.table.name
        );
        assert_eq!(rows.len(), d.after_replace().len());
        let s = summary.table(d.table.id).expect("summary");
        assert!(s.kept_rows > 0 && s.removed_rows > 0 && s.resolve_ts > l.min_commit_ts);
    }
    l.fx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_and_threshold_stop_with_the_report_kept() {
    let l = load(60).await;
    let before = table_kvs(&l, &l.data[0].table).await;
    let out = l.fx.path("out-error");
    let err = detect_and_resolve(&context(
        &l,
        "err",
        ConflictStrategy::Error,
        store(&l, "ck-error"),
        &out,
    ))
    .await
    .expect_err("conflicts");
    let DuplicateError::ConflictsFound { rows, summary, .. } = err else {
        panic!("{err}")
    };
    assert!(rows > 0 && rows == summary.conflict_rows());
    assert!(Path::new(&summary.tables[0].report_jsonl).exists());
    let mut ctx = context(
        &l,
        "thr",
        ConflictStrategy::Remove,
        store(&l, "ck-thr"),
        &l.fx.path("out-thr"),
    );
    ctx.threshold = 3;
    let err = detect_and_resolve(&ctx)
        .await
        .expect_err("over the threshold");
    assert!(
        matches!(err, DuplicateError::ThresholdExceeded { threshold: 3, .. }),
        "{err}"
    );
    assert_eq!(
        table_kvs(&l, &l.data[0].table).await,
        before,
        "nothing written"
    );
    let cancel = Cancel::new();
    cancel.cancel();
    let mut ctx = context(
        &l,
        "cancel",
        ConflictStrategy::Remove,
        store(&l, "ck-cancel"),
        &l.fx.path("out-cancel"),
    );
    ctx.cancel = cancel;
    assert!(matches!(
        detect_and_resolve(&ctx).await,
        Err(DuplicateError::Cancelled)
    ));
    l.fx.shutdown().await;
}

/// Report lines without the fields that differ between runs.
fn normalized(summary: &ConflictSummary) -> Vec<String> {
    let mut out: Vec<String> = summary
        .tables
        .iter()
        .flat_map(|t| report(&t.report_jsonl))
        .map(|l| l.to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_errors_and_dropped_streams_find_the_same_conflicts() {
    let l = load(120).await;
    let clean = detect_and_resolve(&context(
        &l,
        "clean",
        ConflictStrategy::Record,
        store(&l, "ck-clean"),
        &l.fx.path("out-clean"),
    ))
    .await
    .expect("clean run");
    let faults = l.fx.sim.faults();
    let mut ids = Vec::new();
    for spec in [
        "rpc=DuplicateDetect,error=EpochNotMatch,rate=0.2,count=6",
        "rpc=DuplicateDetect,error=NotLeader,rate=0.2,count=6",
        "rpc=DuplicateDetect,error=ServerIsBusy,rate=0.1,count=3",
        "rpc=DuplicateDetect,drop_stream_after=0,rate=0.2,count=6",
        "rpc=KvBatchGet,error=NotLeader,rate=0.3,count=4",
        "rpc=KvBatchGet,error=EpochNotMatch,rate=0.3,count=4",
        "rpc=ScanRegions,error=Unavailable,rate=0.2,count=3",
    ] {
        ids.push((spec, faults.inject_spec(spec).expect("valid fault")));
    }
    let faulty = detect_and_resolve(&context(
        &l,
        "faulty",
        ConflictStrategy::Record,
        store(&l, "ck-faulty"),
        &l.fx.path("out-faulty"),
    ))
    .await
    .expect("faulty run");
    let fired: HashMap<u64, u64> = faults.list().iter().map(|f| (f.id, f.fired)).collect();
    for (spec, id) in &ids {
        if spec.contains("EpochNotMatch")
            || spec.contains("drop_stream")
            || spec.contains("KvBatchGet,error=NotLeader")
        {
            assert!(fired[id] > 0, "{spec} never fired: {:?}", faults.list());
        }
    }
    faults.clear();
    assert_eq!(normalized(&faulty), normalized(&clean));
    assert_eq!(faulty.conflict_rows(), clean.conflict_rows());
    l.fx.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_dropped_midway_resumes_from_the_last_complete_key() {
    let mut fx = Fixture::start().await;
    // One region: the record range answers 10 000 versions in three
    // messages of up to 4096 pairs, so a cut after the first message lands
    // in the middle of the range.
    fx.split_keys = 1 << 30;
    let output = fx.path("worker-output");
    let mut table = crate::duplicate::target::tests::sample_table(HandleKind::IntPk);
    table.indices.retain(|ix| !ix.unique || ix.primary);
    let rows: Vec<_> = (0..5000)
        .map(|id| super::dataset::SrcRow {
            id,
            u: Some(id),
            v: format!("r{id}"),
            row_id: 0,
        })
        .collect();
    let min_commit_ts = fx.tso().await;
    let mut engines = Vec::new();
    for e in 0..2u32 {
        let tagged: Vec<_> = encode(&table, &rows)
            .into_iter()
            .enumerate()
            .map(|(i, kvs)| (tag(e, i), kvs))
            .collect();
        let ts = fx.tso().await;
        engines.push(fx.engine(&output, table.id, e, e, ts, &tagged).await.0);
    }
    let l = Loaded {
        jobs: vec![TableJob {
            table: table.clone(),
            engines,
            ts_alias: HashMap::new(),
        }],
        data: Vec::new(),
        min_commit_ts,
        local: HashMap::new(),
        base: HashMap::new(),
        worker_output: output,
        fx,
    };
    let clean = detect_and_resolve(&context(
        &l,
        "clean",
        ConflictStrategy::Record,
        store(&l, "ck-clean"),
        &l.fx.path("out-clean"),
    ))
    .await
    .expect("clean");
    assert_eq!(
        (clean.tables[0].conflict_rows, clean.tables[0].conflict_keys),
        (10_000, 5_000)
    );
    let faults = l.fx.sim.faults();
    let id = faults
        .inject_spec("rpc=DuplicateDetect,drop_stream_after=1,count=2")
        .expect("valid fault");
    let mut ctx = context(
        &l,
        "cut",
        ConflictStrategy::Record,
        store(&l, "ck-cut"),
        &l.fx.path("out-cut"),
    );
    ctx.segment_bytes = 64 << 10;
    let cut = detect_and_resolve(&ctx).await.expect("resumed run");
    assert_eq!(
        faults.list().iter().find(|f| f.id == id).map(|f| f.fired),
        Some(2)
    );
    assert_eq!(normalized(&cut), normalized(&clean));
    l.fx.shutdown().await;
}

/// What the whole-table (one pass) plan gives: every row decoded at once.
struct OnePass {
    lines: Vec<crate::conflict_report::lines::ReportLine>,
    writes: WriteSet,
    adjustment: crate::resolve::checksum::ChecksumAdjustment,
    fates: Vec<crate::resolve::decide::Fate>,
    groups: usize,
}

async fn one_pass(ctx: &DuplicateContext, job: &TableJob, read_ts: u64) -> OnePass {
    use crate::resolve::{analyze, checksum, decide, order, rows, table, writeset};
    let (record_pairs, index_pairs) = table::load_pairs(ctx, job).await.expect("pairs");
    let local = ctx.local.load(&job.table).await.expect("local");
    let inputs = rows::TableInputs {
        table: &job.table,
        min_commit_ts: ctx.min_commit_ts,
        record_pairs: &record_pairs,
        index_pairs: &index_pairs,
        local: &local,
        converter: &ctx.converter,
    };
    let cands = table::gather(ctx, job, &inputs, read_ts)
        .await
        .expect("gather");
    let analysis = analyze::analyze(&inputs, cands).expect("analyze");
    let order = order::SourceOrder::new(&job.engines);
    let fates = decide::decide(&analysis, ctx.strategy, &order);
    let writes = if ctx.strategy.writes() {
        writeset::write_set(&analysis, &fates)
    } else {
        WriteSet::new()
    };
    let adjustment = checksum::adjustment(&analysis, &fates, &writes, &local);
    let lines = crate::conflict_report::lines::report_lines(
        &job.table,
        &job.engines,
        &analysis,
        &fates,
        &order,
    );
    OnePass {
        lines,
        writes,
        adjustment,
        fates,
        groups: analysis.groups.len(),
    }
}

/// `conflict.resolve-batch-rows` changes how much is decoded at a time,
/// never the result: with batches of 1 and 3 rows (many batches, linked rows
/// kept together) and one batch, the plan, the union of the batches' writes,
/// the checksum adjustment and the report files equal the one-pass plan's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paged_resolution_equals_the_one_pass_plan() {
    use crate::conflict_report::files::{write_table_report, ReportWriter};
    use crate::resolve::batch::Pager;
    use crate::resolve::table::plan_table;
    use crate::resolve::writeset::counts;

    let l = load(120).await;
    let ck = store(&l, "ck-paged");
    let out = l.fx.path("out-paged");
    // Detection once; `record` writes nothing, so every plan sees the same data.
    let ctx = context(&l, "paged", ConflictStrategy::Record, ck.clone(), &out);
    detect_and_resolve(&ctx).await.expect("detects");
    let read_ts = l.fx.tso().await;
    for strategy in [
        ConflictStrategy::Record,
        ConflictStrategy::Remove,
        ConflictStrategy::Replace,
    ] {
        let mut ctx = context(&l, "paged", strategy, ck.clone(), &out);
        for job in &l.jobs {
            let reference = one_pass(&ctx, job, read_ts).await;
            let dir =
                l.fx.path(&format!("one-{}-{}", strategy.as_str(), job.table.id));
            let (ref_jsonl, ref_csv) =
                write_table_report(&dir, &job.table, &reference.lines).expect("report");
            assert!(!reference.lines.is_empty());
            let mut batch_counts = Vec::new();
            for batch_rows in [1, 3, usize::MAX] {
                let what = format!(
                    "{} {} batch {batch_rows}",
                    strategy.as_str(),
                    job.table.name
                );
                ctx.resolve_batch_rows = batch_rows;
                let plan = plan_table(&ctx, job, read_ts).await.expect("plan");
                batch_counts.push(plan.grouping.batches.len());
                assert_eq!(plan.fates, reference.fates, "{what}: fates");
                assert_eq!(plan.conflict_keys() as usize, reference.groups, "{what}");
                assert_eq!(plan.adjustment, reference.adjustment, "{what}: adjustment");
                let mut pager =
                    Pager::new(&job.table, &ctx.converter, &plan.grouping).expect("pager");
                let mut writes = WriteSet::new();
                if strategy.writes() {
                    for b in 0..plan.grouping.batches.len() {
                        for (k, m) in pager.writes(b, &plan.fates).expect("writes") {
                            assert!(writes.insert(k, m).is_none(), "{what}: batches overlap");
                        }
                    }
                }
                assert_eq!(writes, reference.writes, "{what}: writes");
                assert_eq!(
                    (plan.put_kvs, plan.deleted_kvs),
                    counts(&reference.writes),
                    "{what}"
                );
                let dir = l.fx.path(&format!("paged-{what}").replace(' ', "-"));
                let mut report = ReportWriter::create(&dir, &job.table).expect("report");
                let mut pages = 0;
                pager
                    .report(
                        &job.engines,
                        &plan.fates,
                        &plan.order,
                        batch_rows,
                        |lines| {
                            pages += 1;
                            report.append(lines)
                        },
                    )
                    .expect("report pages");
                let (jsonl, csv) = report.finish().expect("report files");
                assert!(batch_rows > 1 || pages == plan.conflict_keys() as usize);
                assert_eq!(
                    std::fs::read(jsonl).expect("jsonl"),
                    std::fs::read(&ref_jsonl).expect("jsonl"),
                    "{what}: JSONL"
                );
                assert_eq!(
                    std::fs::read(csv).expect("csv"),
                    std::fs::read(&ref_csv).expect("csv"),
                    "{what}: CSV"
                );
            }
            assert!(
                batch_counts[0] > batch_counts[1]
                    && batch_counts[1] > batch_counts[2]
                    && batch_counts[2] == 1,
                "{batch_counts:?}"
            );
        }
    }
    l.fx.shutdown().await;
}

/// Records every mutation a resolution writes (after `inner` wrote it).
struct Capture {
    inner: Arc<dyn ResolutionWriter>,
    seen: std::sync::Mutex<BTreeMap<(String, Vec<u8>), crate::resolve::writeset::Mutation>>,
}

#[async_trait]
impl ResolutionWriter for Capture {
    async fn write(
        &self,
        table: &str,
        commit_ts: u64,
        set: &WriteSet,
    ) -> Result<(), DuplicateError> {
        self.inner.write(table, commit_ts, set).await?;
        let mut seen = self.seen.lock().expect("lock");
        for (k, m) in set {
            seen.insert((table.to_string(), k.clone()), m.clone());
        }
        Ok(())
    }
}

/// Writes nothing (the reference run must leave TiKV to the run under test).
struct Nowhere;

#[async_trait]
impl ResolutionWriter for Nowhere {
    async fn write(&self, _: &str, _: u64, _: &WriteSet) -> Result<(), DuplicateError> {
        Ok(())
    }
}

/// `conflict.resolve-memory` changes where a plan is held, never the
/// result: with a 1-byte budget every table is resolved in shards spilled
/// to disk (and its first write crashes half-way, then resumes), and the
/// report files are byte for byte, the writes key for key and the summary
/// figure for figure those of whole-table plans; TiKV ends as the model says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_resolve_memory_spills_shards_with_the_same_results() {
    use crate::resolve::stream::resolve_table;

    let l = load(120).await;
    let capture = |inner: Arc<dyn ResolutionWriter>| {
        Arc::new(Capture {
            inner,
            seen: Default::default(),
        })
    };
    // The reference: whole-table plans (the default budget), written nowhere.
    let big_out = l.fx.path("out-big");
    let mut big = context(
        &l,
        "big",
        ConflictStrategy::Replace,
        store(&l, "ck-big"),
        &big_out,
    );
    let big_writes = capture(Arc::new(Nowhere));
    big.writer = big_writes.clone();
    let reference = detect_and_resolve(&big).await.expect("whole plans");
    // The tiny budget does spill: many shards, nothing left on disk after.
    let read_ts = l.fx.tso().await;
    let mut split = big.clone();
    split.resolve_memory = 1;
    split.output_dir = l.fx.path("out-split");
    for job in &l.jobs {
        let plan = resolve_table(&split, job, read_ts).await.expect("plan");
        assert!(
            plan.shards > 1,
            "{}: {} shards",
            job.table.name,
            plan.shards
        );
        let dir = split.spill_dir.join(format!("t{}", job.table.id));
        assert!(dir.exists());
        drop(plan);
        assert!(!dir.exists(), "{} removed", dir.display());
        let whole = resolve_table(&big, job, read_ts).await.expect("plan");
        assert_eq!(whole.shards, 1);
    }

    let tiny_out = l.fx.path("out-tiny");
    let ck = store(&l, "ck-tiny");
    let mut tiny = context(&l, "tiny", ConflictStrategy::Replace, ck, &tiny_out);
    tiny.resolve_memory = 1;
    let region = RegionWriter {
        client: l.fx.client.clone(),
        retry: fast_retry(),
        cancel: Cancel::never(),
    };
    let tiny_writes = capture(Arc::new(FailOnce(Default::default(), region)));
    tiny.writer = tiny_writes.clone();
    let err = detect_and_resolve(&tiny)
        .await
        .expect_err("the first write fails");
    assert!(matches!(err, DuplicateError::Ingest { .. }), "{err}");
    let summary = detect_and_resolve(&tiny).await.expect("resumes");

    for (want, got) in reference.tables.iter().zip(&summary.tables) {
        let name = &want.table;
        for (a, b) in [
            (&want.report_jsonl, &got.report_jsonl),
            (&want.report_csv, &got.report_csv),
        ] {
            assert_ne!(a, b, "two output dirs");
            let (a, b) = (
                std::fs::read(a).expect("ref"),
                std::fs::read(b).expect("tiny"),
            );
            assert!(a.len() > 200, "{name}: the report has lines");
            assert!(
                a == b,
                "{name}: the spilled report is byte for byte the whole one"
            );
        }
        let figures = |s: &crate::duplicate::summary::TableConflictSummary| {
            (
                s.remote_versions,
                s.local_copies,
                s.conflict_keys,
                s.conflict_rows,
                s.kept_rows,
                s.removed_rows,
                s.put_kvs,
                s.deleted_kvs,
                s.checksum,
            )
        };
        assert_eq!(figures(want), figures(got), "{name}: summary");
        assert!(got.kept_rows > 0 && got.removed_rows > 0 && got.put_kvs > 0);
    }
    let writes = |c: &Capture| c.seen.lock().expect("lock").clone();
    assert_eq!(writes(&big_writes), writes(&tiny_writes), "the same writes");
    check_common(&l, &summary).await;
    for d in &l.data {
        let rows = rows_and_check_indexes(&d.table, &table_kvs(&l, &d.table).await);
        assert_eq!(
            rows.iter().cloned().collect::<BTreeSet<_>>(),
            d.after_replace(),
            "{}",
            d.table.name
        );
    }
    l.fx.shutdown().await;
}

/// The links of unique index conflicts count in `conflict.resolve-memory`
/// with the inputs pass one keeps: a budget of exactly both keeps the
/// inputs for a whole-table plan, one byte less does not (the table is then
/// sharded, with the same results: the test above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_links_of_unique_index_conflicts_count_in_the_budget() {
    use crate::resolve::shard::EXPANSION;
    use crate::resolve::stream::first_pass;

    let l = load(60).await;
    let out = l.fx.path("out-links");
    let ctx = context(
        &l,
        "links",
        ConflictStrategy::Record,
        store(&l, "ck-links"),
        &out,
    );
    detect_and_resolve(&ctx).await.expect("detects");
    let mut linked = 0;
    for job in &l.jobs {
        let all = first_pass(&ctx, job, u64::MAX).await.expect("pass one");
        assert!(all.fits());
        let (inputs, links) = (all.cost * EXPANSION, all.router.bytes());
        if links == 0 {
            continue;
        }
        linked += 1;
        let name = &job.table.name;
        let exact = first_pass(&ctx, job, inputs + links)
            .await
            .expect("pass one");
        assert!(
            exact.fits(),
            "{name}: inputs {inputs} B + links {links} B fit"
        );
        let short = first_pass(&ctx, job, inputs + links - 1)
            .await
            .expect("pass one");
        assert!(!short.fits(), "{name}: one byte short does not fit");
        assert_eq!((short.cost, short.router.bytes()), (all.cost, links));
    }
    assert!(
        linked > 0,
        "some table has rows linked by unique index conflicts"
    );
    l.fx.shutdown().await;
}
