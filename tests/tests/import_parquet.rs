//! Parquet files written by pyarrow (tests/data/parquet, see make.py there)
//! imported into tikv-sim and exported back exactly: every type Lightning
//! maps (signed and unsigned integers, booleans, floats, half floats,
//! decimals stored as INT32, INT64 and fixed bytes up to DECIMAL(65,30),
//! dates, times and timestamps in ms/us/ns, local and adjusted to UTC,
//! INT96, strings, plain binary, fixed binary, UUIDs) with NULLs, several
//! row groups, each row group its own chunk. The expected text of every
//! cell is written by hand in make.py, not derived from the reader.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::{Path, PathBuf};

use import_common::{config, export_rows, import, Row};
use squall_common::config::ByteSize;
use squall_tests::sim::start_sim;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/parquet")
}

fn expected(table: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(data().join(format!("pq.{table}.expected.json"))).unwrap();
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&text).unwrap();
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .map(|(k, v)| (k, v.as_str().map(str::to_string)))
                .collect()
        })
        .collect()
}

fn by_id(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by_key(|r| r["id"].as_deref().unwrap().parse::<i64>().unwrap());
    rows
}

/// FLOAT and DOUBLE columns, compared as numbers.
const FLOATS: [&str; 3] = ["f32", "f64", "f16"];

/// Compares cell by cell, so a failure names the row and column.
fn assert_rows_eq(table: &str, got: &[Row], want: &[Row]) {
    assert_eq!(got.len(), want.len(), "{table}: row count");
    for (g, w) in got.iter().zip(want) {
        for (col, wv) in w {
            let gv = g
                .get(col)
                .unwrap_or_else(|| panic!("{table}: no column {col}"));
            if FLOATS.contains(&col.as_str()) {
                // The same float, whichever way it is written (the export
                // writes 1e-300 in full, MySQL as 1e-300).
                let num = |v: &Option<String>| v.as_deref().map(|t| t.parse::<f64>().unwrap());
                assert_eq!(num(gv), num(wv), "{table}: id {:?}, column {col}", w["id"]);
                continue;
            }
            assert_eq!(gv, wv, "{table}: id {:?}, column {col}", w["id"]);
        }
        assert_eq!(g.len(), w.len(), "{table}: columns of id {:?}", w["id"]);
    }
}

/// Imports the two files under `time_zone` and returns (t, legacy) as exported.
async fn import_in(time_zone: &str) -> (Vec<Row>, Vec<Row>) {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("dump");
    std::fs::create_dir_all(&src).unwrap();
    for f in [
        "pq-schema-create.sql",
        "pq.t-schema.sql",
        "pq.t.parquet",
        "pq.legacy-schema.sql",
        "pq.legacy.parquet",
    ] {
        std::fs::copy(data().join(f), src.join(f)).unwrap();
    }
    let mut cfg = config(None, work.path());
    cfg.tidb.time_zone = time_zone.into();
    // One chunk per row group: the 4 row groups of pq.t encode as 4 chunks.
    cfg.mydumper.max_region_size = ByteSize(1);
    let sim = start_sim(&work.path().join("sim")).await;
    let summary = import(&sim, &src, cfg.clone(), work.path())
        .await
        .unwrap_or_else(|e| panic!("import failed: {e}"));
    assert!(summary.verified, "{summary}");
    let t = by_id(export_rows(&sim, &src, &cfg, "pq.t").await);
    let legacy = by_id(export_rows(&sim, &src, &cfg, "pq.legacy").await);
    sim.shutdown().await;
    (t, legacy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parquet_of_every_mapped_type_imports_and_exports_exactly() {
    let (t, legacy) = import_in("UTC").await;
    assert_rows_eq("t", &t, &expected("t"));
    assert_rows_eq("legacy", &legacy, &expected("legacy"));
}

/// Instants (timestamps adjusted to UTC, INT96) are shown in the session
/// zone: a TIMESTAMP column still holds the same instant (the export shows
/// TIMESTAMP in UTC), a DATETIME column the wall time in that zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instants_are_read_in_the_session_time_zone() {
    let (t, legacy) = import_in("+08:00").await;
    let want = expected("t");
    for (g, w) in t.iter().zip(&want) {
        for col in ["ts_utc", "ts_sh", "ts_us", "d"] {
            assert_eq!(g[col], w[col], "id {:?}, column {col}", w["id"]);
        }
    }
    let plus8 = |v: &str| {
        let t = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        (t + chrono::Duration::hours(8))
            .format("%Y-%m-%d %H:%M:%S%.6f")
            .to_string()
    };
    for (g, w) in legacy.iter().zip(&expected("legacy")) {
        let want = w["ts96"].as_deref().map(plus8);
        assert_eq!(g["ts96"], want, "legacy id {:?}", w["id"]);
    }
}
