//! Writes a table's rows as size-capped Dumpling data files
//! (`db.table.000000001.sql` / `.csv`).
//!
//! Rows are built field by field straight into one output buffer (no
//! per-value `String`), so generation runs at hundreds of MB/s and never
//! dominates a benchmark. Escaping follows Dumpling's defaults: SQL string
//! literals in `'…'` with backslash escapes; CSV with a quoted header,
//! strings in `"…"` with backslash escapes (`escape-backslash = true`),
//! numbers bare and NULL as `\N`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::TableSummary;

/// How data files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `INSERT INTO ... VALUES (...),(...);` statements of `STATEMENT_ROWS` rows.
    Sql,
    /// CSV with a header line, `"` quoting, backslash escapes and `\N` for NULL.
    Csv,
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Format::Sql => "sql",
            Format::Csv => "csv",
        }
    }
}

const STATEMENT_ROWS: usize = 500;
/// Bytes buffered before a write to the file.
const CHUNK: usize = 1 << 20;

pub struct DumpWriter {
    dir: PathBuf,
    db: String,
    table: String,
    /// SQL: `INSERT INTO `t` (`a`,`b`) VALUES\n`; CSV: the header line.
    prefix: Vec<u8>,
    format: Format,
    file_bytes: u64,
    file_no: u32,
    out: Option<File>,
    path: PathBuf,
    buf: Vec<u8>,
    written_in_file: u64,
    rows_in_statement: usize,
    /// No field written yet in the current row.
    first_field: bool,
    /// Bytes handed to files (the buffer not included).
    flushed: u64,
    pub rows: u64,
}

impl DumpWriter {
    pub fn new(
        dir: &Path,
        db: &str,
        table: &str,
        columns: &[&str],
        format: Format,
        file_bytes: u64,
    ) -> Self {
        let prefix = match format {
            Format::Sql => {
                let cols: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
                format!("INSERT INTO `{table}` ({}) VALUES\n", cols.join(","))
            }
            // Dumpling quotes the header's names with the delimiter.
            Format::Csv => {
                let cols: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
                cols.join(",") + "\n"
            }
        };
        Self {
            dir: dir.to_path_buf(),
            db: db.into(),
            table: table.into(),
            prefix: prefix.into_bytes(),
            format,
            file_bytes: file_bytes.max(1),
            file_no: 0,
            out: None,
            path: PathBuf::new(),
            buf: Vec::with_capacity(CHUNK + (64 << 10)),
            written_in_file: 0,
            rows_in_statement: 0,
            first_field: true,
            flushed: 0,
            rows: 0,
        }
    }

    /// Writes the `CREATE TABLE` schema file.
    pub fn write_schema(dir: &Path, db: &str, table: &str, ddl: &str) -> std::io::Result<()> {
        std::fs::write(dir.join(format!("{db}.{table}-schema.sql")), ddl)
    }

    /// Writes the `CREATE DATABASE` schema file.
    pub fn write_db(dir: &Path, db: &str) -> std::io::Result<()> {
        std::fs::write(
            dir.join(format!("{db}-schema-create.sql")),
            format!("CREATE DATABASE `{db}`;\n"),
        )
    }

    /// Starts a row (in a new file when the current one is full); fields
    /// follow with the typed methods, then [`Self::end_row`].
    pub fn begin_row(&mut self) -> std::io::Result<()> {
        if self.out.is_none() || self.written_in_file + self.buf.len() as u64 >= self.file_bytes {
            self.next_file()?;
        }
        if self.format == Format::Sql {
            if self.rows_in_statement == 0 {
                self.buf.extend_from_slice(&self.prefix);
                self.buf.push(b'(');
            } else {
                self.buf.extend_from_slice(b",\n(");
            }
        }
        self.first_field = true;
        Ok(())
    }

