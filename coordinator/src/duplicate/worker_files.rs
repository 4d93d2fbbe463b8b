//! Local duplicates as the worker records them: one file per engine in the
//! format of [`squall_common::duplicates_file`], one line per copy that was
//! *not* ingested, each naming the ingested (`kept`) copy too, with its
//! value and position. Every copy of a duplicated key, the ingested one
//! included, thus comes back with its source position. Row tags are rebuilt
//! from the positions with the worker's packing (chunk ordinal, offset in
//! chunk).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use squall_common::artefacts::{keys, SharedArtefactStore};
use squall_common::duplicates_file::{DuplicateRecord, RowPosition};
use squall_common::schema::TableInfo;
use squall_worker::task::row_tag;

use super::context::EngineSource;
use super::error::DuplicateError;
use super::local::{CopySink, LocalDuplicate, LocalDuplicateSource};

/// Reads the workers' duplicate files of every engine of every table from
/// the job's artefact store (the output directory in embedded mode, the
/// cluster's NATS object store otherwise), and with engine ranges those of
/// every range.
pub struct WorkerDuplicateFiles {
    /// The job's artefacts, by job-relative key ([`keys::local_duplicates`]).
    pub artefacts: SharedArtefactStore,
    /// Each table's engines (commit ts and chunks).
    pub engines: HashMap<i64, Vec<EngineSource>>,
    /// The local duplicates each `Done` engine recorded, by (table, engine).
    /// An engine listed with n > 0 must have an artefact of n lines; one
    /// listed with 0 is not read; one not listed may have none.
    pub recorded: HashMap<(i64, u32), u64>,
    /// With engine ranges: each table's ranges and what they recorded.
    pub ranges: HashMap<i64, RangeDuplicates>,
    /// Where [`LocalDuplicateSource::for_each`] downloads an engine's file
    /// from a remote store to read it line by line (removed once read);
    /// `None` reads it whole.
    pub download_dir: Option<PathBuf>,
}

/// The engine id of a table's ranges seen as one engine
/// ([`RangeDuplicates::engine`]); no planned engine has it.
pub const RANGES_ENGINE_ID: u32 = u32::MAX;

/// With engine ranges (`squall.engine-ranges`) every copy of a key meets in
/// one range's ingest task, which lists the copies it did not ingest in
/// `duplicates/t<table>-r<range>.jsonl` (the engine files' format, positions
/// resolved against every chunk of the table). A row's KVs fall in ranges
/// with different commit ts, but resolution ties a row's record and index
/// copies together by (handle, commit ts, row tag): so every range copy is
/// read as one of a single engine over all the table's chunks, at one commit
/// ts (the newest range's). Row tags are the table's chunk ordinal and the
/// offset in the chunk, so they are unique across engines and sort in
/// source order, as `replace` needs. With ranges each key has one version
/// from this job, so DuplicateDetect only finds keys the table held before
/// the import; the versions it reports at a range's own commit ts are read
/// at the ranges' one ts too (`TableJob::ts_alias`), so they are the same
/// rows as the ranges' ingested copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeDuplicates {
    /// [`RANGES_ENGINE_ID`], the newest range commit ts, every chunk.
    pub engine: EngineSource,
    /// (range id, local duplicates its `Done` result recorded).
    pub recorded: Vec<(u32, u64)>,
    /// Every range's own commit ts (the versions DuplicateDetect reports
    /// carry them; resolution reads them at `engine.commit_ts`, see
    /// `TableJob::ts_alias`).
    pub range_ts: Vec<u64>,
}

/// The worker's file for one engine under an output directory (where the
/// embedded run's artefact store keeps it).
pub fn duplicates_path(output_dir: &Path, table_id: i64, engine_id: u32) -> PathBuf {
    squall_common::duplicates_file::duplicates_path(output_dir, table_id, engine_id)
}

impl WorkerDuplicateFiles {
    /// Without recorded counts: a missing artefact means no duplicates.
    pub fn new(artefacts: SharedArtefactStore, engines: HashMap<i64, Vec<EngineSource>>) -> Self {
        Self {
            artefacts,
            engines,
            recorded: HashMap::new(),
            ranges: HashMap::new(),
            download_dir: None,
        }
    }

