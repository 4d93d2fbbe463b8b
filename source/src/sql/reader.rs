//! Rows of `INSERT`/`REPLACE ... VALUES (...),(...);` statements in a SQL
//! dump. Other statements (`SET`, `LOCK TABLES`, `/*!40101 ... */;`) are
//! skipped. The table name after `INTO` is ignored: rows belong to the table
//! the file was routed to (Lightning's rule).

use std::io::Read;

use crate::charset::SourceCharset;
use crate::error::{ErrorKind, SourceError};
use crate::input::Input;
use crate::row::{ReadOptions, Row, RowReader, ValueKind};
use crate::sql::lexer::{decode_bits, decode_hex, is_word_byte, Lexer};
use crate::value_charset::ValueCharset;

/// Where a reader starts and stops in its file.
#[derive(Debug, Clone, Default)]
pub struct SqlSpan {
    pub start: u64,
    /// Tuples (and statements) starting at or after this offset are not read.
    pub end: u64,
    /// Line at `start` (1 when unknown).
    pub start_line: u64,
    /// The chunk starts inside a `VALUES` list, at a tuple.
    pub in_values: bool,
    /// The column list of that INSERT statement.
    pub columns: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between statements.
    Statement,
    /// Expecting a tuple of a VALUES list.
    Tuple,
    Done,
}

pub struct SqlReader<R> {
    lex: Lexer<R>,
    state: State,
    end: u64,
    columns: Option<Vec<String>>,
    expected_fields: Option<usize>,
    charset: ValueCharset,
    word: Vec<u8>,
    position: u64,
}

impl<R: Read> SqlReader<R> {
    pub fn new(
        reader: R,
        file: &str,
        span: SqlSpan,
        read: &ReadOptions,
        block_size: usize,
    ) -> Self {
        Self {
            lex: Lexer {
                input: Input::new(reader, block_size, span.start, span.start_line.max(1)),
                file: file.to_string(),
                max_token: read.max_row_bytes,
            },
            state: if span.in_values {
                State::Tuple
            } else {
                State::Statement
            },
            end: span.end,
            columns: span.columns,
            expected_fields: read.expected_fields,
            charset: ValueCharset::new(read, file),
            word: Vec::new(),
            position: span.start,
        }
    }

    /// Offset and line of the read position.
    pub(crate) fn here(&mut self) -> (u64, u64) {
        (self.lex.input.offset(), self.lex.input.line())
    }

    /// Moves to the next tuple; false at the end of the span.
    fn advance_to_tuple(&mut self) -> Result<bool, SourceError> {
        loop {
            match self.state {
                State::Done => return Ok(false),
                State::Tuple => {
                    self.lex.skip_blank()?;
                    let offset = self.lex.input.offset();
                    match self.lex.peek()? {
                        Some(b'(') if offset < self.end => return Ok(true),
                        Some(b'(') => self.state = State::Done,
                        None => {
                            return Err(self
                                .lex
                                .err(ErrorKind::Syntax, "file ends inside a VALUES list"))
                        }
                        Some(b) => {
                            let reason =
                                format!("expected `(` to start a row, found {:?}", char::from(b));
                            return Err(self.lex.err(ErrorKind::Syntax, reason));
                        }
                    }
                }
                State::Statement => {
                    self.lex.skip_blank()?;
                    while self.lex.peek()? == Some(b';') {
                        self.lex.bump(1);
                        self.lex.skip_blank()?;
                    }
                    if self.lex.peek()?.is_none() || self.lex.input.offset() >= self.end {
                        self.state = State::Done;
                        continue;
                    }
                    self.statement()?;
                }
            }
        }
    }

    /// Reads the head of one statement: an INSERT up to its `VALUES`, or
    /// anything else to its `;`.
    fn statement(&mut self) -> Result<(), SourceError> {
        let (o, l) = self.here();
        let first = self.lex.peek()?.unwrap_or(b';');
        if !is_word_byte(first) {
            return Err(self.lex.err(
                ErrorKind::Syntax,
                format!("unexpected {:?} at statement start", char::from(first)),
            ));
        }
        self.lex.read_word(&mut self.word)?;
        let is_insert =
            self.word.eq_ignore_ascii_case(b"insert") || self.word.eq_ignore_ascii_case(b"replace");
        if !is_insert {
            // SET, LOCK/UNLOCK TABLES, USE, BEGIN/COMMIT, DROP...: not data.
            return self.lex.skip_statement();
        }
        self.insert_head(o, l)
    }

