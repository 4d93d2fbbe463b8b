//! Building the index entries of one range (a piece of a physical table's
//! record range, cut at PD's region boundaries): its rows are scanned at the
//! snapshot ts with the region walk, which re-routes only the rest of the
//! range after a split or an EpochNotMatch, in pages of `batch_size` rows;
//! each row's entries are derived with the import's encoder and appended to
//! a local sorted engine of the range's own, as the import's encoders do.
//! The engine is then checked for unique-index conflicts (two rows, one
//! unique entry: a local duplicate in the engine) and ingested with the
//! import's Write + MultiIngest path at the range's commit ts.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use squall_client::{ImportClient, PdClient};
use squall_codec::datum_codec::{decode_key_datums, describe_datums};
use squall_codec::{decode_handle_from_index_value, Converter, KvChecksum};
use squall_common::TaskConfig;
use squall_worker::engine::{EngineKv, EngineWriter, LocalEngine};
use squall_worker::ingest::{ingest_engine, IngestConfig};
use squall_worker::task::engine_kvs::EngineKvs;

use super::conflict_rows::{self, FoundConflict};
use super::engine_dir;
use super::entries::RowEntries;
use super::progress::BackfillProgress;
use super::records::RangeDone;
use super::target::IndexTarget;
use crate::error::CoordinatorError;
use crate::scan::RangeScanner;

/// What a backfill did (the finished ranges' sums).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildStats {
    pub ranges: u64,
    pub rows: u64,
    /// Entries ingested.
    pub entries: u64,
    /// Of every entry derived (what a `with-data` import's local checksum
    /// counts for these indexes).
    pub checksum: KvChecksum,
    /// The same, per index ID.
    pub indexes: BTreeMap<i64, KvChecksum>,
}

impl BuildStats {
    pub fn add(&mut self, done: &RangeDone) {
        self.ranges += 1;
        self.rows += done.rows;
        self.entries += done.entries;
        for (id, c) in &done.indexes {
            self.indexes.entry(*id).or_default().merge(c);
            self.checksum.merge(c);
        }
    }
}

/// Two rows holding one entry of a unique index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueConflict {
    pub index: String,
    /// The indexed columns' values as the rows hold them (`s='Alpha'`, or
    /// `s='Alpha' / s='ALPHA'` when they differ: a collation equates
    /// them); when the rows could not be read, the index key's values,
    /// saying so.
    pub value: String,
    pub handles: [String; 2],
    /// Both rows' column values (`(id=1, s='Alpha')`), in handle order;
    /// empty when they could not be read.
    pub rows: Vec<String>,
}

impl std::fmt::Display for UniqueConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unique index {}: value ({}) is held by the rows with handles {} and {}",
            self.index, self.value, self.handles[0], self.handles[1]
        )?;
        if let [a, b] = self.rows.as_slice() {
            write!(f, ": {a} and {b}")?;
        }
        Ok(())
    }
}

/// Everything a build needs besides the table.
pub struct BuildContext<'a> {
    pub pd: &'a PdClient,
    pub client: &'a ImportClient,
    pub cfg: &'a TaskConfig,
    pub converter: &'a Converter,
    /// Where local engines live.
    pub engine_root: &'a Path,
    /// The snapshot the rows are read at.
    pub ts: u64,
    pub batch_size: u32,
    pub progress: &'a BackfillProgress,
}

/// One range of one physical table to build.
pub struct RangeTask {
    pub pid: i64,
    /// Its number in the plan (engine name, row tags).
    pub n: usize,
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    /// The ts its entries are written at (above the snapshot).
    pub commit_ts: u64,
}

/// Builds and ingests `target`'s entries for the rows of one range, through
/// a local engine of its own. On a unique conflict inside the range nothing
/// is ingested and the conflicts are returned (`Err` carries other
/// failures).
pub async fn build_range(
    cx: &BuildContext<'_>,
    target: &IndexTarget,
    task: &RangeTask,
) -> Result<Result<RangeDone, Vec<UniqueConflict>>, CoordinatorError> {
    // A directory of this build's own: another build of the range may run
    // on this node at once (see `engine_dir`).
    let engine_id = engine_dir::engine_id(task.pid, task.n, task.commit_ts);
    let legacy = engine_dir::legacy_id(task.pid, task.n, task.commit_ts);
    let (root, importer) = (cx.engine_root.to_path_buf(), cx.cfg.tikv_importer.clone());
    let engine = blocking(move || {
        // Leftovers of killed builds: their buffers are lost, never ingested.
        engine_dir::sweep(&root, &legacy)?;
        LocalEngine::open(&root, &engine_id, &importer)
    })
    .await?;
    let built = fill_and_ingest(cx, target, task, &engine).await;
    let destroyed = blocking(move || engine.destroy()).await;
    let built = built?;
    destroyed?;
    Ok(built)
}

