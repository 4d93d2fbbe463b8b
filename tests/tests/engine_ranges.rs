//! Engine ranges (`squall.engine-ranges`): one table with three secondary
//! indexes (one unique), imported in eight small engines into a fresh sim
//! with ranges on and with them off. Both end verified with the same KVs in
//! TiKV; the sim's `GET /ingests` shows that with ranges on every region of
//! every index received SSTs from exactly one ingest per store, and that
//! with ranges off some index region received several (every engine's
//! index entries spread over the whole index).
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;
use std::path::Path;

use import_common::{config, export, import, import_showing};
use squall_common::config::ByteSize;
use squall_coordinator::ExportFormat;
use squall_tests::sim::start_sim;
use tikv_sim::admin::report::{fetch_ingests, IngestReport};

const TABLE_ID: i64 = 500;
const ROWS: u64 = 6000;

/// `db.t`: INT primary key (rows in key order, as a dump is), three
/// secondary indexes whose values are scattered over the table.
fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("db-schema-create.sql"), "CREATE DATABASE `db`;\n").unwrap();
    std::fs::write(
        dir.join("db.t-schema.sql"),
        "CREATE TABLE `t` (\n  `id` INT NOT NULL PRIMARY KEY,\n  `a` INT NOT NULL,\n  \
         `b` VARCHAR(32) NOT NULL,\n  `c` BIGINT NOT NULL,\n  `pad` VARCHAR(40) NOT NULL,\n  \
         KEY `idx_a` (`a`),\n  KEY `idx_b` (`b`),\n  UNIQUE KEY `uk_c` (`c`)\n);\n",
    )
    .unwrap();
    for file in 0..4u64 {
        let mut text = String::from("id,a,b,c,pad\n");
        let per = ROWS / 4;
        for id in file * per..(file + 1) * per {
            let a = (id * 7919) % 10_007;
            let b = format!("b-{:08}", (id * 104_729) % 1_000_003);
            let c = (id * 6007) % 1_000_000_007;
            text.push_str(&format!("{id},{a},{b},{c},pad-{id:032}\n"));
        }
        std::fs::write(dir.join(format!("db.t.{file:09}.csv")), text).unwrap();
    }
}

/// Raw `[start, end)` bounds of one region (clipped to an index).
type Bounds = (Vec<u8>, Vec<u8>);

struct Run {
    kvs: Vec<String>,
    conflicts: u64,
    report: IngestReport,
    /// Per index: the sim's regions over it (raw bounds).
    index_regions: Vec<(i64, Vec<Bounds>)>,
    engines: u64,
    /// The ranges' part of the job's status (`GET /jobs/<id>`).
    ranges: Option<squall_coordinator::service::RangesStatus>,
}

async fn run(ranges: bool) -> Run {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.squall.table_ids = BTreeMap::from([("db.t".to_string(), TABLE_ID)]);
    cfg.squall.engine_ranges = ranges;
    cfg.mydumper.max_region_size = ByteSize::kib(16);
    cfg.mydumper.batch_size = ByteSize::kib(48);
    cfg.tikv_importer.region_split_size = ByteSize::kib(32);
    cfg.lightning.index_concurrency = 3;
    let progress = squall_coordinator::ImportProgress::new();
    let summary = import_showing(&sim, &source, cfg.clone(), work.path(), progress.clone())
        .await
        .expect("import");
    assert!(summary.verified, "ranges={ranges}: {summary}");
    let store =
        squall_common::checkpoint::LocalCheckpointStore::open(work.path().join("out/checkpoint"))
            .unwrap();
    let range_status = squall_coordinator::service::job_ranges_status(&store, &summary.job_id)
        .await
        .unwrap();
    // The progress display shows the same totals.
    assert_eq!(
        progress.ranges().await,
        range_status.as_ref().map(|s| s.total)
    );
    let report = fetch_ingests(sim.admin_addr).await.expect("GET /ingests");
    let regions = sim.regions();
    let raw = |k: &[u8]| {
        if k.is_empty() {
            Vec::new()
        } else {
            tikv_sim::keys::decode_user_key(k).expect("region key decodes")
        }
    };
    let index_regions = (1..=3)
        .map(|index| {
            let (lo, hi) = squall_codec::key::table_index_range(TABLE_ID, index);
            let inside = regions
                .iter()
                .map(|r| (raw(&r.start_key), raw(&r.end_key)))
                .filter(|(s, e)| (e.is_empty() || e.as_slice() > lo.as_slice()) && s < &hi)
                .map(|(s, e)| {
                    let start = s.max(lo.clone());
                    let end = if e.is_empty() || e > hi {
                        hi.clone()
                    } else {
                        e
                    };
                    (start, end)
                })
                .collect();
            (index, inside)
        })
        .collect();
    let mut kvs: Vec<String> = export(&sim, &source, &cfg, "db.t", ExportFormat::Kv)
        .await
        .lines()
        .map(str::to_string)
        .collect();
    kvs.sort();
    let conflicts = summary.tables.iter().map(|t| t.conflicts).sum();
    sim.shutdown().await;
    Run {
        kvs,
        conflicts,
        report,
        index_regions,
        engines: summary.engines,
        ranges: range_status,
    }
}