    pub fn end_row(&mut self) -> std::io::Result<()> {
        match self.format {
            Format::Sql => {
                self.buf.push(b')');
                self.rows_in_statement += 1;
                if self.rows_in_statement == STATEMENT_ROWS {
                    self.buf.extend_from_slice(b";\n");
                    self.rows_in_statement = 0;
                }
            }
            Format::Csv => self.buf.push(b'\n'),
        }
        self.rows += 1;
        if self.buf.len() >= CHUNK {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn sep(&mut self) {
        if !self.first_field {
            self.buf.push(b',');
        }
        self.first_field = false;
    }

    pub fn null(&mut self) {
        self.sep();
        match self.format {
            Format::Sql => self.buf.extend_from_slice(b"NULL"),
            Format::Csv => self.buf.extend_from_slice(b"\\N"),
        }
    }

    pub fn int(&mut self, v: i64) {
        self.sep();
        if v < 0 {
            self.buf.push(b'-');
        }
        push_u64(&mut self.buf, v.unsigned_abs());
    }

    pub fn uint(&mut self, v: u64) {
        self.sep();
        push_u64(&mut self.buf, v);
    }

    /// A fixed-point number `units / 10^scale` written as a bare literal
    /// (DECIMAL, and FLOAT/DOUBLE values with few digits).
    pub fn fixed(&mut self, units: i64, scale: u32) {
        self.sep();
        push_fixed(&mut self.buf, units, scale);
    }

    /// A string value, quoted and escaped for the format.
    pub fn str(&mut self, s: &[u8]) {
        self.sep();
        self.quoted(|buf| buf.extend_from_slice(s));
    }

    /// A string value built in place by `fill` (dates, digit groups...),
    /// which must write only bytes that need no escaping.
    pub fn str_with(&mut self, fill: impl FnOnce(&mut Vec<u8>)) {
        self.sep();
        self.quoted(fill);
    }

    /// A binary value (BIT): a hex literal in SQL (`0x…`, the bytes are the
    /// value), the raw bytes escaped in CSV, as Dumpling writes them.
    pub fn binary(&mut self, bytes: &[u8]) {
        self.sep();
        match self.format {
            Format::Sql => {
                self.buf.extend_from_slice(b"0x");
                for b in bytes {
                    self.buf.push(HEX[usize::from(b >> 4)]);
                    self.buf.push(HEX[usize::from(b & 15)]);
                }
            }
            Format::Csv => self.quoted(|buf| buf.extend_from_slice(bytes)),
        }
    }

    /// Writes `fill`'s bytes between quotes, escaping what needs it. The
    /// common case (nothing to escape) is one scan of the new bytes.
    fn quoted(&mut self, fill: impl FnOnce(&mut Vec<u8>)) {
        let quote = match self.format {
            Format::Sql => b'\'',
            Format::Csv => b'"',
        };
        self.buf.push(quote);
        let start = self.buf.len();
        fill(&mut self.buf);
        if let Some(first) = self.buf[start..]
            .iter()
            .position(|&b| needs_escape(b, quote))
        {
            let raw = self.buf.split_off(start + first);
            for &b in &raw {
                push_escaped(&mut self.buf, b, quote);
            }
        }
        self.buf.push(quote);
    }

    /// Appends one row of SQL literals (`NULL`, `12`, `'text'` with `\'`
    /// for a quote); CSV turns them into fields. The `shop` dataset's form.
    pub fn row(&mut self, values: &[String]) -> std::io::Result<()> {
        self.begin_row()?;
        for v in values {
            self.sep();
            match self.format {
                Format::Sql => self.buf.extend_from_slice(v.as_bytes()),
                Format::Csv => csv_field(&mut self.buf, v),
            }
        }
        self.end_row()
    }

    pub fn finish(mut self) -> std::io::Result<(u64, u64)> {
        self.close_file()?;
        Ok((self.rows, self.flushed))
    }

    /// Closes the last file and describes the table written.
    pub fn finish_table(
        self,
        duplicate_rows: Option<u64>,
        conflicting_rows: Option<u64>,
    ) -> std::io::Result<TableSummary> {
        let (table, format, files) = (
            format!("{}.{}", self.db, self.table),
            self.format,
            self.file_no,
        );
        let (rows, bytes) = self.finish()?;
        Ok(TableSummary {
            table,
            format,
            files,
            rows,
            bytes,
            duplicate_rows,
            conflicting_rows,
        })
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        if let Some(out) = self.out.as_mut() {
            out.write_all(&self.buf).map_err(|e| {
                std::io::Error::new(e.kind(), format!("writing {}: {e}", self.path.display()))
            })?;
        }
        self.written_in_file += self.buf.len() as u64;
        self.flushed += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn next_file(&mut self) -> std::io::Result<()> {
        self.close_file()?;
        self.file_no += 1;
        self.path = self.dir.join(format!(
            "{}.{}.{:09}.{}",
            self.db,
            self.table,
            self.file_no,
            self.format.ext()
        ));
        self.out = Some(File::create(&self.path).map_err(|e| {
            std::io::Error::new(e.kind(), format!("creating {}: {e}", self.path.display()))
        })?);
        self.written_in_file = 0;
        self.rows_in_statement = 0;
        if self.format == Format::Csv {
            self.buf.extend_from_slice(&self.prefix);
        }
        Ok(())
    }

    fn close_file(&mut self) -> std::io::Result<()> {
        if self.format == Format::Sql && self.rows_in_statement > 0 {
            self.buf.extend_from_slice(b";\n");
            self.rows_in_statement = 0;
        }
        self.flush_buf()?;
        self.out = None;
        Ok(())
    }

    /// Bytes written so far, the buffered ones included (the size budget).
    pub fn bytes(&self) -> u64 {
        self.flushed + self.buf.len() as u64
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn needs_escape(b: u8, quote: u8) -> bool {
    matches!(b, 0 | b'\n' | b'\r' | b'\\' | 0x1a) || b == quote || (quote == b'\'' && b == b'"')
}

/// Dumpling's escapes: SQL escapes `\0 \n \r \\ \' \" \Z`; CSV (with
/// `escape-backslash`) escapes `\0 \n \r \\` and the delimiter as `\"`.
fn push_escaped(buf: &mut Vec<u8>, b: u8, quote: u8) {
    let esc = match b {
        0 => b'0',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\\' => b'\\',
        0x1a if quote == b'\'' => b'Z',
        b'\'' | b'"' if quote == b'\'' || b == quote => b,
        _ => {
            buf.push(b);
            return;
        }
    };
    buf.push(b'\\');
    buf.push(esc);
}

/// Decimal digits of `v`, without allocating.
pub fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// `v` zero-padded to `width` digits (dates and times).
pub fn push_padded(buf: &mut Vec<u8>, v: u32, width: usize) {
    let mut tmp = [b'0'; 10];
    let mut v = v;
    for i in (0..width.min(10)).rev() {
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    buf.extend_from_slice(&tmp[..width.min(10)]);
}

/// `units / 10^scale` as a decimal literal (`-12.05` for -1205, 2).
pub fn push_fixed(buf: &mut Vec<u8>, units: i64, scale: u32) {
    if units < 0 {
        buf.push(b'-');
    }
    let abs = units.unsigned_abs();
    let div = 10u64.pow(scale);
    push_u64(buf, abs / div);
    if scale > 0 {
        buf.push(b'.');
        push_padded(buf, (abs % div) as u32, scale as usize);
    }
}

/// Turns a SQL literal into a CSV field: `NULL` → `\N`, `'x'` → `"x"`.
fn csv_field(buf: &mut Vec<u8>, v: &str) {
    if v == "NULL" {
        buf.extend_from_slice(b"\\N");
    } else if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        buf.push(b'"');
        buf.extend_from_slice(inner.replace("\\'", "'").replace('"', "\"\"").as_bytes());
        buf.push(b'"');
    } else {
        buf.extend_from_slice(v.as_bytes());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn one_row(format: Format, fill: impl FnOnce(&mut DumpWriter)) -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut w = DumpWriter::new(dir.path(), "d", "t", &["a", "b"], format, 1 << 20);
        w.begin_row().unwrap();
        fill(&mut w);
        w.end_row().unwrap();
        w.finish().unwrap();
        let ext = format.ext();
        std::fs::read_to_string(dir.path().join(format!("d.t.000000001.{ext}"))).unwrap()
    }

    #[test]
    fn csv_quotes_and_escapes_like_dumpling() {
        let text = one_row(Format::Csv, |w| {
            w.str(b"a,\"b\"\\c\nd'e\r\0");
            w.null();
            w.int(-12);
            w.fixed(-105, 2);
            w.binary(&[0x41, b'"']);
        });
        assert_eq!(
            text,
            "\"a\",\"b\"\n\"a,\\\"b\\\"\\\\c\\nd'e\\r\\0\",\\N,-12,-1.05,\"A\\\"\"\n"
        );
    }

    #[test]
    fn sql_escapes_and_groups_rows_into_statements() {
        let text = one_row(Format::Sql, |w| {
            w.str(b"it's \"x\"\\\n\x1a");
            w.null();
            w.uint(u64::MAX);
            w.binary(&[0x0a, 0xff]);
        });
        assert_eq!(
            text,
            "INSERT INTO `t` (`a`,`b`) VALUES\n('it\\'s \\\"x\\\"\\\\\\n\\Z',NULL,18446744073709551615,0x0aff);\n"
        );
    }

    #[test]
    fn files_are_capped_and_numbered() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = DumpWriter::new(dir.path(), "d", "t", &["a"], Format::Csv, 100);
        for i in 0..100 {
            w.begin_row().unwrap();
            w.int(i);
            w.end_row().unwrap();
        }
        let t = w.finish_table(None, None).unwrap();
        let (files, rows, bytes) = (t.files, t.rows, t.bytes);
        assert!(files >= 3, "~100 bytes per file, 290+ bytes: {files} files");
        assert_eq!(rows, 100);
        let mut on_disk = 0;
        for n in 1..=files {
            let f = std::fs::read_to_string(dir.path().join(format!("d.t.{n:09}.csv"))).unwrap();
            assert!(f.starts_with("\"a\"\n"), "every file has the header");
            assert!(f.len() < 110, "file {n} is capped: {} bytes", f.len());
            on_disk += f.len() as u64;
        }
        assert_eq!(on_disk, bytes);
    }

    #[test]
    fn numbers_are_formatted_without_allocating() {
        let mut b = Vec::new();
        push_u64(&mut b, 0);
        b.push(b' ');
        push_fixed(&mut b, 5, 3);
        b.push(b' ');
        push_padded(&mut b, 7, 2);
        b.push(b' ');
        push_fixed(&mut b, i64::MIN, 0);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            "0 0.005 07 -9223372036854775808"
        );
    }
}
