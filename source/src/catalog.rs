//! What discovery found: databases, tables and their files, and the chunks
//! files are cut into. All of it is serialisable: it goes into checkpoints
//! and task messages.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FileKind {
    Csv,
    Sql,
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    /// Snappy's framing format (`.snappy`, what Dumpling writes and
    /// Lightning reads with golang/snappy's stream reader).
    Snappy,
}

/// One data file of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    /// Path relative to the source directory, `/`-separated, as on disk.
    pub path: String,
    pub kind: FileKind,
    pub compression: Compression,
    /// Size in bytes as stored (compressed size for compressed files).
    pub size: u64,
    /// Order of the file within its table (from the routing rule's `key`).
    pub sort_key: String,
}

/// A database to create (`CREATE DATABASE IF NOT EXISTS <name>`: the
/// name comes from the file name and the file's text is never executed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSource {
    pub name: String,
    /// `{db}-schema-create.sql`, if there is one.
    pub schema_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSource {
    pub db: String,
    /// The file-derived name (Lightning's rule), not the name in the SQL text.
    pub name: String,
    /// `{db}.{table}-schema.sql`; `None` when only data files were found.
    pub schema_file: Option<String>,
    /// Data files in import order (sort key, then path).
    pub data_files: Vec<DataFile>,
}

impl TableSource {
    /// `db.table`, the key used by `[squall] table-ids` and filters.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.db, self.name)
    }
}

/// A view, created after all tables (`{db}.{view}-schema-view.sql`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewSource {
    pub db: String,
    pub name: String,
    pub schema_file: String,
}

/// A file that matched a rule but is not imported, and why (for the log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCatalog {
    pub databases: Vec<DatabaseSource>,
    pub tables: Vec<TableSource>,
    pub views: Vec<ViewSource>,
    /// Files matched by an `ignore` rule or excluded by the table filter.
    pub skipped: Vec<SkippedFile>,
}

impl SourceCatalog {
    /// Finds a table by name (case-insensitively unless `case_sensitive`).
    pub fn table(&self, db: &str, name: &str, case_sensitive: bool) -> Option<&TableSource> {
        let eq = |a: &str, b: &str| {
            if case_sensitive {
                a == b
            } else {
                a.to_lowercase() == b.to_lowercase()
            }
        };
        self.tables
            .iter()
            .find(|t| eq(&t.db, db) && eq(&t.name, name))
    }
}

/// A piece of one data file that one reader reads: whole rows only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Index of the file in its table's `data_files`.
    pub file_index: usize,
    pub path: String,
    /// Byte range in the (decompressed) file: rows starting in `start..end`.
    /// A compressed file is one chunk with `end == u64::MAX` (to its end).
    /// Parquet: the row groups whose first byte is in `start..end`.
    pub start: u64,
    pub end: u64,
    /// Line number at `start`, when the chunker counted it (else lines
    /// reported by the reader are relative to the chunk start).
    pub start_line: Option<u64>,
    /// Rows expected (exact when the chunker scanned the file, else estimated).
    pub est_rows: u64,
    /// `_tidb_rowid` values for this chunk's rows are `row_id_base + 1 ..= row_id_max`.
    pub row_id_base: i64,
    pub row_id_max: i64,
    /// Column names for chunks that do not start the file: the CSV header,
    /// or the column list of the INSERT statement the chunk starts inside.
    pub columns: Option<Vec<String>>,
    /// SQL only: the chunk starts at a tuple inside a `VALUES` list.
    pub sql_in_values: bool,
}
