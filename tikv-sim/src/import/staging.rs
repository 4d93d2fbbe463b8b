//! SST files a store receives through Write, kept until ingested: one file
//! per column family, named like TiKV's import dir does
//! (`{uuid}_{region}_{conf_ver}_{version}_{cf}.sst`), so the SSTMeta a
//! client gets back names exactly one staged file per store.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rocksdb::{Options, SstFileWriter};
use squall_proto::import_sstpb::{pair, SstMeta, WriteBatch};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::keys;
use crate::mvcc::{WriteKind, WriteRecord};
use crate::storage::{Storage, CF_DEFAULT, CF_WRITE};

/// What a staged file holds, for the ingest accounting (`GET /ingests`):
/// known when the file is written, since the ingest only has the SSTMeta.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SstStats {
    /// First and last raw user key (inclusive).
    pub first: Vec<u8>,
    pub last: Vec<u8>,
    /// Key/value pairs in the file.
    pub kvs: u64,
    /// File size.
    pub bytes: u64,
}

/// A staged file's SSTMeta (with `cf_name`) and what it holds.
pub type Staged = (SstMeta, SstStats);

/// The staged file of `meta` for column family `cf` in `dir`.
pub fn staged_path(dir: &Path, meta: &SstMeta, cf: &str) -> Result<PathBuf, String> {
    let uuid = uuid::Uuid::from_slice(&meta.uuid).map_err(|_| {
        format!(
            "invalid SST uuid {}: need 16 bytes",
            hex::encode(&meta.uuid)
        )
    })?;
    let epoch = meta.region_epoch.unwrap_or_default();
    Ok(dir.join(format!(
        "{uuid}_{}_{}_{}_{cf}.sst",
        meta.region_id, epoch.conf_ver, epoch.version
    )))
}

fn tmp_path(path: &Path) -> PathBuf {
    path.with_extension("sst.tmp")
}

enum Chunk {
    Batch(WriteBatch),
    Finish,
}

/// A Write stream being staged by a blocking worker thread. Batches go
/// through a small bounded channel, so a fast client cannot make the store
/// buffer more than a few batches.
pub struct StagedWrite {
    tx: mpsc::Sender<Chunk>,
    worker: JoinHandle<Result<Vec<Staged>, String>>,
}

