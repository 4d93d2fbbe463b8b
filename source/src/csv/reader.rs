//! The CSV scanner: Lightning's dialect (MySQL `LOAD DATA` style) read
//! straight from the block buffer. Plain runs are found with a byte table
//! and copied once into the record buffer; only escapes and quotes are
//! handled byte by byte.

use std::io::Read;

use crate::csv::CsvOptions;
use crate::error::{ErrorKind, SourceError};
use crate::escape::unescape_into;
use crate::input::Input;
use crate::row::{ReadOptions, Row, RowReader};
use crate::value_charset::ValueCharset;

/// What ended a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Separator,
    Terminator,
    Eof,
}

/// Where a reader starts and stops in its file.
#[derive(Debug, Clone, Default)]
pub struct CsvSpan {
    /// Byte offset the reader's input starts at.
    pub start: u64,
    /// Rows starting at or after this offset belong to the next chunk.
    pub end: u64,
    /// Line number at `start` (1 when unknown: lines are then chunk-relative).
    pub start_line: u64,
    /// Column names carried by the chunk (from the header of chunk 0).
    pub columns: Option<Vec<String>>,
}

pub struct CsvReader<R> {
    input: Input<R>,
    opts: CsvOptions,
    stops: [bool; 256],
    file: String,
    end: u64,
    columns: Option<Vec<String>>,
    expected_fields: Option<usize>,
    charset: ValueCharset,
    max_row: usize,
    /// Raw field bytes (escapes kept, doubled quotes collapsed), back to back.
    record: Vec<u8>,
    /// End of each field in `record`.
    ends: Vec<usize>,
    quoted_any: bool,
    row_offset: u64,
    row_line: u64,
    position: u64,
}

impl<R: Read> CsvReader<R> {
    /// Reads the header first when the span starts the file and `header` is on.
    pub fn new(
        reader: R,
        opts: CsvOptions,
        file: &str,
        span: CsvSpan,
        read: &ReadOptions,
        block_size: usize,
    ) -> Result<Self, SourceError> {
        let stops = opts.unquoted_stops();
        let mut this = Self {
            input: Input::new(reader, block_size, span.start, span.start_line.max(1)),
            stops,
            file: file.to_string(),
            end: span.end,
            columns: span.columns,
            expected_fields: read.expected_fields,
            charset: ValueCharset::new(read, file),
            max_row: read.max_row_bytes,
            record: Vec::new(),
            ends: Vec::new(),
            quoted_any: false,
            row_offset: span.start,
            row_line: 1,
            position: span.start,
            opts,
        };
        if this.opts.header && span.start == 0 {
            this.read_header()?;
        }
        if let Some(cols) = &this.columns {
            this.expected_fields = Some(cols.len());
        }
        Ok(this)
    }

    fn read_header(&mut self) -> Result<(), SourceError> {
        let end = std::mem::replace(&mut self.end, u64::MAX);
        let got = self.read_record()?;
        self.end = end;
        if !got {
            return Ok(());
        }
        if self.opts.header_schema_match {
            let mut names = Vec::with_capacity(self.ends.len());
            let mut start = 0;
            let mut buf = Vec::new();
            for &e in &self.ends {
                buf.clear();
                unescape_into(&self.record[start..e], &mut buf);
                names.push(String::from_utf8_lossy(&buf).to_lowercase());
                start = e;
            }
            self.columns = Some(names);
        }
        Ok(())
    }

    fn err(
        &mut self,
        kind: ErrorKind,
        offset: u64,
        line: u64,
        reason: impl Into<String>,
    ) -> SourceError {
        SourceError::new(kind, &self.file, reason).at(offset, line)
    }

    fn io_err(&self, e: std::io::Error) -> SourceError {
        SourceError::from_io(&self.file, e, self.input.offset(), self.row_line)
    }

    /// Length of the terminator at the read position, if one is there.
    fn terminator_len(&mut self) -> Result<Option<usize>, SourceError> {
        let r = match &self.opts.terminator {
            Some(t) => self.input.starts_with(t).map(|m| m.then_some(t.len())),
            None => match self.input.peek() {
                Ok(Some(b'\n')) => Ok(Some(1)),
                Ok(Some(b'\r')) => self.input.ensure(2).map(|_| {
                    Some(if self.input.available().get(1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    })
                }),
                Ok(_) => Ok(None),
                Err(e) => Err(e),
            },
        };
        r.map_err(|e| self.io_err(e))
    }

    fn check_size(&mut self) -> Result<(), SourceError> {
        if self.record.len() > self.max_row {
            let (o, l) = (self.row_offset, self.row_line);
            let reason = format!(
                "row is longer than {} bytes (an unterminated quote, or a wrong separator/terminator?)",
                self.max_row
            );
            return Err(self.err(ErrorKind::Syntax, o, l, reason));
        }
        Ok(())
    }

