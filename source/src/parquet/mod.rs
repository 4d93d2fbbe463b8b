//! Parquet data files (Aurora, Hive, Snowflake exports), read with the
//! `parquet` crate's column readers, one row group at a time.
//!
//! A chunk is a run of whole row groups: its byte range holds the first
//! byte of each of its row groups (see [`row_group_spans`]), so one large
//! file is encoded by several workers at once. Rows carry `offset` = chunk
//! start + the row's index in the chunk (unique and ordered within the
//! chunk, what row tags need) and `line` = the row's 1-based number in the
//! file. Column names come from the file's schema, and values are mapped to
//! text as [`mapping`] says. Errors name the file, row group and column.

mod cursor;
mod mapping;
mod store_file;
mod tz;

use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::catalog::{Chunk, Compression, DataFile};
use crate::error::{ErrorKind, SourceError};
use crate::row::{ReadOptions, Row, RowReader, ValueKind};
use crate::storage::SourceStore;
use cursor::Cursor;
use mapping::Mapping;
use store_file::StoreFile;
use tz::ShowTz;

/// Where one row group lies in its file, and its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowGroupSpan {
    /// First byte of the row group's column chunks.
    pub start: u64,
    /// One past its last byte.
    pub end: u64,
    pub rows: u64,
}

fn open_file(
    store: &SourceStore,
    file: &DataFile,
) -> Result<SerializedFileReader<StoreFile>, SourceError> {
    if file.compression != Compression::None {
        let reason = "a parquet file compresses its own pages: store it without an outer \
                      compression (.gz, .zst, .snappy)";
        return Err(SourceError::new(ErrorKind::Unsupported, &file.path, reason));
    }
    SerializedFileReader::new(StoreFile::new(store, &file.path, file.size)).map_err(|e| {
        SourceError::new(
            ErrorKind::Syntax,
            &file.path,
            format!("not a readable parquet file: {e}"),
        )
    })
}

fn span(rg: &RowGroupMetaData) -> RowGroupSpan {
    let (mut start, mut end) = (u64::MAX, 0u64);
    for c in rg.columns() {
        let (s, len) = c.byte_range();
        start = start.min(s);
        end = end.max(s.saturating_add(len));
    }
    RowGroupSpan {
        start: if start == u64::MAX { 0 } else { start },
        end,
        rows: u64::try_from(rg.num_rows()).unwrap_or(0),
    }
}

/// The row groups of a file, in file order (for the chunk planner).
pub fn row_group_spans(
    store: &SourceStore,
    file: &DataFile,
) -> Result<Vec<RowGroupSpan>, SourceError> {
    let reader = open_file(store, file)?;
    Ok(reader.metadata().row_groups().iter().map(span).collect())
}

/// The reader of one chunk of a parquet file: the row groups whose first
/// byte is in `chunk.start..chunk.end`.
pub struct ParquetReader {
    file: SerializedFileReader<StoreFile>,
    path: String,
    names: Vec<String>,
    mappings: Vec<Mapping>,
    kinds: Vec<ValueKind>,
    max_defs: Vec<i16>,
    tz: ShowTz,
    /// Row groups of this chunk not opened yet, in order.
    pending: std::vec::IntoIter<usize>,
    /// The open row group: its index, cursors and rows left.
    group: Option<usize>,
    cursors: Vec<Cursor>,
    rows_left: u64,
    /// 1-based number in the file of the next row.
    next_line: u64,
    chunk_start: u64,
    rows_read: u64,
    /// Byte position: the end of the last row group finished.
    position: u64,
    chunk_end: u64,
}

