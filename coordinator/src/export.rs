//! `squall export`: read one table back from TiKV and print its rows (or raw
//! KVs), so users and tests see exactly what landed, without TiDB.
//!
//! The schema and table IDs come from the source directory (parsed the same
//! way as by the import, so the same deterministic IDs) or from an import's
//! checkpoint. Rows are read with `KvScan`, region by region, at one
//! timestamp (a fresh TSO unless given), in handle order.
//!
//! Rows show the columns TiDB's `SELECT *` shows: hidden columns (the key
//! parts of expression indexes, `_V$_…`) are left out, and VIRTUAL
//! generated columns, which the row in TiKV does not hold, are computed
//! again with the config's converter, as the worker computed them for the
//! indexes. So a table exported back shows what it was imported from.

use std::io::Write;
use std::path::PathBuf;

use squall_client::{ClientOptions, ImportClient, PdClient};
use squall_codec::key::{decode_record_key, table_range, table_record_range};
use squall_codec::{decode_row_v2_with_handle, Converter, Datum};
use squall_common::checkpoint::{
    keys, typed, JobCheckpoint, LocalCheckpointStore, Stored, TableCheckpoint,
};
use squall_common::schema::{Charset, ColumnInfo, TableInfo};
use squall_common::TaskConfig;
use squall_source::schema_parse::is_hidden_column;
use squall_source::{discover, load_schemas, SourceStore};
use squall_worker::task::columns::GeneratedColumns;

use crate::error::CoordinatorError;
use crate::scan::RangeScanner;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Header line, then one line per row; NULL is `\N`; fields with a
    /// comma, quote or line break are double-quoted.
    Csv,
    /// One JSON object per row, columns in table order; NULL is `null`.
    Jsonl,
    /// Every KV of the table (records and indexes): `<key hex>\t<value hex>`.
    Kv,
}

/// Where the table's schema and IDs come from.
#[derive(Debug, Clone)]
pub enum SchemaSource {
    /// Parse the dump's schema files (with the config's `[squall] table-ids`).
    SourceDir(PathBuf),
    /// Read the table record of an import's checkpoint directory.
    Checkpoint(PathBuf),
}

pub struct ExportOptions {
    pub pd_addrs: Vec<String>,
    /// `db.table` (either name may contain dots) or `` `db`.`table` ``.
    pub table: String,
    pub schema: SchemaSource,
    pub format: ExportFormat,
    /// Read timestamp; `None` takes a fresh one from PD.
    pub ts: Option<u64>,
    pub cfg: TaskConfig,
    pub client: ClientOptions,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    pub rows: u64,
    pub kvs: u64,
    pub ts: u64,
}

/// A table to export: its schema and the physical IDs its rows live under.
#[derive(Debug, Clone)]
pub struct ExportTable {
    pub info: TableInfo,
    pub physical_ids: Vec<i64>,
}

