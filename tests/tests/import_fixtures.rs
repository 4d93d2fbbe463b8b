//! Imports each TiDB Lightning test dataset (../shared/fixtures/lightning)
//! into an in-process tikv-sim and checks, through `export`, the facts
//! EXPECTED.md lists for a correct import. Skipped when ../shared is absent.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::Path;

use import_common::{config, copy_dir, export_rows, fixtures, import, sum_i128, val, Row};
use squall_tests::sim::start_sim;

/// Imports `source` with `cfg_file` into a fresh sim and returns the rows of
/// each table in `tables`.
async fn import_and_read(source: &Path, cfg_file: Option<&Path>, tables: &[&str]) -> Vec<Vec<Row>> {
    let work = tempfile::tempdir().expect("temp dir");
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = config(cfg_file, work.path());
    let summary = import(&sim, source, cfg.clone(), work.path())
        .await
        .unwrap_or_else(|e| panic!("import of {} failed: {e}", source.display()));
    assert!(summary.verified, "{summary}");
    let mut out = Vec::new();
    for t in tables {
        out.push(export_rows(&sim, source, &cfg, t).await);
    }
    sim.shutdown().await;
    out
}

fn crc32_sum(rows: &[Row], col: &str) -> u64 {
    rows.iter()
        .map(|r| u64::from(crc32fast::hash(val(r, col).as_bytes())))
        .sum()
}

