//! The report files: `<output>/conflicts/<db>.<table>.jsonl` and `.csv`.
//!
//! Each file is written to a temporary name, page by page as resolution
//! produces the lines ([`ReportWriter`]), and renamed into place when
//! complete, so a coordinator that restarts (and rebuilds the report from
//! the checkpointed detection results) replaces it instead of appending: no
//! line is ever written twice, and a reader never sees half a file.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use squall_common::schema::TableInfo;

use super::lines::ReportLine;
use crate::duplicate::error::DuplicateError;

/// Fixed CSV columns; the table's columns follow.
const CSV_HEADER: [&str; 16] = [
    "table",
    "table_id",
    "index",
    "key_hex",
    "key",
    "handle",
    "commit_ts",
    "origin",
    "local_duplicate",
    "engine_id",
    "row_tag",
    "source_file",
    "source_offset",
    "source_row_in_chunk",
    "source_chunk_offset",
    "action",
];

/// Writes both files for one table at once; returns their paths.
pub fn write_table_report(
    output_dir: &Path,
    table: &TableInfo,
    lines: &[ReportLine],
) -> Result<(PathBuf, PathBuf), DuplicateError> {
    let mut w = ReportWriter::create(output_dir, table)?;
    w.append(lines)?;
    w.finish()
}

/// One table's report files being written: lines are appended page by page
/// to the temporary files, which [`Self::finish`] renames into place (the
/// JSONL first, as a whole-file write did).
pub struct ReportWriter {
    jsonl: Part,
    csv: Part,
}

/// A report file and its temporary twin.
struct Part {
    path: PathBuf,
    tmp: PathBuf,
    w: BufWriter<File>,
}

impl Part {
    fn create(path: PathBuf) -> Result<Self, DuplicateError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let file = File::create(&tmp).map_err(|source| io_err(&path, source))?;
        Ok(Self {
            path,
            tmp,
            w: BufWriter::new(file),
        })
    }

    fn write(
        &mut self,
        fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), DuplicateError> {
        fill(&mut self.w).map_err(|source| self.fail(source))
    }

    /// Syncs the temporary file and renames it into place.
    fn finish(self) -> Result<PathBuf, DuplicateError> {
        let Part { path, tmp, w } = self;
        let done = (|| {
            let file = w.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        match done {
            Ok(()) => Ok(path),
            Err(source) => {
                let _ = fs::remove_file(&tmp);
                Err(io_err(&path, source))
            }
        }
    }

    fn fail(&self, source: std::io::Error) -> DuplicateError {
        let _ = fs::remove_file(&self.tmp);
        io_err(&self.path, source)
    }
}

impl ReportWriter {
    /// Starts both files (the CSV with its header).
    pub fn create(output_dir: &Path, table: &TableInfo) -> Result<Self, DuplicateError> {
        let dir = output_dir.join("conflicts");
        fs::create_dir_all(&dir).map_err(|source| io_err(&dir, source))?;
        let stem = format!("{}.{}", file_safe(&table.db), file_safe(&table.name));
        let jsonl = Part::create(dir.join(format!("{stem}.jsonl")))?;
        let mut csv = Part::create(dir.join(format!("{stem}.csv")))?;
        let mut header: Vec<String> = CSV_HEADER.iter().map(|s| s.to_string()).collect();
        header.extend(table.columns.iter().map(|c| c.name.clone()));
        csv.write(|w| write_record(w, header.iter().map(|s| Some(s.as_str()))))?;
        Ok(Self { jsonl, csv })
    }

    /// Appends `lines` to both files.
    pub fn append(&mut self, lines: &[ReportLine]) -> Result<(), DuplicateError> {
        self.jsonl.write(|w| write_jsonl(w, lines))?;
        self.csv.write(|w| write_csv(w, lines))
    }

    /// Appends lines already encoded with [`encode`] (resolution's spill
    /// encodes each shard's groups, then writes them in key order).
    pub fn append_encoded(&mut self, jsonl: &[u8], csv: &[u8]) -> Result<(), DuplicateError> {
        self.jsonl.write(|w| w.write_all(jsonl))?;
        self.csv.write(|w| w.write_all(csv))
    }

    /// Puts both files in place; returns their paths (JSONL, CSV).
    pub fn finish(self) -> Result<(PathBuf, PathBuf), DuplicateError> {
        let Self { jsonl, csv } = self;
        let jsonl = match jsonl.finish() {
            Ok(path) => path,
            Err(e) => {
                let _ = fs::remove_file(&csv.tmp);
                return Err(e);
            }
        };
        squall_common::failpoint::point_blocking("report.jsonl-written");
        Ok((jsonl, csv.finish()?))
    }
}

/// The bytes [`ReportWriter::append`] writes for `lines`: (JSONL, CSV).
pub fn encode(lines: &[ReportLine]) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let (mut jsonl, mut csv) = (Vec::new(), Vec::new());
    write_jsonl(&mut jsonl, lines)?;
    write_csv(&mut csv, lines)?;
    Ok((jsonl, csv))
}