async fn fill_and_ingest(
    cx: &BuildContext<'_>,
    target: &IndexTarget,
    task: &RangeTask,
    engine: &LocalEngine,
) -> Result<Result<RangeDone, Vec<UniqueConflict>>, CoordinatorError> {
    let scanned = scan_range(cx, target, engine, task).await?;
    let finishing = engine.clone();
    blocking(move || finishing.finish_writes()).await?;
    let scanning = engine.clone();
    let table = target.physical(task.pid);
    let found = blocking(move || local_conflicts(&scanning)).await?;
    if !found.is_empty() {
        tracing::error!(table = %table.qualified_name(), range = task.n, conflicts = found.len(),
            "unique index conflicts: nothing of this range ingested");
        return Ok(Err(conflict_rows::describe(cx, target, found).await));
    }
    let cfg = IngestConfig::from_task(cx.cfg);
    let kvs = Arc::new(EngineKvs(engine.clone()));
    let summary = ingest_engine(cx.client, kvs, task.commit_ts, &cfg, None)
        .await
        .map_err(|e| CoordinatorError::Invalid {
            what: "index backfill",
            reason: format!(
                "table {} (physical id {}), range {}: ingesting the index entries: {e}; run \
                 the backfill again (it resumes at this range)",
                table.qualified_name(),
                task.pid,
                task.n
            ),
        })?;
    Ok(Ok(RangeDone {
        rows: scanned.rows,
        entries: summary.kvs,
        indexes: scanned.indexes.into_iter().collect(),
    }))
}

/// What one range's scan appended.
struct Scanned {
    rows: u64,
    indexes: BTreeMap<i64, KvChecksum>,
}

/// Scans the range at the snapshot and appends its rows' entries to the
/// range's engine. Row tags count up in scan order, so the first copy of a
/// duplicated unique entry is the one of the row scanned first.
async fn scan_range(
    cx: &BuildContext<'_>,
    target: &IndexTarget,
    engine: &LocalEngine,
    task: &RangeTask,
) -> Result<Scanned, CoordinatorError> {
    let mut rows = RowEntries::new(target, task.pid, cx.converter)?;
    let mut out = Scanned {
        rows: 0,
        indexes: BTreeMap::new(),
    };
    let mut writer = Some(engine.writer().map_err(engine_error)?);
    let mut tag = 0u64;
    let mut scanner = RangeScanner::new(cx.client, task.start.clone(), task.end.clone(), cx.ts)
        .with_page(cx.batch_size);
    while let Some(page) = scanner.next_page().await? {
        let mut batch = Vec::new();
        for (key, value) in &page {
            out.rows += 1;
            let (_, kvs) = rows.entries(key, value)?;
            for kv in kvs {
                if let Some(id) = kv.index_id {
                    out.indexes
                        .entry(id)
                        .or_default()
                        .update(&kv.key, &kv.value);
                }
                batch.push((kv.key, kv.value));
            }
        }
        cx.progress.add_rows(page.len() as u64);
        let mut w = writer.take().ok_or_else(gone)?;
        let first = tag;
        tag += batch.len() as u64;
        writer = Some(blocking(move || append(&mut w, batch, first).map(|()| w)).await?);
    }
    let w = writer.take().ok_or_else(gone)?;
    blocking(move || w.close()).await?;
    Ok(out)
}

fn gone() -> CoordinatorError {
    CoordinatorError::Blocking("the engine writer was lost by a failed append".into())
}

fn append(
    w: &mut EngineWriter,
    batch: Vec<(Vec<u8>, Vec<u8>)>,
    first_tag: u64,
) -> Result<(), squall_worker::engine::EngineError> {
    for (i, (k, v)) in batch.iter().enumerate() {
        w.append(k, v, first_tag + i as u64)?;
    }
    Ok(())
}

/// Unique entries two rows wrote: a `Put` and the `Duplicate`s after it.
/// Only unique indexes can have them (a non-unique entry has the handle in
/// its key); the handles come from the values.
fn local_conflicts(
    engine: &LocalEngine,
) -> Result<Vec<FoundConflict>, squall_worker::engine::EngineError> {
    let mut out = Vec::new();
    let mut first: Option<(Vec<u8>, Vec<u8>)> = None;
    for kv in engine.iter_range(b"", b"") {
        match kv? {
            EngineKv::Put { key, value, .. } | EngineKv::Ingested { key, value, .. } => {
                first = Some((key, value));
            }
            EngineKv::Duplicate { key, value, .. } => {
                let kept = first.as_ref().filter(|(k, _)| *k == key);
                let handle =
                    |v: &[u8]| decode_handle_from_index_value(v).map_err(|e| e.to_string());
                out.push(FoundConflict {
                    handles: [
                        kept.map_or_else(|| Err("not found".into()), |(_, v)| handle(v)),
                        handle(&value),
                    ],
                    key,
                });
            }
        }
    }
    Ok(out)
}

/// The index name and the values of an index key.
pub(crate) fn describe_index_key(key: &[u8], indexes: &[(i64, String, bool)]) -> (String, String) {
    match squall_codec::key::decode_index_key(key) {
        Ok(ix) => {
            let name = indexes
                .iter()
                .find(|(id, _, _)| *id == ix.index_id)
                .map_or_else(|| format!("#{}", ix.index_id), |(_, n, _)| n.clone());
            let values = key
                .get(19..)
                .and_then(|rest| decode_key_datums(rest).ok())
                .map_or_else(|| hex::encode(key), |ds| describe_datums(&ds));
            (name, values)
        }
        Err(_) => ("?".into(), hex::encode(key)),
    }
}

async fn blocking<T, E, F>(f: F) -> Result<T, CoordinatorError>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
    F: FnOnce() -> Result<T, E> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoordinatorError::Blocking(e.to_string()))?
        .map_err(engine_error)
}

fn engine_error(e: impl std::fmt::Display) -> CoordinatorError {
    CoordinatorError::Invalid {
        what: "index backfill",
        reason: format!(
            "local engine: {e}; check tikv-importer.sorted-kv-dir (space, permissions) and run \
             the backfill again"
        ),
    }
}