impl ParquetReader {
    pub fn new(
        store: &SourceStore,
        file: &DataFile,
        chunk: &Chunk,
        read: &ReadOptions,
    ) -> Result<Self, SourceError> {
        let reader = open_file(store, file)?;
        let meta: &ParquetMetaData = reader.metadata();
        let schema = meta.file_metadata().schema_descr();
        let mut names = Vec::new();
        let mut mappings = Vec::new();
        let mut max_defs = Vec::new();
        for col in schema.columns() {
            let m = Mapping::of(col).map_err(|reason| {
                SourceError::new(ErrorKind::Unsupported, &file.path, reason)
                    .with_column(col.path().string())
            })?;
            names.push(col.name().to_string());
            mappings.push(m);
            max_defs.push(col.max_def_level());
        }
        let kinds = mappings.iter().map(|m| m.kind()).collect();
        let mut groups = Vec::new();
        let mut first_line = 1u64;
        let mut line_set = false;
        for (i, rg) in meta.row_groups().iter().enumerate() {
            let s = span(rg);
            if (chunk.start..chunk.end).contains(&s.start) {
                groups.push(i);
                line_set = true;
            } else if !line_set {
                first_line += s.rows;
            }
        }
        Ok(Self {
            file: reader,
            path: file.path.clone(),
            names,
            mappings,
            kinds,
            max_defs,
            tz: tz::parse(read.time_zone.as_deref(), &file.path)?,
            pending: groups.into_iter(),
            group: None,
            cursors: Vec::new(),
            rows_left: 0,
            next_line: first_line,
            chunk_start: chunk.start,
            rows_read: 0,
            position: chunk.start,
            chunk_end: chunk.end.min(file.size),
        })
    }

    fn error(&self, column: Option<usize>, reason: impl std::fmt::Display) -> SourceError {
        let group = self.group.map_or(String::new(), |g| {
            format!("row group {g} (row {} of the file): ", self.next_line)
        });
        let mut e = SourceError::new(ErrorKind::Syntax, &self.path, format!("{group}{reason}"));
        // Rows have numbers, not byte offsets: the position is the row's.
        e.pos.line = Some(self.next_line);
        if let Some(c) = column.and_then(|c| self.names.get(c)) {
            e = e.with_column(c.clone());
        }
        e
    }

    /// Opens the next row group of the chunk; false when there is none.
    fn open_next(&mut self) -> Result<bool, SourceError> {
        if let Some(g) = self.group.take() {
            let rg = self.file.metadata().row_group(g);
            self.position = span(rg).end.max(self.position);
        }
        let Some(g) = self.pending.next() else {
            self.position = self.position.max(self.chunk_end);
            return Ok(false);
        };
        self.group = Some(g);
        let rows = self.file.metadata().row_group(g).num_rows();
        self.rows_left = u64::try_from(rows).unwrap_or(0);
        let rg = self
            .file
            .get_row_group(g)
            .map_err(|e| self.error(None, e))?;
        let mut cursors = Vec::with_capacity(self.names.len());
        for c in 0..self.names.len() {
            let r = rg
                .get_column_reader(c)
                .map_err(|e| self.error(Some(c), e))?;
            cursors.push(Cursor::new(r));
        }
        drop(rg);
        self.cursors = cursors;
        Ok(true)
    }
}

impl RowReader for ParquetReader {
    fn columns(&self) -> Option<&[String]> {
        Some(&self.names)
    }

    fn read_row(&mut self, row: &mut Row) -> Result<bool, SourceError> {
        while self.rows_left == 0 {
            if !self.open_next()? {
                return Ok(false);
            }
        }
        for c in 0..self.cursors.len() {
            let got =
                self.cursors[c].read_into(self.max_defs[c], self.mappings[c], &self.tz, row, c);
            match got {
                Ok(true) => {}
                Ok(false) => {
                    return Err(self.error(
                        Some(c),
                        format!(
                            "the column ends {} rows before the row group does",
                            self.rows_left
                        ),
                    ))
                }
                Err(e) => return Err(self.error(Some(c), format!("cannot be read: {e}"))),
            }
        }
        row.truncate(self.cursors.len());
        row.kinds.clear();
        row.kinds.extend_from_slice(&self.kinds);
        row.offset = self.chunk_start + self.rows_read;
        row.line = self.next_line;
        self.rows_read += 1;
        self.next_line += 1;
        self.rows_left -= 1;
        Ok(true)
    }

    fn position(&self) -> u64 {
        self.position
    }
}