pub async fn export_table(
    opts: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportStats, CoordinatorError> {
    let table = resolve_table(opts).await?;
    let pd = PdClient::connect(&opts.pd_addrs, opts.client.clone()).await?;
    let client = ImportClient::new(pd.clone());
    let ts = match opts.ts {
        Some(ts) => ts,
        None => pd.tso().await?,
    };
    let mut stats = ExportStats {
        ts,
        ..Default::default()
    };
    let io = |e| CoordinatorError::io("write", std::path::Path::new("<output>"), e);
    let shown = Shown::new(&table.info, &opts.cfg)?;
    if opts.format == ExportFormat::Csv {
        let names: Vec<String> = shown.columns.iter().map(|c| csv_field(&c.name)).collect();
        writeln!(out, "{}", names.join(",")).map_err(io)?;
    }
    for &id in &table.physical_ids {
        let (start, end) = if opts.format == ExportFormat::Kv {
            table_range(id)
        } else {
            table_record_range(id)
        };
        let mut scanner = RangeScanner::new(&client, start, end, ts);
        while let Some(page) = scanner.next_page().await? {
            for (key, value) in &page {
                stats.kvs += 1;
                if opts.format == ExportFormat::Kv {
                    writeln!(out, "{}\t{}", hex::encode(key), hex::encode(value)).map_err(io)?;
                    continue;
                }
                let (_, handle) = decode_record_key(key)?;
                let row = decode_row_v2_with_handle(value, &table.info, Some(&handle))?;
                let row = shown.row(row).map_err(|e| CoordinatorError::Invalid {
                    what: "export",
                    reason: format!(
                        "table {} (table id {id}), row with handle {handle:?}: computing its \
                         virtual generated columns: {e}; export with the import's \
                         tidb.sql-mode and tidb.time-zone (--config)",
                        table.info.qualified_name()
                    ),
                })?;
                write_row(out, opts.format, &shown.columns, &row).map_err(io)?;
                stats.rows += 1;
            }
        }
    }
    out.flush().map_err(io)?;
    Ok(stats)
}

/// The columns an export shows and how to compute the ones TiKV lacks.
struct Shown {
    table: TableInfo,
    /// Offsets (in the table) of the shown columns, in table order.
    offsets: Vec<usize>,
    columns: Vec<ColumnInfo>,
    /// Shown VIRTUAL generated columns; `None` when there is none.
    virtuals: Option<(GeneratedColumns, Converter)>,
}

impl Shown {
    fn new(info: &TableInfo, cfg: &TaskConfig) -> Result<Self, CoordinatorError> {
        let columns: Vec<ColumnInfo> = info
            .columns
            .iter()
            .filter(|c| !is_hidden_column(&c.name))
            .cloned()
            .collect();
        let any_virtual = columns
            .iter()
            .any(|c| c.generated.is_some() && !c.generated_stored);
        let invalid = |reason: String| CoordinatorError::Invalid {
            what: "export",
            reason: format!("table {}: {reason}", info.qualified_name()),
        };
        let virtuals = if any_virtual {
            // Generated expressions cannot call NOW(): the converter's
            // "now" does not matter, its SQL mode and time zone do.
            let conv = Converter::new(&cfg.tidb.sql_mode, &cfg.tidb.time_zone)
                .map_err(|e| invalid(format!("tidb.sql-mode or tidb.time-zone: {e}")))?;
            Some((GeneratedColumns::new(info).map_err(invalid)?, conv))
        } else {
            None
        };
        Ok(Self {
            table: info.clone(),
            offsets: columns.iter().map(|c| c.offset).collect(),
            columns,
            virtuals,
        })
    }

    /// A decoded row as shown: virtual columns computed, hidden ones out.
    /// Stored generated columns keep what TiKV holds.
    fn row(&self, mut row: Vec<Datum>) -> Result<Vec<Datum>, String> {
        let mut computed = None;
        if let Some((generated, conv)) = &self.virtuals {
            let mut all = row.clone();
            generated.fill(&self.table, &mut all, conv)?;
            computed = Some(all);
        }
        let mut out = Vec::with_capacity(self.offsets.len());
        for (&off, col) in self.offsets.iter().zip(&self.columns) {
            let value = match &mut computed {
                Some(all) if col.generated.is_some() && !col.generated_stored => {
                    std::mem::replace(&mut all[off], Datum::Null)
                }
                _ => std::mem::replace(row.get_mut(off).ok_or("a short row")?, Datum::Null),
            };
            out.push(value);
        }
        Ok(out)
    }
}

fn write_row(
    out: &mut dyn Write,
    format: ExportFormat,
    cols: &[ColumnInfo],
    row: &[Datum],
) -> std::io::Result<()> {
    let mut line = String::new();
    match format {
        ExportFormat::Csv => {
            let fields: Vec<String> = cols
                .iter()
                .zip(row)
                .map(|(c, d)| {
                    if d.is_null() {
                        "\\N".to_string()
                    } else {
                        csv_field(&display(c, d))
                    }
                })
                .collect();
            line = fields.join(",");
        }
        ExportFormat::Jsonl => {
            line.push('{');
            for (i, (c, d)) in cols.iter().zip(row).enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(&serde_json::Value::String(c.name.clone()).to_string());
                line.push(':');
                if d.is_null() {
                    line.push_str("null");
                } else {
                    line.push_str(&serde_json::Value::String(display(c, d)).to_string());
                }
            }
            line.push('}');
        }
        ExportFormat::Kv => {}
    }
    writeln!(out, "{line}")
}