    /// Reads one record into `record`/`ends`; false at the end of the span.
    pub(crate) fn read_record(&mut self) -> Result<bool, SourceError> {
        loop {
            // Empty lines are not rows.
            loop {
                match self.input.peek() {
                    Ok(None) => return Ok(false),
                    Ok(Some(_)) => {}
                    Err(e) => return Err(self.io_err(e)),
                }
                match self.terminator_len()? {
                    Some(n) => self.input.consume(n),
                    None => break,
                }
            }
            self.row_offset = self.input.offset();
            self.row_line = self.input.line();
            if self.row_offset >= self.end {
                return Ok(false);
            }
            self.record.clear();
            self.ends.clear();
            self.quoted_any = false;
            loop {
                let end = self.read_field()?;
                self.ends.push(self.record.len());
                self.check_size()?;
                if end != End::Separator {
                    break;
                }
            }
            self.position = self.input.offset();
            // A line of blanks only is skipped, as Lightning does.
            let blank = self.ends.len() == 1
                && !self.quoted_any
                && self.record.iter().all(|b| b.is_ascii_whitespace());
            if !blank {
                return Ok(true);
            }
        }
    }

    fn read_field(&mut self) -> Result<End, SourceError> {
        let quote_len = self.opts.delimiter.len();
        if quote_len > 0 {
            let at_quote = self
                .input
                .starts_with(&self.opts.delimiter)
                .map_err(|e| self.io_err(e))?;
            if at_quote {
                let (o, l) = (self.input.offset(), self.input.line());
                self.input.consume(quote_len);
                self.quoted_any = true;
                return self.read_quoted(o, l);
            }
        }
        self.read_unquoted()
    }

    fn read_unquoted(&mut self) -> Result<End, SourceError> {
        loop {
            let avail = self.input.available();
            let stops = &self.stops;
            let Some(i) = avail.iter().position(|&b| stops[b as usize]) else {
                self.record.extend_from_slice(avail);
                let n = avail.len();
                self.input.consume(n);
                self.check_size()?;
                if !self.input.fill().map_err(|e| self.io_err(e))? {
                    return Ok(End::Eof);
                }
                continue;
            };
            let b = avail[i];
            self.record.extend_from_slice(&avail[..i]);
            self.input.consume(i);
            if let Some(end) = self.at_stop(b)? {
                return Ok(end);
            }
        }
    }

    /// Handles the stop byte `b` at the read position inside an unquoted field.
    fn at_stop(&mut self, b: u8) -> Result<Option<End>, SourceError> {
        let sep_len = self.opts.separator.len();
        if b == self.opts.separator[0]
            && (sep_len == 1
                || self
                    .input
                    .starts_with(&self.opts.separator)
                    .map_err(|e| self.io_err(e))?)
        {
            self.input.consume(sep_len);
            return Ok(Some(End::Separator));
        }
        if self.opts.delimiter.first() == Some(&b)
            && self
                .input
                .starts_with(&self.opts.delimiter)
                .map_err(|e| self.io_err(e))?
        {
            let (o, l) = (self.input.offset(), self.input.line());
            return Err(self.err(
                ErrorKind::Syntax,
                o,
                l,
                "unexpected quote inside an unquoted field",
            ));
        }
        if b == b'\\' && self.opts.backslash_escape {
            self.escaped_pair()?;
            return Ok(None);
        }
        if let Some(n) = self.terminator_len()? {
            self.input.consume(n);
            return Ok(Some(End::Terminator));
        }
        self.record.push(b);
        self.input.consume(1);
        Ok(None)
    }

    /// Copies `\c` at the read position into the record (resolved later).
    fn escaped_pair(&mut self) -> Result<(), SourceError> {
        let (o, l) = (self.input.offset(), self.input.line());
        self.input.consume(1);
        match self.input.peek().map_err(|e| self.io_err(e))? {
            Some(c) => {
                self.record.extend_from_slice(&[b'\\', c]);
                self.input.consume(1);
                Ok(())
            }
            None => Err(self.err(
                ErrorKind::Syntax,
                o,
                l,
                "no character after backslash at end of file",
            )),
        }
    }