    fn insert_head(&mut self, o: u64, l: u64) -> Result<(), SourceError> {
        // Modifiers and INTO.
        loop {
            self.lex.skip_blank()?;
            if !matches!(self.lex.peek()?, Some(b) if b.is_ascii_alphabetic()) {
                break;
            }
            let modifiers: [&[u8]; 5] = [
                b"into",
                b"ignore",
                b"low_priority",
                b"delayed",
                b"high_priority",
            ];
            let mut matched = false;
            for m in modifiers {
                if self.lex.starts_with_ci(m)?
                    && !self.lex.peek_at(m.len())?.is_some_and(is_word_byte)
                {
                    self.lex.bump(m.len());
                    matched = true;
                    break;
                }
            }
            if !matched {
                break;
            }
        }
        // Table name, possibly qualified; ignored.
        self.lex.read_ident(&mut self.word)?;
        self.lex.skip_blank()?;
        if self.lex.peek()? == Some(b'.') {
            self.lex.bump(1);
            self.lex.skip_blank()?;
            self.lex.read_ident(&mut self.word)?;
            self.lex.skip_blank()?;
        }
        self.columns = if self.lex.peek()? == Some(b'(') {
            Some(self.column_list()?)
        } else {
            None
        };
        self.lex.skip_blank()?;
        self.lex.read_word(&mut self.word)?;
        if !(self.word.eq_ignore_ascii_case(b"values") || self.word.eq_ignore_ascii_case(b"value"))
        {
            let found = String::from_utf8_lossy(&self.word).into_owned();
            return Err(self.lex.err_at(
                o,
                l,
                format!("INSERT without VALUES is not supported (found {found:?})"),
            ));
        }
        self.state = State::Tuple;
        Ok(())
    }

    fn column_list(&mut self) -> Result<Vec<String>, SourceError> {
        self.lex.bump(1);
        let mut cols = Vec::new();
        loop {
            self.lex.skip_blank()?;
            if self.lex.peek()? == Some(b')') && cols.is_empty() {
                self.lex.bump(1);
                return Ok(cols);
            }
            self.lex.read_ident(&mut self.word)?;
            cols.push(String::from_utf8_lossy(&self.word).into_owned());
            self.lex.skip_blank()?;
            match self.lex.peek()? {
                Some(b',') => self.lex.bump(1),
                Some(b')') => {
                    self.lex.bump(1);
                    return Ok(cols);
                }
                _ => {
                    return Err(self
                        .lex
                        .err(ErrorKind::Syntax, "expected `,` or `)` in the column list"))
                }
            }
        }
    }

    /// Reads the tuple at the read position (an opening paren) into `row`.
    fn tuple(&mut self, row: &mut Row) -> Result<(), SourceError> {
        let (o, l) = self.here();
        row.offset = o;
        row.line = l;
        row.kinds.clear();
        self.lex.bump(1);
        let mut n = 0;
        self.lex.skip_blank()?;
        if self.lex.peek()? == Some(b')') {
            self.lex.bump(1);
        } else {
            loop {
                self.lex.skip_blank()?;
                self.value(row, n)?;
                n += 1;
                self.lex.skip_blank()?;
                match self.lex.peek()? {
                    Some(b',') => self.lex.bump(1),
                    Some(b')') => {
                        self.lex.bump(1);
                        break;
                    }
                    Some(b) => {
                        let reason = format!(
                            "expected `,` or `)` after a value, found {:?}",
                            char::from(b)
                        );
                        return Err(self.lex.err(ErrorKind::Syntax, reason));
                    }
                    None => return Err(self.lex.err_at(o, l, "file ends inside a row")),
                }
            }
        }
        row.truncate(n);
        self.after_tuple()
    }

    fn check_count(&self, row: &Row) -> Result<(), SourceError> {
        let (o, l) = (row.offset, row.line);
        let want = self
            .columns
            .as_ref()
            .map(|c| c.len())
            .filter(|&c| c > 0)
            .or(self.expected_fields);
        match want {
            Some(w) if row.fields.len() != w && !row.fields.is_empty() => {
                let reason = format!("expected {w} values, found {}", row.fields.len());
                Err(SourceError::data(&self.lex.file, o, l, reason))
            }
            _ => Ok(()),
        }
    }

