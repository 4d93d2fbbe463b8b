//! The row API the worker reads through, whatever the file format.

use crate::charset::SourceCharset;
use crate::error::SourceError;

/// How a SQL value was written; it decides how the codec converts it (a hex
/// literal into an INT column is a number, a quoted string is parsed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ValueKind {
    /// Quoted string, or any CSV field.
    Text,
    /// Unquoted number (`12`, `-1.5e3`), or `TRUE`/`FALSE` given as `1`/`0`.
    Number,
    /// Hex or bit literal (`0x41`, `x'41'`, `b'1'`, `0b1`): the bytes are the value.
    Binary,
}

/// One source row. Values are text bytes converted to UTF-8 from the data
/// character set (raw bytes for `binary`, and for binary literals).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// `None` is NULL.
    pub fields: Vec<Option<Vec<u8>>>,
    /// Per-field kinds; empty means every field is [`ValueKind::Text`] (CSV).
    pub kinds: Vec<ValueKind>,
    /// Byte offset of the row start in the (decompressed) file. Parquet
    /// rows have no byte offset: the chunk start plus the row's index in
    /// the chunk (unique and ordered, what row tags need).
    pub offset: u64,
    /// 1-based line of the row start (parquet: the row's number in the file).
    pub line: u64,
}

impl Row {
    pub fn kind(&self, i: usize) -> ValueKind {
        self.kinds.get(i).copied().unwrap_or(ValueKind::Text)
    }

    /// A cleared buffer for field `i` (fields are filled in order), reusing
    /// the allocation of the previous row's field `i`.
    pub(crate) fn field_buf(&mut self, i: usize) -> &mut Vec<u8> {
        if i == self.fields.len() {
            self.fields.push(Some(Vec::new()));
        }
        let slot = &mut self.fields[i];
        match slot {
            Some(v) => v.clear(),
            None => *slot = Some(Vec::new()),
        }
        slot.get_or_insert_with(Vec::new)
    }

    pub(crate) fn set_null(&mut self, i: usize) {
        if i == self.fields.len() {
            self.fields.push(None);
        } else {
            self.fields[i] = None;
        }
    }

    /// Drops fields left over from a longer previous row.
    pub(crate) fn truncate(&mut self, n: usize) {
        self.fields.truncate(n);
    }
}

/// A reader of one chunk of one file.
pub trait RowReader {
    /// Column names from the CSV header or the INSERT column list, if any.
    /// For SQL it describes the statement of the row returned last.
    fn columns(&self) -> Option<&[String]>;

    /// Reads the next row into `row`, reusing its buffers; false at the end of the chunk.
    fn read_row(&mut self, row: &mut Row) -> Result<bool, SourceError>;

    /// Byte offset (in the decompressed file) just after the last row read.
    fn position(&self) -> u64;

    /// The next row, or `None` at the end of the chunk.
    fn next_row(&mut self) -> Result<Option<Row>, SourceError> {
        let mut row = Row::default();
        Ok(if self.read_row(&mut row)? {
            Some(row)
        } else {
            None
        })
    }
}

/// Reader settings that are not in `[mydumper]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Character set of data values (Lightning's `data-character-set`,
    /// default `binary`: bytes pass through unchanged).
    pub data_charset: SourceCharset,
    /// What replaces invalid `utf8mb4` bytes in values; `None` (the default
    /// here) makes them an error. `open_chunk_in` sets it from
    /// `mydumper.data-invalid-char-replace` (Lightning's default: U+FFFD).
    pub invalid_char_replace: Option<String>,
    /// Fields every row must have when the file does not say (no header,
    /// no column list): the table's column count. `None` disables the check.
    pub expected_fields: Option<usize>,
    /// Largest row the reader holds in memory; longer is an error
    /// (default 64 MiB, TiDB's `max_allowed_packet`).
    pub max_row_bytes: usize,
    /// The session time zone (`tidb.time-zone`) in which instants stored as
    /// UTC (parquet timestamps adjusted to UTC, INT96) are shown, so the
    /// encoder stores the same instant; `None` is UTC.
    pub time_zone: Option<String>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            data_charset: SourceCharset::Binary,
            invalid_char_replace: None,
            expected_fields: None,
            max_row_bytes: 64 << 20,
            time_zone: None,
        }
    }
}
