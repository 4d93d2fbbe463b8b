//! `lightning_character_sets`: every source directory under every
//! `character-set` config; the imports that must fail fail with a clear
//! error, the others give the expected column name and sum.
#![allow(clippy::unwrap_used)]

mod import_common;

use import_common::{config, export_rows, fixtures, import, sum_i128};
use squall_tests::sim::start_sim;

/// The column name TiKV ends up with and the sum of its values; `None` means
/// the import must fail.
type Expected = Option<(&'static str, i128)>;

/// (source dir, config, expected)
const CASES: &[(&str, &str, Expected)] = &[
    ("gb18030", "auto", Some(("主键", 267))),
    ("gb18030", "gb18030", Some(("主键", 267))),
    ("gb18030", "utf8mb4", None),
    ("gb18030", "binary", Some(("Ö÷¼ü", 267))),
    ("utf8mb4", "auto", Some(("主键", 1119))),
    ("utf8mb4", "gb18030", Some(("涓婚敭", 1119))),
    ("utf8mb4", "utf8mb4", Some(("主键", 1119))),
    ("utf8mb4", "binary", Some(("主键", 1119))),
    ("mixed", "auto", None),
    ("mixed", "gb18030", None),
    ("mixed", "utf8mb4", None),
    ("mixed", "binary", Some(("唯一键", 5291))),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lightning_character_sets() {
    let Some(fx) = fixtures() else { return };
    let dir = fx.join("lightning_character_sets");
    for &(source, charset, expect) in CASES {
        let work = tempfile::tempdir().expect("temp dir");
        let sim = start_sim(&work.path().join("sim")).await;
        let cfg = config(Some(&dir.join(format!("{charset}.toml"))), work.path());
        let src = dir.join(source);
        let result = import(&sim, &src, cfg.clone(), work.path()).await;
        match (expect, result) {
            (Some((column, sum)), Ok(summary)) => {
                assert!(summary.verified, "{source} with {charset}: {summary}");
                let rows = export_rows(&sim, &src, &cfg, &format!("charsets.{source}")).await;
                assert_eq!(rows.len(), 10, "{source} with {charset}");
                assert_eq!(sum_i128(&rows, column), sum, "{source} with {charset}");
            }
            (Some(_), Err(e)) => panic!("{source} with {charset} must import: {e}"),
            (None, Ok(s)) => panic!("{source} with {charset} must fail, but imported: {s}"),
            (None, Err(e)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("schema.sql") && msg.contains(charset),
                    "{source} with {charset}: the error names the file and charset: {msg}"
                );
            }
        }
        sim.shutdown().await;
    }
}
