//! `[mydumper]`: where the source is and how to read it (Lightning's names and defaults).

use serde::{Deserialize, Serialize};

use super::enums::DataCharset;
use super::ByteSize;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct MydumperConfig {
    /// Source directory (or URL once object storage is wired). Default: none, given on the CLI.
    pub data_source_dir: String,
    /// Read buffer size. Default 64KiB.
    pub read_block_size: ByteSize,
    /// Target size of one chunk when a large file is split. Default 256MiB (Lightning's `max-region-size`).
    pub max_region_size: ByteSize,
    /// Source bytes per engine: the unit of work one worker sorts and ingests. Default 4GiB
    /// (Lightning calls this `batch-size` and defaults to 100GiB).
    pub batch_size: ByteSize,
    /// Character set of the schema files: `auto`, `utf8mb4`, `binary`, `latin1`,
    /// `gbk`, `gb18030`. Default `auto` (UTF-8, else GB18030).
    pub character_set: String,
    /// Character set of the data files (CSV, SQL), converted to UTF-8 while
    /// reading. Default `binary`: bytes pass through (as Lightning).
    pub data_character_set: DataCharset,
    /// What replaces bytes that are invalid in `data-character-set`. Default
    /// U+FFFD (as Lightning); empty makes them an error naming the file,
    /// the byte offset and the bytes.
    pub data_invalid_char_replace: String,
    /// Promise that CSV fields hold no terminators, so files may be split without a quote-aware scan.
    /// Default false.
    pub strict_format: bool,
    /// Table and schema names compare case-sensitively. Default false.
    pub case_sensitive: bool,
    /// Whether the Dumpling naming rules apply besides `files`. Default true.
    pub default_file_rules: bool,
    /// Table filter rules (`db.*`, `!db.tmp*`). Default: everything but system schemas.
    pub filter: Vec<String>,
    /// Custom routing rules, tried before the default ones.
    pub files: Vec<FileRule>,
    pub csv: CsvConfig,
    /// Shard merge: Lightning's top-level `[[routes]]` rules, kept here
    /// because discovery applies them (a saved config writes them back as
    /// `[[mydumper.routes]]`, which loads too). Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<TableRoute>,
}

/// One `[[routes]]` rule: source tables whose schema (and table) match the
/// patterns (`*`, `?`, `[...]`) are imported into `target-schema`.`target-table`
/// (an empty `target-table`, or no `table-pattern`, keeps the table name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TableRoute {
    pub schema_pattern: String,
    pub table_pattern: String,
    pub target_schema: String,
    pub target_table: String,
}

impl Default for MydumperConfig {
    fn default() -> Self {
        Self {
            data_source_dir: String::new(),
            read_block_size: ByteSize::kib(64),
            max_region_size: ByteSize::mib(256),
            batch_size: ByteSize::gib(4),
            character_set: "auto".into(),
            data_character_set: DataCharset::Binary,
            data_invalid_char_replace: "\u{FFFD}".into(),
            strict_format: false,
            case_sensitive: false,
            default_file_rules: true,
            filter: vec![
                "*.*".into(),
                "!mysql.*".into(),
                "!sys.*".into(),
                "!INFORMATION_SCHEMA.*".into(),
                "!PERFORMANCE_SCHEMA.*".into(),
                "!METRICS_SCHEMA.*".into(),
                "!INSPECTION_SCHEMA.*".into(),
            ],
            files: Vec::new(),
            csv: CsvConfig::default(),
            routes: Vec::new(),
        }
    }
}

/// One `[[mydumper.files]]` routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct FileRule {
    /// Regex over the path relative to the source dir (`$1` captures usable below).
    pub pattern: String,
    /// Exact relative path (alternative to `pattern`).
    pub path: String,
    pub schema: String,
    pub table: String,
    /// `sql`, `csv`, `parquet`, `schema-schema`, `table-schema`, `view-schema`, `ignore`, or `$N`.
    #[serde(rename = "type")]
    pub file_type: String,
    /// Sort key of data files within a table (`$3`).
    pub key: String,
    /// `gzip`, `zstd`, `snappy` or empty.
    pub compression: String,
}

/// `[mydumper.csv]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct CsvConfig {
    /// Field separator, may be several bytes. Default `,`.
    pub separator: String,
    /// Quote delimiter, may be empty (no quoting). Default `"`.
    pub delimiter: String,
    /// Line terminator; empty means `\r`, `\n` or `\r\n`. Default empty.
    pub terminator: String,
    /// First line holds column names. Default true.
    pub header: bool,
    /// Map columns by the header's names (else by position). Default true.
    pub header_schema_match: bool,
    /// No field is NULL; `null` markers are plain text. Default false.
    pub not_null: bool,
    /// Text(s) that mean NULL. Default `\N`.
    pub null: NullMarkers,
    /// Backslash escapes inside fields. Default true.
    pub backslash_escape: bool,
    /// A separator at the end of every line is dropped. Default false.
    pub trim_last_separator: bool,
}

impl Default for CsvConfig {
    fn default() -> Self {
        Self {
            separator: ",".into(),
            delimiter: "\"".into(),
            terminator: String::new(),
            header: true,
            header_schema_match: true,
            not_null: false,
            null: NullMarkers::One("\\N".into()),
            backslash_escape: true,
            trim_last_separator: false,
        }
    }
}

/// `null = '\N'` or `null = ['\N', 'NULL']`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NullMarkers {
    One(String),
    Many(Vec<String>),
}

impl NullMarkers {
    pub fn as_slice(&self) -> &[String] {
        match self {
            Self::One(s) => std::slice::from_ref(s),
            Self::Many(v) => v,
        }
    }
}