impl StagedWrite {
    pub fn start(dir: &Path, meta: SstMeta) -> Result<Self, String> {
        let paths = [
            staged_path(dir, &meta, CF_DEFAULT)?,
            staged_path(dir, &meta, CF_WRITE)?,
        ];
        if let Some(p) = paths.iter().find(|p| p.exists()) {
            return Err(format!(
                "FileExists({}, \"create SST upload cache\")",
                p.display()
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let (tx, rx) = mpsc::channel(4);
        let worker = tokio::task::spawn_blocking(move || run(rx, paths, meta));
        Ok(StagedWrite { tx, worker })
    }

    /// Hands a batch to the worker; on failure returns the worker's error.
    pub async fn send(&mut self, batch: WriteBatch) -> Result<(), String> {
        if self.tx.send(Chunk::Batch(batch)).await.is_ok() {
            return Ok(());
        }
        // The worker stopped early: it failed, and says why in its result.
        match (&mut self.worker).await {
            Ok(Err(e)) => Err(e),
            Ok(Ok(_)) => Err("SST writer stopped unexpectedly".into()),
            Err(e) => Err(format!("SST writer failed: {e}")),
        }
    }

    /// Finishes the files; returns their metas (default CF first) and
    /// contents.
    pub async fn finish(self) -> Result<Vec<Staged>, String> {
        let _ = self.tx.send(Chunk::Finish).await;
        self.worker
            .await
            .map_err(|e| format!("SST writer failed: {e}"))?
    }

    /// Drops everything written so far.
    pub async fn abort(self) {
        drop(self.tx);
        let _ = self.worker.await;
    }
}

fn run(
    mut rx: mpsc::Receiver<Chunk>,
    paths: [PathBuf; 2],
    meta: SstMeta,
) -> Result<Vec<Staged>, String> {
    let opts = Storage::sst_options();
    let mut writer = TxnWriter::new(&opts, &paths);
    let result = loop {
        match rx.blocking_recv() {
            Some(Chunk::Batch(batch)) => {
                if let Err(e) = writer.write(&batch) {
                    break Err(e);
                }
            }
            Some(Chunk::Finish) => break writer.finish(&meta),
            None => break Err("stream ended before the write finished".into()),
        }
    };
    drop(writer);
    if result.is_err() {
        for p in &paths {
            let _ = std::fs::remove_file(tmp_path(p));
        }
    }
    result
}

/// Writes one transactional import into a `default` and a `write` SST, as
/// TiKV's `TxnSstWriter` does; files are opened on their first entry.
struct TxnWriter<'a> {
    opts: &'a Options,
    paths: &'a [PathBuf; 2],
    files: [Option<SstFileWriter<'a>>; 2],
    /// What each file holds so far (`bytes` set when finished).
    stats: [Option<SstStats>; 2],
    last_key: Option<Vec<u8>>,
}

const DEFAULT: usize = 0;
const WRITE: usize = 1;

impl<'a> TxnWriter<'a> {
    fn new(opts: &'a Options, paths: &'a [PathBuf; 2]) -> Self {
        TxnWriter {
            opts,
            paths,
            files: [None, None],
            stats: [None, None],
            last_key: None,
        }
    }

    fn write(&mut self, batch: &WriteBatch) -> Result<(), String> {
        if batch.commit_ts == 0 {
            return Err("invalid commit-ts: 0".into());
        }
        for p in &batch.pairs {
            if p.key.is_empty() {
                return Err("empty key in write batch".into());
            }
            if let Some(last) = &self.last_key {
                if p.key <= *last {
                    return Err(format!(
                        "Keys must be added in strict ascending order: {} after {}",
                        hex::encode_upper(&p.key),
                        hex::encode_upper(last)
                    ));
                }
            }
            let kind = match pair::Op::try_from(p.op) {
                Ok(pair::Op::Put) => WriteKind::Put,
                Ok(pair::Op::Delete) => WriteKind::Delete,
                Err(_) => return Err(format!("unknown pair op {}", p.op)),
            };
            let key = keys::data_key(&keys::encode_bytes(&p.key), batch.commit_ts);
            let record = WriteRecord::for_import(kind, batch.commit_ts, &p.value);
            if kind == WriteKind::Put && record.short_value.is_none() {
                self.put(DEFAULT, &key, &p.value)?;
                self.note(DEFAULT, &p.key);
            }
            self.put(WRITE, &key, &record.to_bytes())?;
            self.note(WRITE, &p.key);
            self.last_key = Some(p.key.clone());
        }
        Ok(())
    }

    /// Counts raw key `raw` (keys come in ascending order) into file `cf`.
    fn note(&mut self, cf: usize, raw: &[u8]) {
        match &mut self.stats[cf] {
            Some(stats) => {
                stats.last.clear();
                stats.last.extend_from_slice(raw);
                stats.kvs += 1;
            }
            None => {
                self.stats[cf] = Some(SstStats {
                    first: raw.to_vec(),
                    last: raw.to_vec(),
                    kvs: 1,
                    bytes: 0,
                })
            }
        }
    }

    fn put(&mut self, cf: usize, key: &[u8], value: &[u8]) -> Result<(), String> {
        if self.files[cf].is_none() {
            let writer = SstFileWriter::create(self.opts);
            let tmp = tmp_path(&self.paths[cf]);
            writer
                .open(&tmp)
                .map_err(|e| format!("opening {}: {e}", tmp.display()))?;
            self.files[cf] = Some(writer);
        }
        let writer = self.files[cf].as_mut().expect("opened above");
        writer
            .put(key, value)
            .map_err(|e| format!("writing SST: {e}"))
    }

    fn finish(&mut self, meta: &SstMeta) -> Result<Vec<Staged>, String> {
        let mut metas = Vec::with_capacity(2);
        for (cf, name) in [(DEFAULT, CF_DEFAULT), (WRITE, CF_WRITE)] {
            let Some(mut writer) = self.files[cf].take() else {
                continue;
            };
            writer.finish().map_err(|e| format!("finishing SST: {e}"))?;
            let path = &self.paths[cf];
            std::fs::rename(tmp_path(path), path)
                .map_err(|e| format!("saving {}: {e}", path.display()))?;
            let stats = SstStats {
                bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
                ..self.stats[cf].take().unwrap_or_default()
            };
            let meta = SstMeta {
                cf_name: name.to_owned(),
                ..meta.clone()
            };
            metas.push((meta, stats));
        }
        Ok(metas)
    }
}

/// Deletes staged files (and leftovers of broken writes) older than `ttl`,
/// as TiKV's importer cleans up files nobody ingested.
pub fn collect_garbage(dir: &Path, ttl: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() >= ttl);
        if old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}
