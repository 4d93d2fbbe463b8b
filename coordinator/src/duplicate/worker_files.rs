//! Local duplicates as the worker records them today: one JSONL file per
//! engine, `<output>/duplicates/t<table>-e<engine>.jsonl`, one line per
//! copy that was *not* ingested (`key`, `value`, and the source positions of
//! the `kept` and the `duplicate` row). Row tags are rebuilt from those
//! positions with the worker's own packing (chunk ordinal, offset in chunk).
//!
//! The kept (ingested) copy's value is not in the line unless the worker
//! adds `kept_value`; without it resolution treats the kept copy as the
//! engine's row known only from TiKV, which it handles (see `resolve::rows`).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Deserialize;
use squall_common::schema::TableInfo;
use squall_worker::task::row_tag;

use super::context::EngineSource;
use super::error::DuplicateError;
use super::local::{LocalDuplicate, LocalDuplicateSource, SourcePos};

/// Reads the worker's duplicate files of every engine of every table.
pub struct WorkerDuplicateFiles {
    pub output_dir: PathBuf,
    /// Each table's engines (commit ts and chunks).
    pub engines: HashMap<i64, Vec<EngineSource>>,
}

#[derive(Deserialize)]
struct Line {
    key: String,
    value: String,
    kept: Pos,
    duplicate: Pos,
    #[serde(default)]
    kept_value: Option<String>,
}

#[derive(Deserialize)]
struct Pos {
    file: String,
    offset: u64,
}

/// The worker's file for one engine (`WorkerContext::duplicates_path`).
pub fn duplicates_path(output_dir: &Path, table_id: i64, engine_id: u32) -> PathBuf {
    output_dir
        .join("duplicates")
        .join(format!("t{table_id}-e{engine_id}.jsonl"))
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
    let mut kept_seen = HashSet::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let at = || format!("{} line {}", path.display(), n + 1);
        let line = line.map_err(|e| format!("{}: {e}", at()))?;
        if line.trim().is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(&line).map_err(|e| format!("{}: {e}", at()))?;
        let key = hex::decode(&l.key).map_err(|e| format!("{}: key: {e}", at()))?;
        let value = hex::decode(&l.value).map_err(|e| format!("{}: value: {e}", at()))?;
        if let Some(kept_value) = &l.kept_value {
            if kept_seen.insert(key.clone()) {
                let value =
                    hex::decode(kept_value).map_err(|e| format!("{}: kept_value: {e}", at()))?;
                out.push(
                    copy(engine, key.clone(), value, &l.kept, true)
                        .map_err(|e| format!("{}: {e}", at()))?,
                );
            }
        }
        out.push(
            copy(engine, key, value, &l.duplicate, false).map_err(|e| format!("{}: {e}", at()))?,
        );
    }
    Ok(out)
}

fn copy(
    engine: &EngineSource,
    key: Vec<u8>,
    value: Vec<u8>,
    pos: &Pos,
    ingested: bool,
) -> Result<LocalDuplicate, String> {
    Ok(LocalDuplicate {
        engine_id: engine.engine_id,
        commit_ts: engine.commit_ts,
        key,
        value,
        row_tag: tag_of(engine, pos)?,
        ingested,
        source: Some(SourcePos {
            file: pos.file.clone(),
            offset: pos.offset,
        }),
    })
}

/// The row tag of the row at `pos`: its chunk's ordinal and its offset from
/// the chunk start.
fn tag_of(engine: &EngineSource, pos: &Pos) -> Result<u64, String> {
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
        let lines = [
            r#"{"table":"t","kind":"record","key":"7480","value":"01","kept":{"file":"db.t.002.csv","offset":10},"duplicate":{"file":"db.t.002.csv","offset":40}}"#,
            r#"{"table":"t","kind":"record","key":"7480","value":"02","kept":{"file":"db.t.002.csv","offset":10},"duplicate":{"file":"db.t.002.csv","offset":55},"kept_value":"00"}"#,
        ];
        std::fs::write(&path, lines.join("\n")).expect("write");
        let source = WorkerDuplicateFiles {
            output_dir: dir.path().to_path_buf(),
            engines: HashMap::from([(table.id, vec![engine])]),
        };
        let got = source.load(&table).await.expect("loads");
        let summary: Vec<_> = got
            .iter()
            .map(|d| (d.value.clone(), d.row_tag, d.ingested))
            .collect();
        assert_eq!(
            summary,
            vec![
                (vec![1], row_tag::pack(2, 40), false),
                (vec![0], row_tag::pack(2, 10), true),
                (vec![2], row_tag::pack(2, 55), false)
            ]
        );
        assert!(got.iter().all(|d| d.commit_ts == 77 && d.engine_id == 3));
        let mut other = table.clone();
        other.id = 5;
        assert!(source
            .load(&other)
            .await
            .expect("no engines, no copies")
            .is_empty());
        std::fs::write(&path, r#"{"key":"zz"}"#).expect("write");
        let err = source.load(&table).await.expect_err("bad line");
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
