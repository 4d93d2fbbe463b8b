//! Source checks (blocking: they read the source): files found and readable,
//! every `CREATE TABLE` parsed and encodable, and the first rows of each
//! data file fit their table under the CSV/SQL settings (a wrong separator,
//! a header setting that does not match the files, a column the table does
//! not have). Only the first rows of the first files of each table are
//! read, so a huge dump is checked in seconds; the import itself still
//! checks every row.

use squall_codec::TableEncoder;
use squall_common::TaskConfig;
use squall_source::{
    discover, load_schemas, open_chunk_in, Chunk, Compression, DataFile, FileKind, ParsedTable,
    ReadOptions, SourceStore,
};
use squall_worker::task::columns::ColumnMap;

use super::report::{CheckResult, PrecheckReport};
use super::{CHECK_FILES, CHECK_SCHEMAS, CHECK_SOURCE};
use squall_common::schema::TableInfo;

/// Files of one table whose first rows are read.
const FILES_PER_TABLE: usize = 8;
/// Rows read per file.
const ROWS_PER_FILE: usize = 2;
/// Problems listed in a failed check's detail.
const LISTED: usize = 5;
/// A compressed file is taken to hold this many times its size (CSV and
/// SQL text compress about 3–5×; the low end keeps the disk estimate honest
/// without sampling).
pub const COMPRESSED_EXPANSION: u64 = 3;

/// A table the job writes: its name and every physical table id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetTable {
    pub name: String,
    pub physical_ids: Vec<i64>,
}

/// What the source checks learnt, for the checks that follow.
#[derive(Debug, Clone, Default)]
pub struct SourceFacts {
    pub tables: Vec<TargetTable>,
    /// Estimated uncompressed bytes of every data file.
    pub source_bytes: u64,
}

/// Runs the source checks; `None` if the schemas are not known (the checks
/// that need them are then skipped).
pub fn check_source(cfg: &TaskConfig, report: &mut PrecheckReport) -> Option<SourceFacts> {
    let dir = &cfg.mydumper.data_source_dir;
    let shown = squall_source::storage::redacted(dir);
    let opened = SourceStore::open(dir).and_then(|store| {
        let catalog = discover(&store, &cfg.mydumper)?;
        Ok((store, catalog))
    });
    let (store, catalog) = match opened {
        Ok(found) => found,
        Err(e) => {
            report.push(CheckResult::fail(
                CHECK_SOURCE,
                format!("{shown}: {e}"),
                "check mydumper.data-source-dir (--source): the directory must exist and be \
                 readable; for s3:// check the bucket, prefix, endpoint and credentials",
            ));
            skip_rest(
                report,
                &[CHECK_SCHEMAS, CHECK_FILES],
                "the source is not readable",
            );
            return None;
        }
    };
    let files: usize = catalog.tables.iter().map(|t| t.data_files.len()).sum();
    if catalog.tables.is_empty() {
        report.push(CheckResult::fail(
            CHECK_SOURCE,
            format!(
                "{shown}: no table found ({} files skipped)",
                catalog.skipped.len()
            ),
            "name files as Dumpling does (db.table-schema.sql, db.table.000000001.csv), or route \
             them with [[mydumper.files]] rules; check mydumper.filter",
        ));
        skip_rest(report, &[CHECK_SCHEMAS, CHECK_FILES], "no table found");
        return None;
    }
    let source_bytes = catalog
        .tables
        .iter()
        .flat_map(|t| &t.data_files)
        .map(estimated_size)
        .sum();
    report.push(CheckResult::pass(
        CHECK_SOURCE,
        format!(
            "{shown}: {} tables, {files} data files, ~{} MiB",
            catalog.tables.len(),
            source_bytes >> 20
        ),
    ));

    let schemas = match load_schemas(&store, &catalog, cfg, None) {
        Ok(s) => s,
        Err(e) => {
            report.push(CheckResult::fail(
                CHECK_SCHEMAS,
                e.to_string(),
                "fix the CREATE TABLE statement in the named schema file, or leave the table out \
                 with mydumper.filter",
            ));
            skip_rest(report, &[CHECK_FILES], "the schemas did not parse");
            return None;
        }
    };
    let mut problems = Vec::new();
    for parsed in &schemas.tables {
        if let Err(e) = TableEncoder::new(&parsed.info) {
            problems.push(format!("{}: {e}", parsed.info.qualified_name()));
        }
    }
    if problems.is_empty() {
        report.push(CheckResult::pass(
            CHECK_SCHEMAS,
            format!("{} CREATE TABLE statements", schemas.tables.len()),
        ));
    } else {
        report.push(CheckResult::fail(
            CHECK_SCHEMAS,
            listed(&problems),
            "change the table definition to one Squall can encode, or leave the table out with \
             mydumper.filter",
        ));
        skip_rest(report, &[CHECK_FILES], "a schema cannot be encoded");
        return None;
    }

    let mut sampled = 0usize;
    let mut problems = Vec::new();
    let mut header_like = Vec::new();
    for (source, parsed) in catalog.tables.iter().zip(&schemas.tables) {
        for file in source.data_files.iter().take(FILES_PER_TABLE) {
            sampled += 1;
            match sample_file(&store, cfg, file, &parsed.info) {
                Ok(Sample::Fits) => {}
                Ok(Sample::LooksLikeHeader) => header_like.push(file.path.clone()),
                Err(problem) => problems.push(problem),
            }
        }
    }
    if !problems.is_empty() {
        report.push(CheckResult::fail(
            CHECK_FILES,
            listed(&problems),
            "check mydumper.csv.separator, delimiter and header (and [mydumper.csv] against the \
             files' real format), or the file's routing to its table",
        ));
    } else if !header_like.is_empty() {
        report.push(CheckResult::warn(
            CHECK_FILES,
            format!(
                "the first line of {} looks like a header (the table's column names) but \
                 mydumper.csv.header = false",
                listed(&header_like)
            ),
            "set mydumper.csv.header = true if the files start with column names",
        ));
    } else {
        report.push(CheckResult::pass(
            CHECK_FILES,
            format!("first rows of {sampled} of {files} data files fit their tables"),
        ));
    }

    let tables = target_tables(&schemas.tables);
    Some(SourceFacts {
        tables,
        source_bytes,
    })
}