    /// After a tuple: `,` (another tuple), `;` (statement ends), EOF, or
    /// `ON DUPLICATE KEY UPDATE ...` (skipped to the `;`).
    fn after_tuple(&mut self) -> Result<(), SourceError> {
        self.lex.skip_blank()?;
        match self.lex.peek()? {
            Some(b',') => self.lex.bump(1),
            Some(b';') => {
                self.lex.bump(1);
                self.state = State::Statement;
            }
            None => self.state = State::Statement,
            Some(b) if b.is_ascii_alphabetic() && self.lex.starts_with_ci(b"on")? => {
                self.lex.skip_statement()?;
                self.state = State::Statement;
            }
            Some(b) => {
                let reason = format!("expected `,` or `;` after a row, found {:?}", char::from(b));
                return Err(self.lex.err(ErrorKind::Syntax, reason));
            }
        }
        self.position = self.lex.input.offset();
        Ok(())
    }

    /// Reads one value into field `i` of `row`.
    fn value(&mut self, row: &mut Row, i: usize) -> Result<(), SourceError> {
        let (o, l) = self.here();
        let Some(b) = self.lex.peek()? else {
            return Err(self.lex.err(ErrorKind::Syntax, "file ends inside a row"));
        };
        match b {
            b'\'' | b'"' => {
                let buf = row.field_buf(i);
                self.lex.read_quoted(b, true, buf)?;
                row.kinds.push(ValueKind::Text);
                self.convert(row, i, o, l)
            }
            b'0'..=b'9' | b'-' | b'+' | b'.' => self.number(row, i),
            b'\\' if self.lex.peek_at(1)? == Some(b'N') => {
                self.lex.bump(2);
                row.set_null(i);
                row.kinds.push(ValueKind::Text);
                Ok(())
            }
            b if is_word_byte(b) => self.word_value(row, i, o, l),
            other => {
                let reason = format!(
                    "unexpected {:?} where a value was expected",
                    char::from(other)
                );
                Err(self.lex.err(ErrorKind::Syntax, reason))
            }
        }
    }

    fn convert(&mut self, row: &mut Row, i: usize, o: u64, l: u64) -> Result<(), SourceError> {
        let Some(Some(buf)) = row.fields.get_mut(i) else {
            return Ok(());
        };
        if let Err(e) = self.charset.convert(buf, o) {
            let col = self.column_name(i);
            let reason = format!("{} (byte {} of the value)", e.reason, e.offset);
            return Err(SourceError::new(ErrorKind::Charset, &self.lex.file, reason)
                .at(o, l)
                .with_column(col));
        }
        Ok(())
    }

    fn column_name(&self, i: usize) -> String {
        match self.columns.as_ref().and_then(|c| c.get(i)) {
            Some(c) => c.clone(),
            None => format!("#{}", i + 1),
        }
    }

    fn number(&mut self, row: &mut Row, i: usize) -> Result<(), SourceError> {
        let is_radix =
            self.lex.peek()? == Some(b'0') && matches!(self.lex.peek_at(1)?, Some(b'x' | b'b'));
        if is_radix {
            let (o, l) = self.here();
            let hex = self.lex.peek_at(1)? == Some(b'x');
            self.lex.bump(2);
            self.lex.read_word(&mut self.word)?;
            let buf = row.field_buf(i);
            let ok = if hex {
                decode_hex(&self.word, buf)
            } else {
                decode_bits(&self.word, buf)
            };
            if ok.is_none() || self.word.is_empty() {
                let what = if hex { "hexadecimal" } else { "bit" };
                return Err(self.lex.err_at(o, l, format!("invalid {what} literal")));
            }
            row.kinds.push(ValueKind::Binary);
            return Ok(());
        }
        let buf = row.field_buf(i);
        self.lex.read_number(buf)?;
        row.kinds.push(ValueKind::Number);
        Ok(())
    }