    /// Every duplicates file of the table: its engines', then its ranges'.
    fn files<'a>(&'a self, table: &TableInfo) -> Vec<DupFile<'a>> {
        let mut out: Vec<DupFile<'a>> = self
            .engines
            .get(&table.id)
            .into_iter()
            .flatten()
            .map(|engine| DupFile {
                key: keys::local_duplicates(table.id, engine.engine_id),
                engine,
                label: format!("engine {}", engine.engine_id),
                file_name: format!("e{}.jsonl", engine.engine_id),
                expected: self.recorded.get(&(table.id, engine.engine_id)).copied(),
            })
            .collect();
        if let Some(r) = self.ranges.get(&table.id) {
            out.extend(r.recorded.iter().map(|&(range, n)| DupFile {
                key: keys::range_duplicates(table.id, range),
                engine: &r.engine,
                label: format!("engine range {range}"),
                file_name: format!("r{range}.jsonl"),
                expected: Some(n),
            }));
        }
        out
    }
}

/// One engine's or range's duplicates file.
struct DupFile<'a> {
    key: String,
    /// Whose copies (engine id, commit ts) and chunks (row tags).
    engine: &'a EngineSource,
    /// "engine 3", "engine range 2": who recorded the count.
    label: String,
    /// The name of its download.
    file_name: String,
    expected: Option<u64>,
}

#[async_trait]
impl LocalDuplicateSource for WorkerDuplicateFiles {
    async fn load(&self, table: &TableInfo) -> Result<Vec<LocalDuplicate>, DuplicateError> {
        let mut out = Vec::new();
        for f in self.files(table) {
            let copies =
                self.load_file(&f)
                    .await
                    .map_err(|reason| DuplicateError::LocalDuplicates {
                        table: table.qualified_name(),
                        reason,
                    })?;
            out.extend(copies);
        }
        Ok(out)
    }

    async fn for_each(
        &self,
        table: &TableInfo,
        sink: &mut CopySink<'_>,
    ) -> Result<(), DuplicateError> {
        for f in self.files(table) {
            if f.expected == Some(0) {
                continue;
            }
            if let Some(path) = self.artefacts.local_path(&f.key) {
                stream_file(table, &f, &path, sink).await?;
                continue;
            }
            let Some(dir) = &self.download_dir else {
                // Read whole.
                for d in
                    self.load_file(&f)
                        .await
                        .map_err(|reason| DuplicateError::LocalDuplicates {
                            table: table.qualified_name(),
                            reason,
                        })?
                {
                    sink(d)?;
                }
                continue;
            };
            // A remote store: streamed into a file first, then read as one.
            // Each table downloads into its own folder: tables are resolved
            // concurrently, and one removing a shared folder once empty
            // raced another's download into it.
            let dir = &dir.join(format!("t{}", table.id));
            let path = dir.join(&f.file_name);
            let fail = |reason: String| DuplicateError::LocalDuplicates {
                table: table.qualified_name(),
                reason,
            };
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("creating {}: {e}", dir.display())))?;
            let found = self
                .artefacts
                .get_to_file(&f.key, &path)
                .await
                .map_err(|e| fail(e.to_string()))?;
            if !found {
                if let Some(n) = f.expected {
                    let name = format!("{} in {}", f.key, self.artefacts.location());
                    return Err(fail(missing(&name, &f.label, n)));
                }
                continue;
            }
            let read = stream_file(table, &f, &path, sink).await;
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_dir(dir);
            read?;
        }
        Ok(())
    }
}

/// Why a recorded duplicates file not being there is an error.
fn missing(name: &str, label: &str, n: u64) -> String {
    format!(
        "{name} is missing, but {label} recorded {n} local duplicates. Workers store it \
         before they record the engine (or range) done, so it was removed since, or the \
         workers use another artefact store than this coordinator (check --nats on every node)"
    )
}

/// Copies sent from the reading thread at a time.
const STREAM_BATCH: usize = 1024;

