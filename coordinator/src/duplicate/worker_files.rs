//! Local duplicates as the worker records them: one file per engine in the
//! format of [`squall_common::duplicates_file`], one line per copy that was
//! *not* ingested, each naming the ingested (`kept`) copy too, with its
//! value and position. Every copy of a duplicated key, the ingested one
//! included, thus comes back with its source position. Row tags are rebuilt
//! from the positions with the worker's packing (chunk ordinal, offset in
//! chunk).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use squall_common::duplicates_file::{DuplicateRecord, RowPosition};
use squall_common::schema::TableInfo;
use squall_worker::task::row_tag;

use super::context::EngineSource;
use super::error::DuplicateError;
use super::local::{LocalDuplicate, LocalDuplicateSource};

/// Reads the worker's duplicate files of every engine of every table.
pub struct WorkerDuplicateFiles {
    pub output_dir: PathBuf,
    /// Each table's engines (commit ts and chunks).
    pub engines: HashMap<i64, Vec<EngineSource>>,
}

/// The worker's file for one engine.
pub fn duplicates_path(output_dir: &Path, table_id: i64, engine_id: u32) -> PathBuf {
    squall_common::duplicates_file::duplicates_path(output_dir, table_id, engine_id)
}

#[async_trait]
impl LocalDuplicateSource for WorkerDuplicateFiles {
    async fn load(&self, table: &TableInfo) -> Result<Vec<LocalDuplicate>, DuplicateError> {
        let mut out = Vec::new();
        for engine in self.engines.get(&table.id).into_iter().flatten() {
            let path = duplicates_path(&self.output_dir, table.id, engine.engine_id);
            let engine = engine.clone();
            let name = table.qualified_name();
            let copies = tokio::task::spawn_blocking(move || read_file(&path, &engine))
                .await
                .map_err(|e| DuplicateError::LocalDuplicates {
                    table: name.clone(),
                    reason: e.to_string(),
                })?
                .map_err(|reason| DuplicateError::LocalDuplicates {
                    table: name,
                    reason,
                })?;
            out.extend(copies);
        }
        Ok(out)
    }
}

/// Every copy in one engine's file (none when the file does not exist: the
/// worker creates it only when it found a duplicate).
fn read_file(path: &Path, engine: &EngineSource) -> Result<Vec<LocalDuplicate>, String> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut out = Vec::new();
    // A key's lines are consecutive (the worker walks its engine in key
    // order): its ingested copy is emitted once, at its first line.
    let mut last_key: Option<Vec<u8>> = None;
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let at = || format!("{} line {}", path.display(), n + 1);
        let line = line.map_err(|e| format!("{}: {e}", at()))?;
        if line.trim().is_empty() {
            continue;
        }
        let l = DuplicateRecord::parse_line(&line).map_err(|e| format!("{}: {e}", at()))?;
        if last_key.as_ref() != Some(&l.key) {
            last_key = Some(l.key.clone());
            out.push(
                copy(engine, l.key.clone(), l.kept_value, &l.kept, true)
                    .map_err(|e| format!("{}: {e}", at()))?,
            );
        }
        out.push(
            copy(engine, l.key, l.value, &l.duplicate, false)
                .map_err(|e| format!("{}: {e}", at()))?,
        );
    }
    Ok(out)
}

fn copy(
    engine: &EngineSource,
    key: Vec<u8>,
    value: Vec<u8>,
    pos: &RowPosition,
    ingested: bool,
) -> Result<LocalDuplicate, String> {
    Ok(LocalDuplicate {
        engine_id: engine.engine_id,
        commit_ts: engine.commit_ts,
        key,
        value,
        row_tag: tag_of(engine, pos)?,
        ingested,
        source: Some(pos.clone()),
    })
}

/// The row tag of the row at `pos`: its chunk's ordinal and its offset from
/// the chunk start.
fn tag_of(engine: &EngineSource, pos: &RowPosition) -> Result<u64, String> {
    engine
        .chunks
        .iter()
        .find(|c| {
            c.file.path == pos.file && c.start <= pos.offset && pos.offset < c.end.max(c.start + 1)
        })
        .map(|c| row_tag::pack(c.ordinal, pos.offset - c.start))
        .ok_or_else(|| {
            format!(
                "no chunk of engine {} holds {} at offset {}",
                engine.engine_id, pos.file, pos.offset
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duplicate::test_util::TempDir;

    #[tokio::test]
    async fn reads_the_workers_lines_and_rebuilds_row_tags() {
        let dir = TempDir::new("worker-dups");
        let engine = EngineSource::for_test(3, 77, 2);
        let table =
            crate::duplicate::target::tests::sample_table(squall_common::schema::HandleKind::IntPk);
        let path = duplicates_path(dir.path(), table.id, 3);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let line = |value: &str, kept: u64, dup: u64| DuplicateRecord {
            table: "db.t".into(),
            kind: DuplicateRecord::kind_of(None),
            key: vec![0x74, 0x80],
            value: hex::decode(value).expect("hex"),
            kept: RowPosition {
                file: "db.t.002.csv".into(),
                offset: kept,
            },
            kept_value: vec![0],
            duplicate: RowPosition {
                file: "db.t.002.csv".into(),
                offset: dup,
            },
        };
        let text = format!(
            "{}\n{}\n",
            line("01", 10, 40).to_line(),
            line("02", 10, 55).to_line()
        );
        std::fs::write(&path, text).expect("write");
        let source = WorkerDuplicateFiles {
            output_dir: dir.path().to_path_buf(),
            engines: HashMap::from([(table.id, vec![engine])]),
        };
        let got = source.load(&table).await.expect("loads");
        let summary: Vec<_> = got
            .iter()
            .map(|d| (d.value.clone(), d.row_tag, d.ingested, d.source.clone()))
            .collect();
        let at = |offset| {
            Some(RowPosition {
                file: "db.t.002.csv".into(),
                offset,
            })
        };
        assert_eq!(
            summary,
            vec![
                (vec![0], row_tag::pack(2, 10), true, at(10)),
                (vec![1], row_tag::pack(2, 40), false, at(40)),
                (vec![2], row_tag::pack(2, 55), false, at(55))
            ],
            "the ingested copy once, with its value and position"
        );
        assert!(got.iter().all(|d| d.commit_ts == 77 && d.engine_id == 3));
        let mut other = table.clone();
        other.id = 5;
        assert!(source
            .load(&other)
            .await
            .expect("no engines, no copies")
            .is_empty());
        std::fs::write(
            &path,
            line("01", 10, 40)
                .to_line()
                .replace("\"kept_value\":\"00\",", ""),
        )
        .expect("write");
        let err = source.load(&table).await.expect_err("bad line");
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
