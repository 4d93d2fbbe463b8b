//! Partitioned tables end to end: RANGE on `YEAR(d)`, RANGE COLUMNS on two
//! columns, LIST with a DEFAULT partition, HASH and KEY. Each row must land
//! in the partition TiDB's rules give (worked out here independently of the
//! router: year bounds, tuple order, `id MOD 4`, `|id mod 4|`, CRC-32 of the
//! id's digits), read back from TiKV's keys, and every row must export back.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;
use std::path::Path;

use import_common::{config, export, export_rows, import, val};
use squall_coordinator::ExportFormat;
use squall_tests::sim::start_sim;

const TABLES: &[(&str, &str)] = &[
    (
        "r",
        "CREATE TABLE `r` (`id` INT PRIMARY KEY, `d` DATE) PARTITION BY RANGE (YEAR(`d`)) (\
         PARTITION p0 VALUES LESS THAN (2020), PARTITION p1 VALUES LESS THAN (2022), \
         PARTITION p2 VALUES LESS THAN MAXVALUE);",
    ),
    (
        "rc",
        "CREATE TABLE `rc` (`id` INT PRIMARY KEY, `a` INT, `b` VARCHAR(8)) \
         PARTITION BY RANGE COLUMNS (`a`, `b`) (PARTITION p0 VALUES LESS THAN (10, 'm'), \
         PARTITION p1 VALUES LESS THAN (20, MAXVALUE), PARTITION p2 VALUES LESS THAN (MAXVALUE, MAXVALUE));",
    ),
    (
        "l",
        "CREATE TABLE `l` (`id` INT PRIMARY KEY, `v` INT) PARTITION BY LIST (`id` MOD 4) (\
         PARTITION p0 VALUES IN (0), PARTITION p1 VALUES IN (1, 2), PARTITION pd DEFAULT);",
    ),
    (
        "h",
        "CREATE TABLE `h` (`id` INT PRIMARY KEY, `v` INT) PARTITION BY HASH (`id`) PARTITIONS 4;",
    ),
    (
        "k",
        "CREATE TABLE `k` (`id` INT PRIMARY KEY, `v` INT) PARTITION BY KEY (`id`) PARTITIONS 3;",
    ),
];

fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("p-schema-create.sql"), "CREATE DATABASE p;\n").unwrap();
    for (name, sql) in TABLES {
        std::fs::write(dir.join(format!("p.{name}-schema.sql")), sql).unwrap();
    }
    let years = [2018, 2019, 2020, 2021, 2022, 2030];
    let rows: Vec<String> = (1..=30)
        .map(|i| format!("({i},'{}-0{}-15')", years[i % years.len()], 1 + i % 9))
        .collect();
    write_insert(dir, "r", &rows);
    let letters = ["a", "l", "m", "n", "z"];
    let rows: Vec<String> = (1..=30)
        .map(|i| {
            format!(
                "({i},{},'{}')",
                [5, 10, 15, 20, 25][i % 5],
                letters[(i / 5) % 5]
            )
        })
        .collect();
    write_insert(dir, "rc", &rows);
    for t in ["l", "h", "k"] {
        let rows: Vec<String> = (-10..=30)
            .map(|i: i64| format!("({i},{})", i * 7))
            .collect();
        write_insert(dir, t, &rows);
    }
}

fn write_insert(dir: &Path, table: &str, rows: &[String]) {
    let sql = format!("INSERT INTO `{table}` VALUES {};\n", rows.join(","));
    std::fs::write(dir.join(format!("p.{table}.000000001.sql")), sql).unwrap();
}

/// CRC-32/IEEE, written here for the test (the worker has its own).
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// The partition index TiDB picks for a row (given as its exported values).
fn expected(table: &str, row: &BTreeMap<String, Option<String>>) -> usize {
    let id: i64 = val(row, "id").parse().unwrap();
    match table {
        "r" => {
            let year: i32 = val(row, "d")[..4].parse().unwrap();
            if year < 2020 {
                0
            } else if year < 2022 {
                1
            } else {
                2
            }
        }
        "rc" => {
            let a: i64 = val(row, "a").parse().unwrap();
            let b = val(row, "b");
            if a < 10 || (a == 10 && b < "m") {
                0
            } else if a <= 20 {
                1
            } else {
                2
            }
        }
        // MOD keeps the sign: -1 MOD 4 = -1, which no list holds.
        "l" => match id % 4 {
            0 => 0,
            1 | 2 => 1,
            _ => 2,
        },
        "h" => (id % 4).unsigned_abs() as usize,
        "k" => (crc32(id.to_string().as_bytes()) % 3) as usize,
        _ => unreachable!(),
    }
}

/// `(table id, int handle)` of a record key `t{id}_r{handle}`; `None` for index keys.
fn record_key(key: &[u8]) -> Option<(i64, i64)> {
    if key.len() != 19 || key[0] != b't' || &key[9..11] != b"_r" {
        return None;
    }
    let int = |b: &[u8]| (u64::from_be_bytes(b.try_into().unwrap()) ^ (1 << 63)) as i64;
    Some((int(&key[1..9]), int(&key[11..19])))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rows_land_in_tidbs_partitions_and_export_back() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    for (table, _) in TABLES {
        let name = format!("p.{table}");
        let rows = export_rows(&sim, &source, &cfg, &name).await;
        let kvs = export(&sim, &source, &cfg, &name, ExportFormat::Kv).await;
        let mut physical: BTreeMap<i64, i64> = BTreeMap::new();
        for line in kvs.lines() {
            let key = hex::decode(line.split('\t').next().unwrap()).unwrap();
            if let Some((tid, handle)) = record_key(&key) {
                physical.insert(handle, tid);
            }
        }
        let want_rows = if *table == "r" || *table == "rc" {
            30
        } else {
            41
        };
        assert_eq!(rows.len(), want_rows, "{name}: every row exported back");
        let base = partition_id_base(&physical);
        for row in &rows {
            let id: i64 = val(row, "id").parse().unwrap();
            let got = physical[&id] - base;
            let want = expected(table, row) as i64;
            assert_eq!(
                got, want,
                "{name}: row {row:?} is in partition {got}, TiDB puts it in {want}"
            );
        }
    }
    sim.shutdown().await;
}

/// The ID of partition 0 (partitions take consecutive IDs): the smallest ID
/// any row is under, as every table here has rows in its first partition.
fn partition_id_base(physical: &BTreeMap<i64, i64>) -> i64 {
    *physical.values().min().unwrap()
}