fn write_jsonl(w: &mut dyn Write, lines: &[ReportLine]) -> std::io::Result<()> {
    for line in lines {
        serde_json::to_writer(&mut *w, line)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

fn write_csv(w: &mut dyn Write, lines: &[ReportLine]) -> std::io::Result<()> {
    for l in lines {
        let fixed = [
            Some(l.table.clone()),
            Some(l.table_id.to_string()),
            Some(l.index.clone()),
            Some(l.key_hex.clone()),
            Some(l.key.clone()),
            Some(l.handle.clone()),
            Some(l.commit_ts.to_string()),
            Some(l.origin.to_string()),
            Some(l.local_duplicate.to_string()),
            l.engine_id.map(|v| v.to_string()),
            l.row_tag.map(|v| v.to_string()),
            l.source_file.clone(),
            l.source_offset.map(|v| v.to_string()),
            l.source_row_in_chunk.map(|v| v.to_string()),
            l.source_chunk_offset.map(|v| v.to_string()),
            Some(l.action.to_string()),
        ];
        let columns = l.row.iter().map(|(_, v)| v.clone());
        let record: Vec<Option<String>> = fixed.into_iter().chain(columns).collect();
        write_record(w, record.iter().map(|v| v.as_deref()))?;
    }
    Ok(())
}

/// One RFC 4180 record. `None` (SQL NULL, unknown) is written as `\N`, the
/// way MySQL's `SELECT ... INTO OUTFILE` and Lightning's CSV reader spell it.
fn write_record<'a>(
    w: &mut dyn Write,
    fields: impl Iterator<Item = Option<&'a str>>,
) -> std::io::Result<()> {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        match field {
            None => w.write_all(b"\\N")?,
            Some(f) if f.contains([',', '"', '\n', '\r']) || f == "\\N" => {
                w.write_all(b"\"")?;
                w.write_all(f.replace('"', "\"\"").as_bytes())?;
                w.write_all(b"\"")?;
            }
            Some(f) => w.write_all(f.as_bytes())?,
        }
    }
    w.write_all(b"\r\n")
}

fn io_err(path: &Path, source: std::io::Error) -> DuplicateError {
    DuplicateError::Report {
        path: path.display().to_string(),
        source,
    }
}

/// Database and table names may hold characters a file name cannot.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '$') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use squall_common::schema::HandleKind;

    use super::*;
    use crate::duplicate::target::tests::sample_table;
    use crate::duplicate::test_util::TempDir;

    fn line(v: Option<&str>) -> ReportLine {
        ReportLine {
            table: "db.t".into(),
            table_id: 100,
            index: "uk_u".into(),
            key_hex: "7480".into(),
            key: "uk_u(10)".into(),
            handle: "1".into(),
            commit_ts: 5,
            origin: "imported",
            local_duplicate: false,
            engine_id: Some(0),
            row_tag: None,
            source_file: Some("a,b.csv".into()),
            source_offset: None,
            source_row_in_chunk: None,
            source_chunk_offset: None,
            action: "removed",
            row: vec![
                ("id".into(), Some("1".into())),
                ("u".into(), None),
                ("v".into(), v.map(str::to_string)),
            ],
        }
    }

    #[test]
    fn writes_jsonl_and_csv_and_replaces_on_rewrite() {
        let dir = TempDir::new("report");
        let table = sample_table(HandleKind::IntPk);
        let lines = vec![line(Some("say \"hi\"")), line(None)];
        let (jsonl, csv) = write_table_report(dir.path(), &table, &lines).expect("writes");
        let (jsonl2, _) = write_table_report(dir.path(), &table, &lines).expect("rewrites");
        assert_eq!(jsonl, jsonl2);
        let text = fs::read_to_string(&jsonl).expect("read");
        assert_eq!(text.lines().count(), 2, "rewritten, not appended");
        let first: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("line")).expect("json");
        assert_eq!(first["row"]["v"], "say \"hi\"");
        assert!(first["row"]["u"].is_null());
        assert_eq!(first["action"], "removed");
        let csv = fs::read_to_string(&csv).expect("read");
        let rows: Vec<&str> = csv.split("\r\n").collect();
        assert!(
            rows[0].starts_with("table,table_id,index,") && rows[0].ends_with(",action,id,u,v"),
            "{}",
            rows[0]
        );
        assert!(
            rows[1].contains(",\"a,b.csv\",")
                && rows[1].ends_with(",removed,1,\\N,\"say \"\"hi\"\"\""),
            "{}",
            rows[1]
        );
        assert!(rows[2].ends_with(",removed,1,\\N,\\N"), "{}", rows[2]);
        assert!(!dir.path().join("conflicts/db.t.jsonl.tmp").exists());
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_safe("my db/x"), "my_db_x");
        assert_eq!(file_safe("t_1$"), "t_1$");
    }
}