/// A value's text: MySQL's display form, except binary strings (BINARY,
/// VARBINARY, BLOB), which are `0x` + upper-case hex so any byte survives.
pub fn display(col: &ColumnInfo, d: &Datum) -> String {
    match d {
        Datum::Bytes(b) if col.field_type.charset == Charset::Binary => {
            format!("0x{}", hex::encode_upper(b))
        }
        _ => d.to_display_string(&col.field_type),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s == "\\N" {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Finds the table's schema where the options say.
pub async fn resolve_table(opts: &ExportOptions) -> Result<ExportTable, CoordinatorError> {
    match &opts.schema {
        SchemaSource::SourceDir(dir) => {
            let (mut cfg, dir, wanted) = (opts.cfg.clone(), dir.clone(), opts.table.clone());
            tokio::task::spawn_blocking(move || {
                cfg.mydumper.data_source_dir = dir.display().to_string();
                table_from_source(&cfg, &wanted)
            })
            .await
            .map_err(|e| CoordinatorError::Blocking(e.to_string()))?
        }
        SchemaSource::Checkpoint(dir) => table_from_checkpoint(dir, &opts.table).await,
    }
}

fn table_from_source(cfg: &TaskConfig, wanted: &str) -> Result<ExportTable, CoordinatorError> {
    let store = SourceStore::open(&cfg.mydumper.data_source_dir)?;
    let catalog = discover(&store, &cfg.mydumper)?;
    let schemas = load_schemas(&store, &catalog, cfg, None)?;
    let found = schemas
        .tables
        .into_iter()
        .find(|t| name_matches(&t.info, wanted));
    let parsed = found.ok_or_else(|| CoordinatorError::TableNotFound {
        name: wanted.to_string(),
        whence: format!(
            "the schema files of {}",
            squall_source::storage::redacted(&cfg.mydumper.data_source_dir)
        ),
    })?;
    let physical_ids = match &parsed.partition {
        Some(p) if !p.partitions.is_empty() => p.partitions.iter().map(|s| s.id).collect(),
        _ => vec![parsed.info.id],
    };
    Ok(ExportTable {
        info: parsed.info,
        physical_ids,
    })
}

async fn table_from_checkpoint(
    dir: &std::path::Path,
    wanted: &str,
) -> Result<ExportTable, CoordinatorError> {
    let store = LocalCheckpointStore::open(dir)?;
    let jobs: Vec<Stored<JobCheckpoint>> = store
        .list(&keys::jobs_prefix())
        .await?
        .into_iter()
        .filter(|(k, _)| k.ends_with("/job"))
        .map(|(k, v)| {
            typed::decode(&k, &v.value).map(|record| Stored {
                key: k,
                record,
                revision: v.revision,
            })
        })
        .collect::<Result<_, _>>()?;
    let mut best: Option<(u64, TableCheckpoint)> = None;
    for job in jobs {
        let tables: Vec<Stored<TableCheckpoint>> =
            typed::read_all(&store, &keys::tables_prefix(&job.record.job_id)).await?;
        for t in tables
            .into_iter()
            .filter(|t| name_matches(&t.record.table, wanted))
        {
            if best
                .as_ref()
                .is_none_or(|(created, _)| job.record.created_unix_ms > *created)
            {
                best = Some((job.record.created_unix_ms, t.record));
            }
        }
    }
    let (_, t) = best.ok_or_else(|| CoordinatorError::TableNotFound {
        name: wanted.to_string(),
        whence: format!("the checkpoints in {}", dir.display()),
    })?;
    Ok(ExportTable {
        physical_ids: t.physical_ids(),
        info: t.table,
    })
}

use squall_common::checkpoint::CheckpointStore as _;

/// `db.table` with any split point, or the backquoted form; case-insensitive.
pub fn name_matches(t: &TableInfo, wanted: &str) -> bool {
    let plain = format!("{}.{}", t.db, t.name);
    plain.to_lowercase() == wanted.to_lowercase()
        || t.qualified_name().to_lowercase() == wanted.to_lowercase()
}

#[cfg(test)]
mod tests {
    use squall_common::schema::{FieldType, HandleKind, MysqlType};

    use super::*;

    fn table(db: &str, name: &str) -> TableInfo {
        TableInfo {
            id: 1,
            db: db.into(),
            name: name.into(),
            columns: vec![],
            indices: vec![],
            handle: HandleKind::RowId,
            charset: None,
            collate: None,
            row_ids: Default::default(),
        }
    }

    #[test]
    fn names_match_with_dots_and_backquotes() {
        assert!(name_matches(
            &table("x`f\"n", "exotic`table``name"),
            "x`f\"n.exotic`table``name"
        ));
        assert!(name_matches(&table("a.b", "c"), "a.b.c"));
        assert!(name_matches(&table("Db", "T"), "db.t"));
        assert!(name_matches(&table("db", "t"), "`db`.`t`"));
        assert!(!name_matches(&table("db", "t"), "db.u"));
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("\\N"), "\"\\N\"");
    }

    #[test]
    fn virtual_columns_are_computed_and_hidden_ones_left_out() {
        let db = squall_common::schema::DatabaseInfo {
            name: "d".into(),
            charset: None,
            collate: None,
        };
        let info = squall_source::schema_parse::parse_create_table(
            "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20), \
             l VARCHAR(20) AS (LOWER(s)) VIRTUAL, n INT AS (id * 2) STORED, \
             KEY kl (l), KEY ke ((UPPER(s))))",
            "t-schema.sql",
            &db,
            "t",
        )
        .expect("schema parses")
        .info;
        let mut cfg = TaskConfig::default();
        cfg.tidb.time_zone = "UTC".into();
        let shown = Shown::new(&info, &cfg).expect("valid");
        let names: Vec<&str> = shown.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "s", "l", "n"]);
        // As decoded from TiKV: no value for the virtual or hidden columns;
        // the stored one keeps what TiKV holds, even if it differs.
        let mut row = vec![Datum::Null; info.columns.len()];
        row[0] = Datum::Int(7);
        row[1] = Datum::Bytes(b"MiXed".to_vec());
        row[3] = Datum::Int(99);
        let out = shown.row(row).expect("computes");
        assert_eq!(
            out,
            [
                Datum::Int(7),
                Datum::Bytes(b"MiXed".to_vec()),
                Datum::Bytes(b"mixed".to_vec()),
                Datum::Int(99)
            ]
        );
    }

    #[test]
    fn binary_strings_are_hex() {
        let col = ColumnInfo::new(1, "b", 0, FieldType::new(MysqlType::Blob));
        assert_eq!(display(&col, &Datum::Bytes(vec![0xff, 0x0a])), "0xFF0A");
    }
}
