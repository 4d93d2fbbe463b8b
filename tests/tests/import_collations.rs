//! Unique keys under TiDB's collations, end to end: rows whose values are
//! equal under the column's collation are conflicts (and `remove` drops
//! them all), rows that differ are not. `utf8mb4_0900_ai_ci` is NO PAD
//! (`'a'`/`'a '` differ), `utf8mb4_unicode_ci` pads and folds case and
//! expansions (`'y'`/`'Y '`, `'ß'`/`'ss'`), `utf8mb4_bin` folds nothing,
//! `gbk_chinese_ci` folds case. Values export back exactly.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;
use std::path::Path;

use import_common::{config, export_rows, import, val};
use squall_tests::sim::start_sim;

const SCHEMA: &str = "CREATE TABLE `u` (\n\
  `id` INT NOT NULL PRIMARY KEY,\n\
  `a` VARCHAR(16) COLLATE utf8mb4_0900_ai_ci,\n\
  `b` VARCHAR(16) COLLATE utf8mb4_unicode_ci,\n\
  `c` VARCHAR(16) COLLATE utf8mb4_bin,\n\
  `g` VARCHAR(16) CHARACTER SET gbk COLLATE gbk_chinese_ci,\n\
  UNIQUE KEY `ua` (`a`), UNIQUE KEY `ub` (`b`), UNIQUE KEY `uc` (`c`), UNIQUE KEY `ug` (`g`)\n\
);\n";

/// `(id, a, b, c, g)`; which ids conflict is said next to each.
const ROWS: &[(i64, &str, &str, &str, &str)] = &[
    (1, "a", "b1", "c1", "g1"),
    (2, "A", "b2", "c2", "g2"), // a: 'A' = 'a' under 0900_ai_ci -> 1, 2 conflict
    (3, "a ", "b3", "c3", "g3"), // a: NO PAD, 'a ' is not 'a' -> clean
    (4, "q4", "y", "k", "g4"),
    (5, "q5", "Y ", "K", "g5"), // b: 'Y ' = 'y' under unicode_ci -> 4, 5; c: 'K' != 'k' under bin
    (6, "q6", "ß", "c6", "g6"),
    (7, "q7", "ss", "c7", "g7"), // b: 'ß' = 'ss' under unicode_ci -> 6, 7
    (8, "q8", "b8", "c8", "中文"),
    (9, "q9", "b9", "c9", "中文 "), // g: PAD SPACE under gbk_chinese_ci -> 8, 9
    (10, "é", "b10", "c10", "abc"),
    (11, "q11", "b11", "c11", "ABC"), // g: case folded -> 10, 11
    (12, "e", "b12", "c12", "g12"),   // a: 'é' = 'e' under 0900_ai_ci -> 10, 12
    (13, "q13", "b13", "k ", "g13"),  // c: 'k ' = 'k' under utf8mb4_bin (PAD SPACE) -> 4, 13
];

const CLEAN: std::ops::RangeInclusive<i64> = 14..=20;

fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("co-schema-create.sql"), "CREATE DATABASE co;\n").unwrap();
    std::fs::write(dir.join("co.u-schema.sql"), SCHEMA).unwrap();
    let mut values: Vec<String> = ROWS
        .iter()
        .map(|(id, a, b, c, g)| format!("({id},'{a}','{b}','{c}','{g}')"))
        .collect();
    // Clean rows: every value distinct under every collation.
    values.extend(CLEAN.map(|i| format!("({i},'x{i}','y{i}','z{i}','w{i}')")));
    let sql = format!("INSERT INTO `u` VALUES {};\n", values.join(","));
    std::fs::write(dir.join("co.u.000000001.sql"), sql).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unique_keys_conflict_under_the_column_collation() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    cfg.conflict.strategy = "remove".parse().expect("strategy");
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    let rows = export_rows(&sim, &source, &cfg, "co.u").await;
    sim.shutdown().await;
    let left: BTreeMap<i64, (String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                val(r, "id").parse().unwrap(),
                (
                    val(r, "a").to_string(),
                    val(r, "b").to_string(),
                    val(r, "c").to_string(),
                    val(r, "g").to_string(),
                ),
            )
        })
        .collect();
    let ids: Vec<i64> = left.keys().copied().collect();
    // Conflicting: 1, 2 (a); 4, 5 (b); 6, 7 (b); 8, 9 (g); 10, 11 (g);
    // 10, 12 (a); 4, 13 (c). Clean: 3 and 14..=20.
    let want: Vec<i64> = std::iter::once(3).chain(CLEAN).collect();
    assert_eq!(
        ids, want,
        "exactly the rows equal under a collation were removed"
    );
    assert_eq!(
        left[&3],
        ("a ".into(), "b3".into(), "c3".into(), "g3".into()),
        "values come back byte for byte, trailing space included"
    );
}
