//! Writes a table's rows as size-capped Dumpling data files
//! (`db.table.000000001.sql` / `.csv`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `INSERT INTO ... VALUES (...),(...);` statements of ~`STATEMENT_ROWS` rows.
    Sql,
    /// CSV with a header line, `"` quoting and `\N` for NULL.
    Csv,
}

const STATEMENT_ROWS: usize = 500;

pub struct DumpWriter {
    dir: PathBuf,
    db: String,
    table: String,
    columns: Vec<String>,
    format: Format,
    file_bytes: u64,
    file_no: u32,
    out: Option<BufWriter<File>>,
    written_in_file: u64,
    rows_in_statement: usize,
    pub total_bytes: u64,
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
        Self {
            dir: dir.to_path_buf(),
            db: db.into(),
            table: table.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            format,
            file_bytes,
            file_no: 0,
            out: None,
            written_in_file: 0,
            rows_in_statement: 0,
            total_bytes: 0,
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

    /// Appends one row; each value is already a SQL literal (`NULL`, `12`,
    /// `'text'`) for SQL output, and is re-quoted for CSV.
    pub fn row(&mut self, values: &[String]) -> std::io::Result<()> {
        if self.out.is_none() || self.written_in_file >= self.file_bytes {
            self.next_file()?;
        }
        let line = match self.format {
            Format::Sql => self.sql_row(values),
            Format::Csv => csv_row(values),
        };
        self.emit(line.as_bytes())?;
        self.rows += 1;
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<(u64, u64)> {
        self.close_file()?;
        Ok((self.rows, self.total_bytes))
    }

    fn sql_row(&mut self, values: &[String]) -> String {
        let tuple = format!("({})", values.join(","));
        let line = if self.rows_in_statement == 0 {
            let cols: Vec<String> = self.columns.iter().map(|c| format!("`{c}`")).collect();
            format!(
                "INSERT INTO `{}` ({}) VALUES\n{tuple}",
                self.table,
                cols.join(",")
            )
        } else {
            format!(",\n{tuple}")
        };
        self.rows_in_statement += 1;
        if self.rows_in_statement == STATEMENT_ROWS {
            self.rows_in_statement = 0;
            return line + ";\n";
        }
        line
    }

    fn emit(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(out) = self.out.as_mut() {
            out.write_all(bytes)?;
        }
        self.written_in_file += bytes.len() as u64;
        self.total_bytes += bytes.len() as u64;
        Ok(())
    }

    fn next_file(&mut self) -> std::io::Result<()> {
        self.close_file()?;
        self.file_no += 1;
        let ext = match self.format {
            Format::Sql => "sql",
            Format::Csv => "csv",
        };
        let path = self.dir.join(format!(
            "{}.{}.{:09}.{ext}",
            self.db, self.table, self.file_no
        ));
        self.out = Some(BufWriter::with_capacity(1 << 20, File::create(path)?));
        self.written_in_file = 0;
        self.rows_in_statement = 0;
        if self.format == Format::Csv {
            let header = self.columns.join(",") + "\n";
            self.emit(header.as_bytes())?;
        }
        Ok(())
    }

    fn close_file(&mut self) -> std::io::Result<()> {
        if self.format == Format::Sql && self.rows_in_statement > 0 {
            self.emit(b";\n")?;
            self.rows_in_statement = 0;
        }
        if let Some(mut out) = self.out.take() {
            out.flush()?;
        }
        Ok(())
    }
}

/// Turns SQL literals into CSV fields: `NULL` → `\N`, `'x'` → `"x"`.
fn csv_row(values: &[String]) -> String {
    let fields: Vec<String> = values
        .iter()
        .map(|v| {
            if v == "NULL" {
                "\\N".to_string()
            } else if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                format!("\"{}\"", inner.replace("\\'", "'").replace('"', "\"\""))
            } else {
                v.clone()
            }
        })
        .collect();
    fields.join(",") + "\n"
}
