//! Run files for engine ranges (`squall.engine-ranges`): a finished engine
//! is cut at the planned range bounds, each piece written as an SST in the
//! engine's own key format (`EncodeBytes(key) ++ row_tag`, so every copy of a
//! key survives), and an ingest task loads the runs of one range into a
//! fresh engine by plain SST ingestion (RocksDB merges them by key; copies
//! stay apart by their row tags). Reads then classify copies as usual.

use std::path::{Path, PathBuf};

use rocksdb::SstFileWriter;
use squall_common::checksum::KvChecksum;

use super::error::EngineError;
use super::key_adapter::{decode_user_key_into, split_stored, user_key_bound};
use super::local::LocalEngine;
use super::meta::RunRecord;
use super::options::scan_options;

/// What [`LocalEngine::export_run`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportedRun {
    /// Smallest and largest raw user key.
    pub min_key: Vec<u8>,
    pub max_key: Vec<u8>,
    /// Stored KVs (every copy) and their user key + value bytes.
    pub kvs: u64,
    pub bytes: u64,
    /// Of the raw (user key, value) pairs, every copy counted.
    pub checksum: KvChecksum,
}

impl LocalEngine {
    /// Writes every stored KV whose user key is in `start..end` (raw keys;
    /// empty `end`: to the end) to a new SST at `path`, unchanged. `None`
    /// (and no file) when the range holds nothing.
    pub fn export_run(
        &self,
        start: &[u8],
        end: &[u8],
        path: &Path,
    ) -> Result<Option<ExportedRun>, EngineError> {
        let inner = &*self.inner;
        let engine = inner.id.as_str();
        let rocks = |op| move |e| EngineError::rocks(engine, op, e);
        let upper = (!end.is_empty()).then(|| user_key_bound(end));
        let opts = scan_options(user_key_bound(start), upper, self.scan_readahead());
        let mut it = inner.db.raw_iterator_cf_opt(inner.data_cf(), opts);
        it.seek_to_first();
        let mut sst: Option<SstFileWriter> = None;
        let mut run = ExportedRun::default();
        let mut user = Vec::new();
        while let Some((stored, value)) = it.item() {
            let (enc, _) =
                split_stored(stored).map_err(|r| EngineError::corrupt_key(engine, stored, r))?;
            user.clear();
            decode_user_key_into(enc, &mut user)
                .map_err(|r| EngineError::corrupt_key(engine, stored, r))?;
            let writer = match &mut sst {
                Some(w) => w,
                None => {
                    let w = SstFileWriter::create(&inner.sst_options);
                    w.open(path).map_err(rocks("open run file"))?;
                    run.min_key = user.clone();
                    sst.insert(w)
                }
            };
            writer.put(stored, value).map_err(rocks("write run file"))?;
            run.kvs += 1;
            run.bytes += (user.len() + value.len()) as u64;
            run.checksum.update(&user, value);
            it.next();
        }
        it.status().map_err(rocks("scan for run file"))?;
        let Some(mut writer) = sst else {
            return Ok(None);
        };
        writer.finish().map_err(rocks("finish run file"))?;
        run.max_key = user;
        Ok(Some(run))
    }

    /// Where to put a run file fetched for this engine: inside the engine
    /// directory, so adding it moves it instead of copying it (a crash
    /// leaves nothing behind: `open` sweeps that directory).
    pub fn run_file_slot(&self) -> (u64, PathBuf) {
        self.inner.new_run_path()
    }

    /// Adds the run file at `path` (written by [`export_run`](Self::export_run),
    /// possibly by another engine on another node; best placed at a
    /// [`run_file_slot`](Self::run_file_slot)) to this engine; the file is
    /// moved in (gone afterwards). `kvs`/`bytes` are its recorded sizes.
    pub fn add_run_file(
        &self,
        id: u64,
        path: &Path,
        kvs: u64,
        bytes: u64,
    ) -> Result<(), EngineError> {
        self.inner.ingest_run(id, path, RunRecord { kvs, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineKv;
    use squall_common::config::ImporterConfig;

    #[test]
    fn runs_cut_at_bounds_merge_back_with_every_copy() {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = ImporterConfig::default();
        let a = LocalEngine::open(dir.path(), "a", &cfg).expect("open a");
        let b = LocalEngine::open(dir.path(), "b", &cfg).expect("open b");
        let mut w = a.writer().expect("writer");
        w.append(b"k1", b"v1", 1).expect("put");
        w.append(b"k5", b"v5", 2).expect("put");
        w.close().expect("close");
        a.finish_writes().expect("finish");
        let mut w = b.writer().expect("writer");
        w.append(b"k5", b"v5b", 9).expect("put");
        w.append(b"k7", b"v7", 10).expect("put");
        w.close().expect("close");
        b.finish_writes().expect("finish");
        // Range [k3, k9) of both engines; a's [k0, k3) separately.
        let lo = a
            .export_run(b"k0", b"k3", &dir.path().join("lo.sst"))
            .expect("export")
            .expect("non-empty");
        assert_eq!((lo.kvs, lo.min_key.as_slice()), (1, &b"k1"[..]));
        assert!(a
            .export_run(b"x", b"", &dir.path().join("none.sst"))
            .expect("export")
            .is_none());
        let ra = a
            .export_run(b"k3", b"k9", &dir.path().join("ra.sst"))
            .expect("export")
            .expect("non-empty");
        let rb = b
            .export_run(b"k3", b"k9", &dir.path().join("rb.sst"))
            .expect("export")
            .expect("non-empty");
        assert_eq!((rb.kvs, rb.bytes), (2, 2 + 3 + 2 + 2));
        assert_eq!(rb.max_key, b"k7");
        let m = LocalEngine::open(dir.path(), "m", &cfg).expect("open m");
        for (name, run) in [("rb.sst", &rb), ("ra.sst", &ra)] {
            let (id, slot) = m.run_file_slot();
            std::fs::rename(dir.path().join(name), &slot).expect("move");
            m.add_run_file(id, &slot, run.kvs, run.bytes).expect("add");
        }
        let got: Vec<(Vec<u8>, bool)> = m
            .iter_range(b"", b"")
            .map(|kv| kv.expect("kv"))
            .map(|kv: EngineKv| (kv.key().to_vec(), kv.is_duplicate()))
            .collect();
        assert_eq!(
            got,
            vec![
                (b"k5".to_vec(), false),
                (b"k5".to_vec(), true),
                (b"k7".to_vec(), false)
            ]
        );
        assert_eq!(m.stats().expect("stats").kvs, 3);
    }
}