    fn read_quoted(&mut self, open_offset: u64, open_line: u64) -> Result<End, SourceError> {
        let q0 = self.opts.delimiter[0];
        let esc = self.opts.backslash_escape;
        loop {
            let avail = self.input.available();
            let found = if esc {
                memchr::memchr2(q0, b'\\', avail)
            } else {
                memchr::memchr(q0, avail)
            };
            let Some(i) = found else {
                self.record.extend_from_slice(avail);
                let n = avail.len();
                self.input.consume(n);
                self.check_size()?;
                if !self.input.fill().map_err(|e| self.io_err(e))? {
                    return Err(self.err(
                        ErrorKind::Syntax,
                        open_offset,
                        open_line,
                        "unterminated quoted field",
                    ));
                }
                continue;
            };
            let b = avail[i];
            self.record.extend_from_slice(&avail[..i]);
            self.input.consume(i);
            if b == b'\\' && esc && b != q0 {
                self.escaped_pair()?;
                continue;
            }
            if !self
                .input
                .starts_with(&self.opts.delimiter)
                .map_err(|e| self.io_err(e))?
            {
                self.record.push(b);
                self.input.consume(1);
                continue;
            }
            self.input.consume(self.opts.delimiter.len());
            if let Some(end) = self.after_closing_quote()? {
                return Ok(end);
            }
        }
    }

    /// After a quote inside a quoted field: a doubled quote (`""`) continues
    /// the field; a separator, terminator or EOF ends it; anything else is an error.
    fn after_closing_quote(&mut self) -> Result<Option<End>, SourceError> {
        let io = |s: &Self, e| s.io_err(e);
        if self.input.peek().map_err(|e| io(self, e))?.is_none() {
            return Ok(Some(End::Eof));
        }
        if self
            .input
            .starts_with(&self.opts.delimiter)
            .map_err(|e| io(self, e))?
        {
            self.input.consume(self.opts.delimiter.len());
            self.record.extend_from_slice(&self.opts.delimiter);
            return Ok(None);
        }
        if self
            .input
            .starts_with(&self.opts.separator)
            .map_err(|e| io(self, e))?
        {
            self.input.consume(self.opts.separator.len());
            return Ok(Some(End::Separator));
        }
        if let Some(n) = self.terminator_len()? {
            self.input.consume(n);
            return Ok(Some(End::Terminator));
        }
        let (o, l) = (self.input.offset(), self.input.line());
        Err(self.err(
            ErrorKind::Syntax,
            o,
            l,
            "unexpected character after a closing quote (missing separator?)",
        ))
    }

    /// Turns the raw record into `row`: NULL markers, escapes, charset.
    fn fill_row(&mut self, row: &mut Row) -> Result<(), SourceError> {
        row.offset = self.row_offset;
        row.line = self.row_line;
        row.kinds.clear();
        let mut n = self.ends.len();
        if self.opts.trim_last_separator && n > 0 {
            let last_start = if n > 1 { self.ends[n - 2] } else { 0 };
            if self.ends[n - 1] == last_start {
                n -= 1;
            }
        }
        if let Some(want) = self.expected_fields {
            if n != want {
                row.truncate(0);
                let (o, l) = (self.row_offset, self.row_line);
                let reason = format!("expected {want} fields, found {n}");
                return Err(self.err(ErrorKind::Data, o, l, reason));
            }
        }
        let mut start = 0;
        for i in 0..n {
            let raw = &self.record[start..self.ends[i]];
            start = self.ends[i];
            if self.opts.mysql_null && raw == b"\\N" {
                row.set_null(i);
                continue;
            }
            let buf = row.field_buf(i);
            if self.opts.backslash_escape {
                unescape_into(raw, buf);
            } else {
                buf.extend_from_slice(raw);
            }
            if self
                .opts
                .null_markers
                .iter()
                .any(|m| m.as_slice() == buf.as_slice())
            {
                row.set_null(i);
                continue;
            }
            if let Err(e) = self.charset.convert(buf, self.row_offset) {
                let col = self.column_name(i);
                let reason = format!("{} (byte {} of the value)", e.reason, e.offset);
                let (o, l) = (self.row_offset, self.row_line);
                return Err(self.err(ErrorKind::Charset, o, l, reason).with_column(col));
            }
        }
        row.truncate(n);
        Ok(())
    }

    fn column_name(&self, i: usize) -> String {
        match self.columns.as_ref().and_then(|c| c.get(i)) {
            Some(name) => name.clone(),
            None => format!("#{}", i + 1),
        }
    }

    /// Start offset and line of the record read last.
    pub(crate) fn record_start(&self) -> (u64, u64) {
        (self.row_offset, self.row_line)
    }
}

impl<R: Read> RowReader for CsvReader<R> {
    fn columns(&self) -> Option<&[String]> {
        self.columns.as_deref()
    }

    fn read_row(&mut self, row: &mut Row) -> Result<bool, SourceError> {
        if !self.read_record()? {
            return Ok(false);
        }
        self.fill_row(row)?;
        Ok(true)
    }

    fn position(&self) -> u64 {
        self.position
    }
}