/// Most SSTs one store ingested into one region of an index (`write` CF).
fn most_ssts_per_region(r: &Run) -> (u64, u64) {
    let stores: Vec<u64> = r.report.stores.iter().map(|s| s.store_id).collect();
    let mut most = 0;
    let mut regions_with_data = 0;
    for (_, regions) in &r.index_regions {
        for (start, end) in regions {
            let mut any = false;
            for &store in &stores {
                let n = r.report.intersecting(store, "write", start, end).count() as u64;
                any |= n > 0;
                most = most.max(n);
            }
            regions_with_data += u64::from(any);
        }
    }
    (most, regions_with_data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn engine_ranges_ingest_each_index_region_once() {
    let on = run(true).await;
    let off = run(false).await;
    assert!(
        on.engines >= 8 && off.engines >= 8,
        "{} / {}",
        on.engines,
        off.engines
    );
    assert_eq!(on.kvs.len(), off.kvs.len(), "same number of KVs in TiKV");
    assert!(
        on.kvs == off.kvs,
        "the same KVs in TiKV with and without engine ranges"
    );
    assert_eq!(
        on.kvs.len() as u64,
        ROWS * 4,
        "a record and three index entries per row"
    );
    assert_eq!(on.conflicts, off.conflicts);
    // The status shows every range done and, with no duplicates, every KV
    // in TiKV ingested by one of them; a job without ranges shows none.
    let shown = on.ranges.as_ref().expect("ranges in the status").total;
    assert!(shown.ranges_total >= 4, "{shown:?}");
    assert_eq!(shown.ranges_done, shown.ranges_total, "{shown:?}");
    assert_eq!(shown.ingested_kvs, on.kvs.len() as u64, "{shown:?}");
    assert!(shown.ingested_bytes > shown.ingested_kvs, "{shown:?}");
    assert_eq!(off.ranges, None);
    let (most_on, regions_on) = most_ssts_per_region(&on);
    let (most_off, regions_off) = most_ssts_per_region(&off);
    eprintln!(
        "engine ranges on: at most {most_on} SSTs per index region and store over {regions_on} regions, \
         {} overlapping; off: at most {most_off} over {regions_off} regions, {} overlapping",
        on.report.overlapping_ssts(),
        off.report.overlapping_ssts()
    );
    assert!(
        regions_on >= 3,
        "every index holds data: {regions_on} regions"
    );
    assert_eq!(
        most_on, 1,
        "with engine ranges every index region gets one SST per store"
    );
    assert!(
        most_off > 1,
        "without engine ranges an index region gets several SSTs: {most_off}"
    );
}

/// Appends duplicates to the dump of [`write_dump`]: an exact repeat of a
/// row of another file (same primary and unique key, across engines), a new
/// primary key repeating another row's unique value, an existing primary key
/// with new values, and a repeat inside one file (one engine).
fn add_duplicates(dir: &Path) {
    let row = |id: u64| {
        let a = (id * 7919) % 10_007;
        let b = format!("b-{:08}", (id * 104_729) % 1_000_003);
        let c = (id * 6007) % 1_000_000_007;
        (a, b, c)
    };
    let append = |file: u64, lines: &[String]| {
        let path = dir.join(format!("db.t.{file:09}.csv"));
        let mut text = std::fs::read_to_string(&path).unwrap();
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
    };
    let (a0, b0, c0) = row(0);
    let (_, _, c10) = row(10);
    let (a1600, b1600, c1600) = row(1600);
    append(
        3,
        &[
            format!("0,{a0},{b0},{c0},pad-{:032}", 0),
            format!("{ROWS},1,b-unique-clash,{c10},pad-uk"),
            "5,2,b-new-values,2000000000,pad-pk".to_string(),
        ],
    );
    append(1, &[format!("1600,{a1600},{b1600},{c1600},pad-again")]);
}

/// What an import with duplicates ends with: the KVs, or the error.
struct Outcome {
    result: Result<(u64, u64, u64, u64), String>,
    kvs: Vec<String>,
    /// Conflict report lines without the fields that name engines, commit
    /// ts and row tags (they differ with ranges by design), sorted.
    report: Vec<String>,
}

async fn run_duplicates(ranges: bool, strategy: &str) -> Outcome {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    add_duplicates(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.squall.table_ids = BTreeMap::from([("db.t".to_string(), TABLE_ID)]);
    cfg.squall.engine_ranges = ranges;
    cfg.mydumper.max_region_size = ByteSize::kib(16);
    cfg.mydumper.batch_size = ByteSize::kib(48);
    cfg.conflict.strategy = strategy.parse().unwrap();
    let result = import(&sim, &source, cfg.clone(), work.path())
        .await
        .map(|s| {
            assert!(s.verified, "ranges={ranges} {strategy}: {s}");
            let t = &s.tables[0];
            (t.rows, t.kvs, t.kv_bytes, t.conflicts)
        })
        .map_err(|e| e.to_string());
    let mut kvs: Vec<String> = export(&sim, &source, &cfg, "db.t", ExportFormat::Kv)
        .await
        .lines()
        .map(str::to_string)
        .collect();
    kvs.sort();
    let report = report_lines(&work.path().join("out"));
    sim.shutdown().await;
    Outcome {
        result,
        kvs,
        report,
    }
}

/// The conflict report lines under the output dir `out`, without the
/// fields that name engines, commit ts and row tags (they differ with
/// ranges by design), sorted.
fn report_lines(out: &Path) -> Vec<String> {
    let mut report = Vec::new();
    for e in walk(&out.join("conflicts")) {
        if e.extension().is_some_and(|x| x == "jsonl") {
            for line in std::fs::read_to_string(&e).unwrap().lines() {
                let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
                let m = v.as_object_mut().unwrap();
                for f in [
                    "commit_ts",
                    "local_duplicate",
                    "engine_id",
                    "row_tag",
                    "source_row_in_chunk",
                    "source_chunk_offset",
                ] {
                    m.remove(f);
                }
                report.push(v.to_string());
            }
        }
    }
    report.sort();
    report
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Keys repeated across engines meet in one range, whose ingest task lists
/// the copies it did not ingest; the duplicate step resolves them as it
/// does without ranges (where they are remote duplicates): the same KVs,
/// conflict report rows and counts under `replace` and `remove`, the same
/// report and conflicts under `record`, and under `error` the same failure
/// with the same report.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn engine_ranges_resolve_duplicates_as_without_ranges() {
    for strategy in ["replace", "remove", "error", "record"] {
        let on = run_duplicates(true, strategy).await;
        let off = run_duplicates(false, strategy).await;
        eprintln!(
            "{strategy}: on {:?}, off {:?}, {} report lines",
            on.result,
            off.result,
            off.report.len()
        );
        assert!(!off.report.is_empty(), "{strategy}: conflicts reported");
        assert_eq!(on.report, off.report, "{strategy}: same conflict report");
        match strategy {
            // The job stops before resolution writes anything: TiKV holds
            // what was ingested, which differs (without ranges every copy
            // was ingested, each engine's at its own ts).
            "error" => {
                let (e_on, e_off) = (on.result.unwrap_err(), off.result.unwrap_err());
                for e in [&e_on, &e_off] {
                    assert!(e.contains("duplicate keys found"), "{e}");
                    assert!(!e.contains("duplicates/t500-r"), "{e}");
                }
            }
            // Leaves TiKV as ingested (see `error`): the same rows read and
            // conflicts found.
            "record" => {
                let (r_on, r_off) = (on.result.unwrap(), off.result.unwrap());
                assert_eq!(
                    (r_on.0, r_on.3),
                    (r_off.0, r_off.3),
                    "record: rows, conflicts"
                );
                assert!(r_on.3 > 0, "record: conflicts counted");
            }
            _ => {
                let (r_on, r_off) = (on.result.unwrap(), off.result.unwrap());
                assert_eq!(r_on, r_off, "{strategy}: same rows, KVs, bytes, conflicts");
                assert_eq!(on.kvs.len(), off.kvs.len(), "{strategy}: same KV count");
                assert!(on.kvs == off.kvs, "{strategy}: the same KVs in TiKV");
                assert!(r_on.3 > 0, "{strategy}: conflicts counted");
            }
        }
    }
}

/// A second dump into the table of [`write_dump`]: new rows in four files,
/// and row 0 again (other values) in the first and the last, so key 0 is in
/// the table's earlier data and repeated in the dump.
fn write_second_dump(dir: &Path) {
    write_dump(dir);
    for file in 0..4u64 {
        let mut text = String::from("id,a,b,c,pad\n");
        if file == 0 || file == 3 {
            text.push_str(&format!("0,{file},b-again-{file},7{file},pad-again\n"));
        }
        for id in 10_000 + file * 1000..10_000 + (file + 1) * 1000 {
            text.push_str(&format!(
                "{id},{},b-{id},{},pad-{id:032}\n",
                id % 97,
                5_000_000_000 + id
            ));
        }
        std::fs::write(dir.join(format!("db.t.{file:09}.csv")), text).unwrap();
    }
}

/// The second dump imported with `replace` over the first (imported without
/// ranges): the KVs, the conflict report, the conflicts.
async fn run_over_earlier_data(ranges: bool) -> (Vec<String>, Vec<String>, u64) {
    let work = tempfile::tempdir().unwrap();
    let first = work.path().join("dump");
    write_dump(&first);
    let second = work.path().join("dump2");
    write_second_dump(&second);
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.squall.table_ids = BTreeMap::from([("db.t".to_string(), TABLE_ID)]);
    cfg.mydumper.max_region_size = ByteSize::kib(16);
    cfg.mydumper.batch_size = ByteSize::kib(48);
    import(&sim, &first, cfg.clone(), &work.path().join("a"))
        .await
        .expect("first import");
    cfg.squall.engine_ranges = ranges;
    cfg.conflict.strategy = "replace".parse().unwrap();
    cfg.tikv_importer.incremental_import = true;
    cfg.post_restore.checksum = squall_common::config::PostOpLevel::Optional;
    let s = import(&sim, &second, cfg.clone(), &work.path().join("b"))
        .await
        .expect("second import");
    let conflicts = s.tables[0].conflicts;
    let mut kvs: Vec<String> = export(&sim, &second, &cfg, "db.t", ExportFormat::Kv)
        .await
        .lines()
        .map(str::to_string)
        .collect();
    kvs.sort();
    let report = report_lines(&work.path().join("b/out"));
    sim.shutdown().await;
    (kvs, report, conflicts)
}

/// A key both in the table's earlier data and repeated in the dump: with
/// ranges, DuplicateDetect reports the range's ingested version at the
/// range's own commit ts, and resolution must see it as the range's kept
/// copy (`TableJob::ts_alias`), so the latest source row wins as without
/// ranges, the earlier row removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn engine_ranges_resolve_duplicates_over_earlier_data() {
    let on = run_over_earlier_data(true).await;
    let off = run_over_earlier_data(false).await;
    eprintln!(
        "conflicts on {} off {}; report off: {:#?}",
        on.2, off.2, off.1
    );
    assert!(
        off.1.iter().any(|l| l.contains("preexisting"))
            && off
                .1
                .iter()
                .any(|l| l.contains("b-again-3") && l.contains("kept")),
        "the earlier row conflicts, the last copy wins"
    );
    assert_eq!(on.1, off.1, "same conflict report");
    assert_eq!(on.2, off.2, "same conflicts");
    assert_eq!(on.0.len(), off.0.len(), "same KV count");
    assert!(on.0 == off.0, "the same KVs in TiKV");
}
