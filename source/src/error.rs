//! Errors of the source crate. Every failure names the file, the byte offset
//! and line where it happened, the column when known, and the reason.
//!
//! The kind decides what the caller may do: syntax errors (the file cannot be
//! read any further, e.g. an unterminated quote) always abort, as in
//! Lightning; data errors (one row is bad but the parser knows where the next
//! one starts) may be skipped within the `max-error` budget.

use std::fmt;

/// What went wrong, coarsely; the message says the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The text cannot be tokenised or parsed; reading cannot continue.
    Syntax,
    /// One row is unusable (wrong field count, over-long row); the reader
    /// is positioned at the next row.
    Data,
    /// Bytes are not valid in the configured character set.
    Charset,
    /// A `CREATE TABLE`/`CREATE DATABASE` that cannot be turned into a table model.
    Schema,
    /// Something Squall does not support (parquet, generated columns).
    Unsupported,
    /// File discovery or routing: bad rule, unknown table, missing schema file.
    Routing,
    /// Reading, listing or decompressing failed.
    Io,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Syntax => "syntax error",
            Self::Data => "data error",
            Self::Charset => "charset error",
            Self::Schema => "schema error",
            Self::Unsupported => "unsupported",
            Self::Routing => "routing error",
            Self::Io => "I/O error",
        })
    }
}

/// Where in a file an error happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// Path relative to the source directory (empty when not about a file).
    pub file: String,
    /// Byte offset in the (decompressed) file.
    pub offset: Option<u64>,
    /// 1-based line number.
    pub line: Option<u64>,
    /// Column name or 1-based field number, when the error is about one value.
    pub column: Option<String>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = if self.file.is_empty() {
            "<input>"
        } else {
            &self.file
        };
        write!(f, "{file}")?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " (byte {offset})")?;
        }
        if let Some(col) = &self.column {
            write!(f, " column {col}")?;
        }
        Ok(())
    }
}

/// The one error type of this crate.
#[derive(Debug, thiserror::Error)]
#[error("{kind} at {pos}: {reason}")]
pub struct SourceError {
    pub kind: ErrorKind,
    pub pos: Position,
    pub reason: String,
}

impl SourceError {
    pub fn new(kind: ErrorKind, file: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            kind,
            pos: Position {
                file: file.into(),
                ..Position::default()
            },
            reason: reason.into(),
        }
    }

    /// A syntax error at a byte offset and line.
    pub fn syntax(file: &str, offset: u64, line: u64, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Syntax, file, reason).at(offset, line)
    }

    /// A data error at a byte offset and line.
    pub fn data(file: &str, offset: u64, line: u64, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, file, reason).at(offset, line)
    }

    /// An I/O failure (read, list, decompress); the cause is kept as text
    /// so the error stays small on the hot path.
    pub fn io(file: &str, err: impl std::error::Error) -> Self {
        Self::new(ErrorKind::Io, file, err.to_string())
    }

    /// A failed read at `offset`/`line`, unless the reader below already
    /// made a `SourceError` (a charset conversion names its own file offset).
    pub fn from_io(file: &str, err: std::io::Error, offset: u64, line: u64) -> Self {
        match err.get_ref().and_then(|e| e.downcast_ref::<SourceError>()) {
            Some(inner) => Self {
                kind: inner.kind,
                pos: inner.pos.clone(),
                reason: inner.reason.clone(),
            },
            None => Self::io(file, err).at(offset, line),
        }
    }

    pub fn at(mut self, offset: u64, line: u64) -> Self {
        self.pos.offset = Some(offset);
        self.pos.line = Some(line);
        self
    }

    pub fn with_column(mut self, column: impl Into<String>) -> Self {
        self.pos.column = Some(column.into());
        self
    }

    pub fn with_file(mut self, file: &str) -> Self {
        if self.pos.file.is_empty() {
            self.pos.file = file.to_string();
        }
        self
    }

    /// Syntax errors always abort the job (Lightning's `max-error.syntax` is 0).
    pub fn is_syntax(&self) -> bool {
        self.kind == ErrorKind::Syntax
    }

    /// Everything but a data error aborts the job: the reader cannot go on.
    pub fn is_fatal(&self) -> bool {
        self.kind != ErrorKind::Data
    }

    /// A row-level problem that may be skipped and recorded within `max-error`.
    pub fn is_skippable(&self) -> bool {
        self.kind == ErrorKind::Data
    }
}

pub type Result<T, E = SourceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_file_line_offset_and_column() {
        let e =
            SourceError::data("db.t.1.csv", 120, 7, "expected 3 fields, found 2").with_column("3");
        assert_eq!(
            e.to_string(),
            "data error at db.t.1.csv:7 (byte 120) column 3: expected 3 fields, found 2"
        );
        assert!(!e.is_syntax() && e.is_skippable() && !e.is_fatal());
        assert!(SourceError::syntax("f", 0, 1, "x").is_syntax());
    }
}
