//! Shared by the `import_*` tests: fixture lookup, an import into an
//! in-process tikv-sim through the library, and reading tables back with
//! `export`.
#![allow(dead_code, clippy::unwrap_used)]

pub mod gen;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use squall_client::ClientOptions;
use squall_common::config::LIGHTNING_DEFAULT_SQL_MODE;
use squall_common::TaskConfig;
use squall_coordinator::{
    export_table, run_import, CoordinatorError, ExportFormat, ExportOptions, ImportOptions,
    ImportProgress, ImportSummary, SchemaSource,
};
use tikv_sim::SimHandle;
use tokio_util::sync::CancellationToken;

/// `../shared/fixtures/lightning`, or `None` after printing why the test is skipped.
pub fn fixtures() -> Option<PathBuf> {
    match squall_tests::shared_dir() {
        Some(dir) => Some(dir.join("fixtures/lightning")),
        None => {
            squall_tests::skip("../shared (the fixture datasets) is not next to the workspace");
            None
        }
    }
}

/// The dataset's config as the Lightning harness applied it: Lightning's
/// non-strict SQL mode, UTC, small engines and test-friendly concurrency.
pub fn config(toml: Option<&Path>, work: &Path) -> TaskConfig {
    let mut cfg = match toml {
        Some(p) if p.exists() => TaskConfig::from_file(p).expect("fixture config parses"),
        _ => TaskConfig::default(),
    };
    cfg.tidb.sql_mode = LIGHTNING_DEFAULT_SQL_MODE.to_string();
    cfg.tidb.time_zone = "UTC".into();
    cfg.tikv_importer.sorted_kv_dir = work.join("sorted").display().to_string();
    cfg.lightning.region_concurrency = 2;
    cfg.squall.max_retries = 20;
    cfg
}

/// Imports `source` into `sim` (output under `work/out`).
pub async fn import(
    sim: &SimHandle,
    source: &Path,
    cfg: TaskConfig,
    work: &Path,
) -> Result<ImportSummary, CoordinatorError> {
    import_showing(sim, source, cfg, work, ImportProgress::new()).await
}

/// [`import`], reporting to `progress` (what the CLI's display reads).
pub async fn import_showing(
    sim: &SimHandle,
    source: &Path,
    cfg: TaskConfig,
    work: &Path,
    progress: std::sync::Arc<ImportProgress>,
) -> Result<ImportSummary, CoordinatorError> {
    let mut opts = ImportOptions::new(
        cfg,
        source.to_path_buf(),
        vec![sim.pd_addr.to_string()],
        work.join("out"),
    );
    opts.client = ClientOptions::for_test();
    run_import(opts, progress, CancellationToken::new()).await
}

/// One exported row: column name → display value (`None` = NULL).
pub type Row = BTreeMap<String, Option<String>>;

/// Every row of `table` as TiKV holds it, schema from `source`.
pub async fn export_rows(
    sim: &SimHandle,
    source: &Path,
    cfg: &TaskConfig,
    table: &str,
) -> Vec<Row> {
    let out = export(sim, source, cfg, table, ExportFormat::Jsonl).await;
    out.lines()
        .map(|l| {
            let obj: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(l).expect("export line is JSON");
            obj.into_iter()
                .map(|(k, v)| (k, v.as_str().map(str::to_string)))
                .collect()
        })
        .collect()
}

pub async fn export(
    sim: &SimHandle,
    source: &Path,
    cfg: &TaskConfig,
    table: &str,
    format: ExportFormat,
) -> String {
    let opts = ExportOptions {
        pd_addrs: vec![sim.pd_addr.to_string()],
        table: table.to_string(),
        schema: SchemaSource::SourceDir(source.to_path_buf()),
        format,
        ts: None,
        cfg: cfg.clone(),
        client: ClientOptions::for_test(),
    };
    let mut buf = Vec::new();
    export_table(&opts, &mut buf)
        .await
        .unwrap_or_else(|e| panic!("export of {table} failed: {e}"));
    String::from_utf8(buf).expect("export output is UTF-8")
}

/// The value of column `col` (must be non-NULL).
pub fn val<'a>(row: &'a Row, col: &str) -> &'a str {
    row.get(col)
        .unwrap_or_else(|| panic!("no column {col} in {row:?}"))
        .as_deref()
        .unwrap_or_else(|| panic!("{col} is NULL in {row:?}"))
}

pub fn sum_i128(rows: &[Row], col: &str) -> i128 {
    rows.iter()
        .map(|r| {
            val(r, col)
                .parse::<i128>()
                .unwrap_or_else(|_| panic!("{col} is not an integer"))
        })
        .sum()
}

/// Copies a directory tree (tests rename fixture files as the original harness did).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy file");
        }
    }
}