/// Each table with every physical id its KVs go under: the partitions' ids
/// for a partitioned table (its own id holds no row), else the table's.
pub fn target_tables(parsed: &[ParsedTable]) -> Vec<TargetTable> {
    parsed
        .iter()
        .map(|p| TargetTable {
            name: format!("{}.{}", p.info.db, p.info.name),
            physical_ids: match &p.partition {
                Some(part) if !part.partitions.is_empty() => {
                    part.partitions.iter().map(|s| s.id).collect()
                }
                _ => vec![p.info.id],
            },
        })
        .collect()
}

fn skip_rest(report: &mut PrecheckReport, names: &[&'static str], why: &str) {
    for name in names {
        report.push(CheckResult::skipped(name, why));
    }
}

fn estimated_size(file: &DataFile) -> u64 {
    match file.compression {
        Compression::None => file.size,
        Compression::Gzip | Compression::Zstd | Compression::Snappy => {
            file.size.saturating_mul(COMPRESSED_EXPANSION)
        }
    }
}

fn listed(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > LISTED {
        out.push_str(&format!(" (and {} more)", items.len() - LISTED));
    }
    out
}

enum Sample {
    Fits,
    LooksLikeHeader,
}

/// Reads the first rows of `file` and checks them against `table`. A column
/// name the table lacks and a row the reader cannot parse fail the import
/// whatever `max-error` says, so they fail here; a field count that differs
/// from the table's fails only when every sampled row has it (a wrong
/// separator, not one bad row) and `lightning.max-error` is 0 (else those
/// rows would be skipped and recorded).
fn sample_file(
    store: &SourceStore,
    cfg: &TaskConfig,
    file: &DataFile,
    table: &TableInfo,
) -> Result<Sample, String> {
    let chunk = Chunk {
        file_index: 0,
        path: file.path.clone(),
        start: 0,
        end: u64::MAX,
        start_line: Some(1),
        est_rows: 0,
        row_id_base: 0,
        row_id_max: 0,
        columns: None,
        sql_in_values: false,
    };
    let mut reader = open_chunk_in(store, file, &chunk, &cfg.mydumper, &ReadOptions::default())
        .map_err(|e| e.to_string())?;
    let mut verdict = Sample::Fits;
    let (mut read, mut miscounted) = (0usize, None);
    for n in 0..ROWS_PER_FILE {
        let row = match reader.next_row() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => return Err(e.to_string()),
        };
        read += 1;
        match reader.columns() {
            Some(names) => {
                ColumnMap::build(table, Some(names)).map_err(|e| {
                    format!("{}: {e} (the column names come from the file)", file.path)
                })?;
            }
            // SQL may give fewer values (`VALUES ()` takes the defaults).
            None if row.fields.len() > table.columns.len()
                || (file.kind == FileKind::Csv && row.fields.len() < table.columns.len()) =>
            {
                miscounted.get_or_insert(format!(
                    "{} line {}: {} fields, but table {} has {} columns",
                    file.path,
                    row.line,
                    row.fields.len(),
                    table.qualified_name(),
                    table.columns.len()
                ));
            }
            None => {
                miscounted = None;
                if n == 0 && file.kind == FileKind::Csv && names_columns(&row.fields, table) {
                    verdict = Sample::LooksLikeHeader;
                }
                // A row that fits: the file's format is right.
                break;
            }
        }
    }
    match miscounted {
        Some(problem) if read > 0 && cfg.lightning.max_error == 0 => Err(problem),
        _ => Ok(verdict),
    }
}

/// Every field is the name of the table column at its position.
fn names_columns(fields: &[Option<Vec<u8>>], table: &TableInfo) -> bool {
    fields.len() == table.columns.len()
        && fields.iter().zip(&table.columns).all(|(f, c)| {
            f.as_deref()
                .is_some_and(|b| String::from_utf8_lossy(b).eq_ignore_ascii_case(&c.name))
        })
}