fn min_max<'a>(rows: &'a [Row], col: &str) -> (&'a str, &'a str) {
    let vals: Vec<&str> = rows.iter().map(|r| val(r, col)).collect();
    (
        vals.iter().min().copied().unwrap_or(""),
        vals.iter().max().copied().unwrap_or(""),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lightning_examples() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("lightning_examples");
    let tables = [
        "mocker_test.tbl_autoid",
        "mocker_test.tbl_multi_index",
        "mocker_test.report_case_high_risk",
        "mocker_test.i",
    ];
    let rows = import_and_read(&dir.join("examples"), Some(&dir.join("512.toml")), &tables).await;
    let (autoid, multi, risk, i) = (&rows[0], &rows[1], &rows[2], &rows[3]);

    assert_eq!(autoid.len(), 10000);
    assert_eq!(sum_i128(autoid, "ID"), 50_005_000);
    assert_eq!(min_max(autoid, "Name"), ("0-0-0", "4-9-9"));
    assert_eq!(crc32_sum(autoid, "Name"), 21_388_950_023_608);

    assert_eq!(multi.len(), 10000);
    let names: std::collections::BTreeSet<&str> = multi.iter().map(|r| val(r, "Name")).collect();
    assert_eq!(names.len(), 10000);
    assert_eq!(sum_i128(multi, "Age"), 4_777_500, "avg(age) = 477.7500");
    assert_eq!(min_max(multi, "Name"), ("0+0+0", "4+9+9"));
    assert_eq!(crc32_sum(multi, "Name"), 21_433_704_622_808);
    let r = multi
        .iter()
        .find(|r| val(r, "Name") == "1+2+3")
        .expect("row 1+2+3");
    assert_eq!(val(r, "Age"), "6");
    assert_eq!(multi.iter().filter(|r| val(r, "Age") == "6").count(), 20);

    assert_eq!(risk.len(), 1);
    let got: Vec<&str> = [
        "id",
        "report_data",
        "caseType",
        "total_case",
        "today_new_case",
    ]
    .iter()
    .map(|c| val(&risk[0], c))
    .collect();
    assert_eq!(got, ["2", "4", "6", "8", "10"]);

    assert_eq!(i.len(), 1);
    assert_eq!(val(&i[0], "ſ"), "🤪");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lightning_examples_other_block_sizes_and_dotless_i() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("lightning_examples");
    for cfg in ["1.toml", "131072.toml"] {
        let rows = import_and_read(
            &dir.join("examples"),
            Some(&dir.join(cfg)),
            &["mocker_test.tbl_autoid", "mocker_test.tbl_multi_index"],
        )
        .await;
        assert_eq!(rows[0].len(), 10000, "{cfg}");
        assert_eq!(rows[1].len(), 10000, "{cfg}");
        assert_eq!(sum_i128(&rows[0], "ID"), 50_005_000, "{cfg}");
    }
    // The original harness renames `i` to `ı` (U+0131): the table is named after the file.
    let work = tempfile::tempdir().expect("temp dir");
    let renamed = work.path().join("examples");
    copy_dir(&dir.join("examples"), &renamed);
    std::fs::rename(
        renamed.join("mocker_test.i-schema.sql"),
        renamed.join("mocker_test.ı-schema.sql"),
    )
    .expect("rename");
    std::fs::rename(
        renamed.join("mocker_test.i.sql"),
        renamed.join("mocker_test.ı.sql"),
    )
    .expect("rename");
    let rows = import_and_read(&renamed, Some(&dir.join("512.toml")), &["mocker_test.ı"]).await;
    assert_eq!(rows[0].len(), 1);
    assert_eq!(val(&rows[0][0], "ſ"), "🤪");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lightning_exotic_filenames() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("lightning_exotic_filenames");
    let work = tempfile::tempdir().expect("temp dir");
    let src = work.path().join("data");
    std::fs::create_dir_all(&src).expect("mkdir");
    for (from, to) in [
        ("zwk-schema-create.sql", "中文庫-schema-create.sql"),
        ("zwk.zwb-schema.sql", "中文庫.中文表-schema.sql"),
        ("zwk.zwb.sql", "中文庫.中文表.sql"),
        ("xfn-schema-create.sql", "x`f\"n-schema-create.sql"),
        ("xfn.etn-schema.sql", "x`f\"n.exotic`table``name-schema.sql"),
        ("xfn.etn.sql", "x`f\"n.exotic`table``name.sql"),
    ] {
        std::fs::copy(dir.join("data").join(from), src.join(to)).expect("copy");
    }
    let rows = import_and_read(
        &src,
        Some(&dir.join("config.toml")),
        &["x`f\"n.exotic`table``name", "中文庫.中文表"],
    )
    .await;
    assert_eq!(rows[0].len(), 5);
    let mut a: Vec<&str> = rows[0].iter().map(|r| val(r, "a")).collect();
    a.sort();
    assert_eq!(a, ["aaaaaa", "bbbbbb", "cccccc", "dddddd", "eeeeee"]);
    assert_eq!(rows[1].len(), 1);
    assert_eq!(val(&rows[1][0], "a"), "2345");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lightning_column_permutation() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("lightning_column_permutation");
    let rows = import_and_read(
        &dir.join("data"),
        Some(&dir.join("config.toml")),
        &["perm.test_perm"],
    )
    .await;
    let rows = &rows[0];
    assert_eq!(rows.len(), 5);
    let r = rows
        .iter()
        .find(|r| val(r, "contract_no") == "2020061000019011020164030597")
        .expect("the contract row");
    assert_eq!(
        val(r, "fund_seq_no"),
        "202006100001901102016403059520200627"
    );
    assert_eq!(val(r, "region_code"), "000002");
    assert_eq!(val(r, "credit_code"), "33");
    assert!(
        rows.iter().all(|r| r["batch_date"].is_none()),
        "batch_date is not in the CSV"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lightning_default_columns() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("lightning_default-columns");
    let started = chrono::Utc::now().naive_utc();
    let rows = import_and_read(
        &dir.join("data"),
        Some(&dir.join("config.toml")),
        &["defcol.t", "defcol.u"],
    )
    .await;
    let (t, u) = (&rows[0], &rows[1]);
    assert_eq!(t.len(), 9);
    let min_pk = t
        .iter()
        .map(|r| val(r, "pk").parse::<i64>().expect("int"))
        .min();
    assert_eq!(min_pk, Some(1));
    for r in t {
        assert_eq!(r["x"], None);
        assert_eq!(val(r, "y"), "123");
        let z = chrono::NaiveDateTime::parse_from_str(val(r, "z"), "%Y-%m-%d %H:%M:%S")
            .expect("z is a DATETIME");
        let age = started.signed_duration_since(z).num_seconds().abs();
        assert!(
            age < 300,
            "z = {z} is the import time (UTC), started {started}"
        );
    }
    let xx = |yy: &str| val(u.iter().find(|r| val(r, "yy") == yy).expect("row"), "xx").to_string();
    assert_eq!((xx("40"), xx("60")), ("1".to_string(), "2".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lightning_issue_282() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("lightning_issue_282");
    let rows = import_and_read(
        &dir.join("data"),
        Some(&dir.join("config.toml")),
        &["issue282.t_access3"],
    )
    .await;
    let mut keys: Vec<String> = rows[0]
        .iter()
        .map(|r| hex::encode_upper(val(r, "accessKey")))
        .collect();
    keys.sort();
    assert_eq!(keys, ["1A", "405026464C415348534841"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lightning_csv() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("lightning_csv");
    let rows = import_and_read(
        &dir.join("data"),
        Some(&dir.join("config.toml")),
        &["csv.threads", "csv.escapes", "csv.empty_strings"],
    )
    .await;
    let (threads, escapes, empty) = (&rows[0], &rows[1], &rows[2]);

    assert_eq!(threads.len(), 43);
    let non_null = |col: &str| threads.iter().filter(|r| r[col].is_some()).count();
    let sum = |col: &str| {
        threads
            .iter()
            .filter_map(|r| r[col].as_deref())
            .map(|v| v.parse::<i128>().expect("int"))
            .sum::<i128>()
    };
    assert_eq!(
        (
            sum("PROCESSLIST_TIME"),
            sum("THREAD_OS_ID"),
            non_null("PROCESSLIST_STATE")
        ),
        (322_253, 303_775_702, 3)
    );
    assert_eq!(non_null("PROCESSLIST_TIME"), 12);

    let by_i = |i: &str| {
        escapes
            .iter()
            .find(|r| val(r, "i") == i)
            .unwrap_or_else(|| panic!("escapes row {i}"))
    };
    let json = |r: &Row| serde_json::from_str::<serde_json::Value>(val(r, "j")).expect("j is JSON");
    assert_eq!(
        (val(by_i("1"), "t"), val(by_i("1"), "b")),
        ("\\", "0xFFFFFFFF")
    );
    assert_eq!(json(by_i("1")), serde_json::json!({"?": []}));
    assert_eq!(
        (val(by_i("2"), "t"), val(by_i("2"), "b")),
        ("\"", "0x0D0A0D0A")
    );
    assert_eq!(json(by_i("2")), serde_json::json!("\n\n\n"));
    assert_eq!(
        (val(by_i("3"), "t"), val(by_i("3"), "b")),
        ("\n", "0x5C2C5C2C")
    );
    assert_eq!(json(by_i("3")), serde_json::json!([",,,"]));

    assert_eq!(empty.len(), 4);
    assert!(
        empty.iter().all(|r| r["a"].is_some() && r["b"].is_some()),
        "empty fields are '' not NULL"
    );
    let ids: Vec<&str> = empty
        .iter()
        .filter(|r| val(r, "a") == "\"")
        .map(|r| val(r, "id"))
        .collect();
    assert_eq!(ids, ["3"]);
    assert!(empty.iter().all(|r| val(r, "b").is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lightning_file_routing() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("lightning_file_routing");
    let rows = import_and_read(
        &dir.join("data"),
        Some(&dir.join("config.toml")),
        &["fr.tbl", "fr.v"],
    )
    .await;
    assert_eq!(rows[0].len(), 10, "fr/tbl-noused.sql must be ignored");
    assert_eq!(sum_i128(&rows[0], "j"), 55);
    // `fr.v` is a view in TiDB; in TiKV its placeholder table has no rows.
    assert!(rows[1].is_empty());
}