/// One file read line by line on the blocking pool, its copies handed to
/// `sink` a batch at a time (at most two batches in flight), so the file is
/// never held whole. The same checks as [`WorkerDuplicateFiles::load_file`].
async fn stream_file(
    table: &TableInfo,
    f: &DupFile<'_>,
    path: &Path,
    sink: &mut CopySink<'_>,
) -> Result<(), DuplicateError> {
    let fail = |reason: String| DuplicateError::LocalDuplicates {
        table: table.qualified_name(),
        reason,
    };
    let name = format!("{} at {}", f.key, path.display());
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return match f.expected {
                None => Ok(()),
                Some(n) => Err(fail(missing(&name, &f.label, n))),
            };
        }
        Err(e) => return Err(fail(format!("{name}: {e}"))),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<LocalDuplicate>>(2);
    let (owned, at) = (f.engine.clone(), name.clone());
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(STREAM_BATCH);
        let lines = parse_lines(std::io::BufReader::new(file), &at, &owned, |d| {
            batch.push(d);
            if batch.len() >= STREAM_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(STREAM_BATCH));
                tx.blocking_send(full)
                    .map_err(|_| "resolution stopped reading".to_string())?;
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            tx.blocking_send(batch)
                .map_err(|_| "resolution stopped reading".to_string())?;
        }
        Ok::<u64, String>(lines)
    });
    let mut sunk = Ok(());
    while let Some(batch) = rx.recv().await {
        for d in batch {
            sunk = sunk.and_then(|()| sink(d));
        }
        if sunk.is_err() {
            break;
        }
    }
    drop(rx);
    let lines = reader.await.map_err(|e| fail(format!("{name}: {e}")));
    sunk?;
    let lines = lines?.map_err(fail)?;
    match f.expected {
        Some(n) if n != lines => Err(fail(short(&name, lines, &f.label, n))),
        _ => Ok(()),
    }
}

/// Why a file whose line count is not the recorded count is an error.
fn short(name: &str, lines: u64, label: &str, n: u64) -> String {
    format!(
        "{name} holds {lines} duplicates, but {label} recorded {n}: the artefact is \
         incomplete or from another run"
    )
}

impl WorkerDuplicateFiles {
    /// One file's copies. The worker stores the artefact before it records
    /// the engine (or range) done, so a recorded count without an artefact
    /// means the artefact was lost since: an error naming the key, never
    /// "no duplicates".
    async fn load_file(&self, f: &DupFile<'_>) -> Result<Vec<LocalDuplicate>, String> {
        if f.expected == Some(0) {
            return Ok(Vec::new());
        }
        let name = format!("{} in {}", f.key, self.artefacts.location());
        let bytes = match (self.artefacts.get(&f.key).await, f.expected) {
            (Err(e), _) => return Err(e.to_string()),
            (Ok(Some(bytes)), _) => bytes,
            (Ok(None), None) => return Ok(Vec::new()),
            (Ok(None), Some(n)) => return Err(missing(&name, &f.label, n)),
        };
        let (owned, at) = (f.engine.clone(), name.clone());
        let copies = tokio::task::spawn_blocking(move || parse(&bytes, &at, &owned))
            .await
            .map_err(|e| format!("{name}: {e}"))??;
        let lines = copies.iter().filter(|c| !c.ingested).count() as u64;
        match f.expected {
            Some(n) if n != lines => Err(short(&name, lines, &f.label, n)),
            _ => Ok(copies),
        }
    }
}

/// Every copy in one engine's file. `name` says where it came from.
fn parse(bytes: &[u8], name: &str, engine: &EngineSource) -> Result<Vec<LocalDuplicate>, String> {
    let mut out = Vec::new();
    parse_lines(bytes, name, engine, |d| {
        out.push(d);
        Ok(())
    })?;
    Ok(out)
}