    /// NULL, TRUE, FALSE, `x'..'`, `b'..'`, `_charset'..'`, `CONVERT(.. USING ..)`.
    fn word_value(&mut self, row: &mut Row, i: usize, o: u64, l: u64) -> Result<(), SourceError> {
        let quote_follows = self.lex.peek_at(1)? == Some(b'\'');
        let first = self.lex.peek()?.unwrap_or(0).to_ascii_lowercase();
        if quote_follows && (first == b'x' || first == b'b') {
            self.lex.bump(1);
            let mut digits = Vec::new();
            self.lex.read_quoted(b'\'', false, &mut digits)?;
            let buf = row.field_buf(i);
            let ok = if first == b'x' {
                decode_hex(&digits, buf)
            } else {
                decode_bits(&digits, buf)
            };
            if ok.is_none() || (first == b'x' && digits.len() % 2 == 1) {
                return Err(self.lex.err_at(
                    o,
                    l,
                    format!("invalid {}'...' literal", char::from(first)),
                ));
            }
            row.kinds.push(ValueKind::Binary);
            return Ok(());
        }
        self.lex.read_word(&mut self.word)?;
        let w = std::mem::take(&mut self.word);
        let r = self.keyword_value(&w, row, i, o, l);
        self.word = w;
        r
    }

    fn keyword_value(
        &mut self,
        w: &[u8],
        row: &mut Row,
        i: usize,
        o: u64,
        l: u64,
    ) -> Result<(), SourceError> {
        if w.eq_ignore_ascii_case(b"null") {
            row.set_null(i);
            row.kinds.push(ValueKind::Text);
        } else if w.eq_ignore_ascii_case(b"true") || w.eq_ignore_ascii_case(b"false") {
            let v: &[u8] = if w.eq_ignore_ascii_case(b"true") {
                b"1"
            } else {
                b"0"
            };
            row.field_buf(i).extend_from_slice(v);
            row.kinds.push(ValueKind::Number);
        } else if w.first() == Some(&b'_') {
            // Charset introducer: `_binary 'x'`, `_utf8mb4'x'`, `_binary 0x..`.
            self.lex.skip_blank()?;
            let binary = w.eq_ignore_ascii_case(b"_binary");
            let saved = self.charset.charset;
            if binary {
                self.charset.charset = SourceCharset::Binary;
            }
            let r = self.value(row, i);
            self.charset.charset = saved;
            r?;
        } else if w.eq_ignore_ascii_case(b"convert") {
            self.convert_using(row, i)?;
        } else {
            let word = String::from_utf8_lossy(w);
            return Err(self.lex.err_at(
                o,
                l,
                format!("unexpected word {word:?} where a value was expected"),
            ));
        }
        Ok(())
    }

    /// `CONVERT(value USING charset)`: the value, as is.
    fn convert_using(&mut self, row: &mut Row, i: usize) -> Result<(), SourceError> {
        self.lex.skip_blank()?;
        if self.lex.peek()? != Some(b'(') {
            return Err(self
                .lex
                .err(ErrorKind::Syntax, "expected `(` after CONVERT"));
        }
        self.lex.bump(1);
        self.lex.skip_blank()?;
        self.value(row, i)?;
        self.lex.skip_blank()?;
        self.lex.read_word(&mut self.word)?;
        if !self.word.eq_ignore_ascii_case(b"using") {
            return Err(self.lex.err(
                ErrorKind::Syntax,
                "expected USING in CONVERT(... USING charset)",
            ));
        }
        self.lex.skip_blank()?;
        self.lex.read_word(&mut self.word)?;
        self.lex.skip_blank()?;
        if self.lex.peek()? != Some(b')') {
            return Err(self
                .lex
                .err(ErrorKind::Syntax, "expected `)` to close CONVERT("));
        }
        self.lex.bump(1);
        Ok(())
    }

    /// Skips the tuple at the read position without keeping its values
    /// (the chunker's scan). Returns its start offset and line.
    pub(crate) fn skip_tuple(
        &mut self,
        scratch: &mut Row,
    ) -> Result<Option<(u64, u64)>, SourceError> {
        if !self.advance_to_tuple()? {
            return Ok(None);
        }
        let here = self.here();
        self.tuple(scratch)?;
        Ok(Some(here))
    }

    pub(crate) fn current_columns(&self) -> Option<Vec<String>> {
        self.columns.clone()
    }
}

impl<R: Read> RowReader for SqlReader<R> {
    fn columns(&self) -> Option<&[String]> {
        self.columns.as_deref()
    }

    fn read_row(&mut self, row: &mut Row) -> Result<bool, SourceError> {
        if !self.advance_to_tuple()? {
            return Ok(false);
        }
        self.tuple(row)?;
        self.check_count(row)?;
        Ok(true)
    }

    fn position(&self) -> u64 {
        self.position
    }
}