/// Passes every copy of one engine's file to `emit`, in file order; returns
/// the number of lines (copies that were not ingested).
fn parse_lines(
    reader: impl BufRead,
    name: &str,
    engine: &EngineSource,
    mut emit: impl FnMut(LocalDuplicate) -> Result<(), String>,
) -> Result<u64, String> {
    let mut lines = 0;
    // A key's lines are consecutive (the worker walks its engine in key
    // order): its ingested copy is emitted once, at its first line.
    let mut last_key: Option<Vec<u8>> = None;
    for (n, line) in reader.lines().enumerate() {
        let at = || format!("{name} line {}", n + 1);
        let line = line.map_err(|e| format!("{}: {e}", at()))?;
        if line.trim().is_empty() {
            continue;
        }
        let l = DuplicateRecord::parse_line(&line).map_err(|e| format!("{}: {e}", at()))?;
        if last_key.as_ref() != Some(&l.key) {
            last_key = Some(l.key.clone());
            emit(
                copy(engine, l.key.clone(), l.kept_value, &l.kept, true)
                    .map_err(|e| format!("{}: {e}", at()))?,
            )?;
        }
        emit(
            copy(engine, l.key, l.value, &l.duplicate, false)
                .map_err(|e| format!("{}: {e}", at()))?,
        )?;
        lines += 1;
    }
    Ok(lines)
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
    use std::sync::Arc;

    use squall_common::artefacts::{ArtefactError, LocalArtefactStore};

    use super::*;
    use crate::duplicate::test_util::TempDir;

    fn line(value: &str, kept: u64, dup: u64) -> DuplicateRecord {
        DuplicateRecord {
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
        }
    }

    fn two_lines() -> String {
        format!(
            "{}\n{}\n",
            line("01", 10, 40).to_line(),
            line("02", 10, 55).to_line()
        )
    }

    fn sample_table() -> TableInfo {
        crate::duplicate::target::tests::sample_table(squall_common::schema::HandleKind::IntPk)
    }

    fn source(dir: &TempDir, table: &TableInfo) -> WorkerDuplicateFiles {
        WorkerDuplicateFiles::new(
            Arc::new(LocalArtefactStore::new(dir.path())),
            HashMap::from([(table.id, vec![EngineSource::for_test(3, 77, 2)])]),
        )
    }

    #[tokio::test]
    async fn reads_the_workers_lines_and_rebuilds_row_tags() {
        let dir = TempDir::new("worker-dups");
        let table = sample_table();
        // Embedded mode: the worker's file at today's path is the artefact.
        let path = duplicates_path(dir.path(), table.id, 3);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, two_lines()).expect("write");
        let source = source(&dir, &table);
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

    #[tokio::test]
    async fn a_recorded_count_needs_its_artefact() {
        let dir = TempDir::new("worker-dups-missing");
        let table = sample_table();
        let mut source = source(&dir, &table);
        assert!(
            source.load(&table).await.expect("loads").is_empty(),
            "no record, no artefact: no duplicates"
        );
        source.recorded.insert((table.id, 3), 2);
        let err = source.load(&table).await.expect_err("lost artefact");
        let key = keys::local_duplicates(table.id, 3);
        assert!(
            err.to_string().contains(&key) && err.to_string().contains("recorded 2"),
            "{err}"
        );
        source
            .artefacts
            .put(&key, two_lines().into())
            .await
            .expect("put");
        assert_eq!(source.load(&table).await.expect("loads").len(), 3);
        source.recorded.insert((table.id, 3), 5);
        let err = source.load(&table).await.expect_err("short artefact");
        assert!(err.to_string().contains("holds 2 duplicates"), "{err}");
    }

    #[tokio::test]
    async fn an_engine_that_recorded_none_is_not_read() {
        let dir = TempDir::new("worker-dups-none");
        let table = sample_table();
        let mut source = source(&dir, &table);
        let key = keys::local_duplicates(table.id, 3);
        source
            .artefacts
            .put(&key, b"not json\n".to_vec())
            .await
            .expect("put");
        assert!(source.load(&table).await.is_err(), "unrecorded: read");
        source.recorded.insert((table.id, 3), 0);
        assert!(source.load(&table).await.expect("not read").is_empty());
    }

    /// With engine ranges: each range's file is read with the table-wide
    /// engine (its commit ts, tags from every chunk), after the engines';
    /// the range's recorded count is checked as an engine's.
    #[tokio::test]
    async fn range_files_are_read_as_one_engine() {
        let dir = TempDir::new("worker-dups-ranges");
        let table = sample_table();
        let mut source = source(&dir, &table);
        let mut engine = EngineSource::for_test(RANGES_ENGINE_ID, 900, 1);
        engine.chunks.push(crate::duplicate::context::test_chunk(2));
        source.ranges.insert(
            table.id,
            RangeDuplicates {
                engine,
                recorded: vec![(0, 0), (4, 2)],
                range_ts: vec![800, 900],
            },
        );
        let key = keys::range_duplicates(table.id, 4);
        let err = source.load(&table).await.expect_err("lost range artefact");
        assert!(
            err.to_string().contains(&key) && err.to_string().contains("engine range 4"),
            "{err}"
        );
        source
            .artefacts
            .put(&key, two_lines().into())
            .await
            .expect("put");
        let got = source.load(&table).await.expect("loads");
        let summary: Vec<_> = got
            .iter()
            .map(|d| (d.engine_id, d.commit_ts, d.row_tag, d.ingested))
            .collect();
        assert_eq!(
            summary,
            vec![
                (RANGES_ENGINE_ID, 900, row_tag::pack(2, 10), true),
                (RANGES_ENGINE_ID, 900, row_tag::pack(2, 40), false),
                (RANGES_ENGINE_ID, 900, row_tag::pack(2, 55), false),
            ]
        );
        assert_eq!(streamed(&source, &table).await.expect("streams"), got);
        source.ranges.get_mut(&table.id).expect("ranges").recorded[1].1 = 3;
        let err = source.load(&table).await.expect_err("short artefact");
        assert!(
            err.to_string()
                .contains("holds 2 duplicates, but engine range 4 recorded 3"),
            "{err}"
        );
    }

    /// A store that keeps its artefacts elsewhere (no local files), as the
    /// cluster's NATS bucket: reads go through `get` / `get_to_file`.
    struct Remote(LocalArtefactStore);

    #[async_trait]
    impl squall_common::artefacts::ArtefactStore for Remote {
        async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ArtefactError> {
            self.0.put(key, value).await
        }
        async fn put_file(&self, key: &str, path: &Path) -> Result<(), ArtefactError> {
            self.0.put_file(key, path).await
        }
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArtefactError> {
            self.0.get(key).await
        }
        async fn delete(&self, key: &str) -> Result<bool, ArtefactError> {
            self.0.delete(key).await
        }
        async fn list(&self, prefix: &str) -> Result<Vec<String>, ArtefactError> {
            self.0.list(prefix).await
        }
        fn location(&self) -> String {
            format!("remote {}", self.0.location())
        }
    }

    async fn streamed(
        source: &WorkerDuplicateFiles,
        table: &TableInfo,
    ) -> Result<Vec<LocalDuplicate>, DuplicateError> {
        let mut out = Vec::new();
        source
            .for_each(table, &mut |d| {
                out.push(d);
                Ok(())
            })
            .await?;
        Ok(out)
    }

    /// Line by line from a local store, or downloaded from a remote one
    /// first: the copies and the checks of a whole read.
    #[tokio::test]
    async fn streamed_reads_equal_whole_reads() {
        let dir = TempDir::new("worker-dups-stream");
        let table = sample_table();
        let key = keys::local_duplicates(table.id, 3);
        let local = source(&dir, &table);
        let mut remote = source(&dir, &table);
        remote.artefacts = Arc::new(Remote(LocalArtefactStore::new(dir.path())));
        let downloads = dir.path().join("dl");
        remote.download_dir = Some(downloads.clone());
        let whole_remote = WorkerDuplicateFiles {
            download_dir: None,
            artefacts: Arc::clone(&remote.artefacts),
            ..source(&dir, &table)
        };
        for s in [&local, &remote, &whole_remote] {
            assert!(streamed(s, &table).await.expect("none").is_empty());
        }
        local
            .artefacts
            .put(&key, two_lines().into())
            .await
            .expect("put");
        let want = local.load(&table).await.expect("whole");
        assert_eq!(want.len(), 3);
        for s in [&local, &remote, &whole_remote] {
            assert_eq!(streamed(s, &table).await.expect("streams"), want);
        }
        let table_dir = downloads.join(format!("t{}", table.id));
        assert!(!table_dir.exists(), "the download is removed once read");
        for mut s in [local, remote] {
            s.recorded.insert((table.id, 3), 5);
            let err = streamed(&s, &table).await.expect_err("short artefact");
            assert!(err.to_string().contains("holds 2 duplicates"), "{err}");
            s.artefacts.delete(&key).await.expect("delete");
            let err = streamed(&s, &table).await.expect_err("lost artefact");
            assert!(
                err.to_string().contains(&key) && err.to_string().contains("recorded 5"),
                "{err}"
            );
            s.artefacts
                .put(&key, two_lines().into())
                .await
                .expect("put");
        }
    }
}
