//! Early import under `tikv-importer.disk-quota` (Lightning's name): when
//! the local engines of a job reach the quota, the worker ingests what one
//! engine has sorted so far (a *part*, at the engine's commit ts) and
//! [`LocalEngine::retire_part`] then drops it from disk, keeping only what
//! later reads need:
//!
//! * every ingested key, with the row tag of the copy that went to TiKV, in
//!   the `ingested` column family (about the size of the keys): a later copy
//!   of such a key is a local duplicate, never ingested again (TiKV would
//!   keep only one of two copies written at one commit ts, so it must be
//!   counted and reported like any local duplicate);
//! * every copy of a key that has duplicates (rare): the report needs the
//!   kept copy's value and the duplicates themselves.
//!
//! Reads then classify with the `ingested` family (`reader.rs`): the copy
//! that was ingested is [`EngineKv::Ingested`](super::EngineKv::Ingested),
//! the others of its key duplicates. A duplicate whose kept copy left the
//! disk ([`LocalEngine::keys_without_kept_copy`]) gets its kept value from
//! TiKV at the engine's commit ts (the worker does that).
//!
//! Data leaves the disk by whole files (`DeleteFilesInRange`), so a retire
//! costs one read of the part, not a rewrite. An engine that imported a part
//! is never reused after a restart (`is_finished` is false): the restart
//! re-encodes it and writes the same keys at the same commit ts again.

use rocksdb::{IngestExternalFileOptions, SstFileWriter, WriteBatch};

use super::error::EngineError;
use super::key_adapter::{encode_user_key_into, split_stored};
use super::local::{dir_size, lock, EngineInner, LocalEngine};
use super::meta::{self, RunRecord};
use super::reader::{DupTracker, EngineKv, IngestedKeys};
use super::split::KeyBounds;

/// An engine imports early only if its own sorted data is at least this
/// share of the quota (1/8): an engine with little data would otherwise
/// import a sliver at every check once others fill the quota.
const MIN_SHARE_OF_QUOTA: u64 = 8;

/// What a retire kept and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartRetired {
    /// Keys recorded as ingested (first copies that went to TiKV).
    pub ingested_keys: u64,
    /// Copies kept on disk (keys with duplicates).
    pub kept: u64,
    /// Engine directory bytes before and after.
    pub disk_before: u64,
    pub disk_after: u64,
}

impl LocalEngine {
    /// Parts imported early so far.
    pub fn parts(&self) -> u64 {
        lock(&self.inner.lifecycle).parts
    }

    /// The record of ingested keys, once the engine imported a part.
    pub(crate) fn ingested_keys(&self) -> Option<IngestedKeys<'_>> {
        (self.parts() > 0).then(|| IngestedKeys {
            db: &self.inner.db,
            cf: self.inner.ingested_cf(),
        })
    }

    /// Whether this engine should import early: `tikv-importer.disk-quota`
    /// is set, the job's engines on this machine (the directory holding
    /// this engine's) use at least that much, and this engine holds at
    /// least an eighth of it. Returns the bytes in use when it should.
    pub fn quota_reached(&self) -> Result<Option<u64>, EngineError> {
        let inner = &*self.inner;
        let quota = inner.cfg.disk_quota.as_u64();
        if quota == 0 {
            return Ok(None);
        }
        let own = lock(&inner.totals).rec.bytes;
        if own < quota / MIN_SHARE_OF_QUOTA {
            return Ok(None);
        }
        let used = dir_size(&inner.root)
            .map_err(|e| EngineError::io(&inner.id, "measure", &inner.root, e))?;
        Ok((used >= quota).then_some(used))
    }

    /// After every first copy of the engine was ingested: records them as
    /// ingested, drops the engine's sorted data from disk except the copies
    /// of keys with duplicates, and counts a part. No writer may be open.
    pub fn retire_part(&self) -> Result<PartRetired, EngineError> {
        let inner = &*self.inner;
        let id = inner.id.as_str();
        {
            let state = lock(&inner.lifecycle);
            if state.open_writers > 0 {
                return Err(EngineError::WritersOpen {
                    engine: id.to_owned(),
                    open: state.open_writers,
                });
            }
        }
        let disk_before = self.disk_bytes()?;
        let (run_id, path) = inner.new_run_path();
        let mut r = Retirer {
            inner,
            path: &path,
            kept_run: None,
            kept_rec: RunRecord::default(),
            batch: WriteBatch::default(),
            out: PartRetired {
                disk_before,
                ..PartRetired::default()
            },
        };
        let mut tracker = DupTracker::new(self.ingested_keys());
        let mut group: Vec<(Vec<u8>, Vec<u8>, EngineKv)> = Vec::new();
        let mut bounds: Option<(Vec<u8>, Vec<u8>)> = None;
        let mut it = inner.db.raw_iterator_cf(inner.data_cf());
        it.seek_to_first();
        while let Some((stored, value)) = it.item() {
            let kv = tracker.classify(id, stored, value)?;
            if group
                .first()
                .is_some_and(|(_, _, first)| first.key() != kv.key())
            {
                r.flush(&mut group)?;
            }
            match &mut bounds {
                None => bounds = Some((stored.to_vec(), stored.to_vec())),
                Some((_, last)) => {
                    last.clear();
                    last.extend_from_slice(stored);
                }
            }
            group.push((stored.to_vec(), value.to_vec(), kv));
            it.next();
        }
        it.status()
            .map_err(|e| EngineError::rocks(id, "scan for retire", e))?;
        r.flush(&mut group)?;
        drop(it);
        let Retirer {
            kept_run,
            kept_rec,
            batch,
            mut out,
            ..
        } = r;
        inner
            .db
            .write(batch)
            .map_err(|e| EngineError::rocks(id, "record ingested keys", e))?;
        if let Some((first, mut last)) = bounds {
            // Strictly past the last stored key, so it is inside the range.
            last.push(0);
            let cf = inner.data_cf();
            inner
                .db
                .delete_file_in_range_cf(cf, &first, &last)
                .map_err(|e| EngineError::rocks(id, "drop retired files", e))?;
            inner
                .db
                .delete_range_cf(cf, &first, &last)
                .map_err(|e| EngineError::rocks(id, "drop retired keys", e))?;
            inner.db.compact_range_cf(cf, Some(&first), Some(&last));
        }
        let retained = match kept_run {
            Some(mut sst) => {
                sst.finish()
                    .map_err(|e| EngineError::rocks(id, "finish kept-copies run", e))?;
                let mut opts = IngestExternalFileOptions::default();
                opts.set_move_files(true);
                let ingested =
                    inner
                        .db
                        .ingest_external_file_cf_opts(inner.data_cf(), &opts, vec![&path]);
                let _ = std::fs::remove_file(&path);
                ingested.map_err(|e| EngineError::rocks(id, "ingest kept-copies run", e))?;
                Some((run_id, kept_rec))
            }
            None => None,
        };
        let parts = self.parts() + 1;
        meta::record_part(&inner.db, id, parts, retained)?;
        lock(&inner.lifecycle).parts = parts;
        {
            let mut totals = lock(&inner.totals);
            totals.runs = u64::from(retained.is_some());
            totals.rec = kept_rec;
        }
        out.disk_after = self.disk_bytes()?;
        tracing::info!(
            engine = id,
            part = parts,
            ingested_keys = out.ingested_keys,
            kept_copies = out.kept,
            disk_before = out.disk_before,
            disk_after = out.disk_after,
            "early import done; the part left the local disk"
        );
        Ok(out)
    }

    fn disk_bytes(&self) -> Result<u64, EngineError> {
        let inner = &*self.inner;
        dir_size(self.dir()).map_err(|e| EngineError::io(&inner.id, "measure", self.dir(), e))
    }

    /// The row tag of the copy of raw `key` an early import put in TiKV.
    pub fn ingested_tag(&self, key: &[u8]) -> Result<Option<u64>, EngineError> {
        let Some(keys) = self.ingested_keys() else {
            return Ok(None);
        };
        let mut enc = Vec::new();
        encode_user_key_into(key, &mut enc);
        keys.tag_of(&self.inner.id, &enc)
    }

    /// Keys with local duplicates whose kept copy an early import put in
    /// TiKV and dropped from here: the duplicate report reads its value
    /// from TiKV. Empty unless the engine imported a part.
    pub fn keys_without_kept_copy(&self) -> Result<Vec<Vec<u8>>, EngineError> {
        if self.parts() == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut current: Option<(Vec<u8>, bool, bool)> = None; // key, has kept, has dup
        let mut close = |c: Option<(Vec<u8>, bool, bool)>| {
            if let Some((key, kept, dup)) = c {
                if dup && !kept {
                    out.push(key);
                }
            }
        };
        for kv in self.iter_range(&[], &[]) {
            let kv = kv?;
            if current
                .as_ref()
                .is_none_or(|(k, _, _)| k.as_slice() != kv.key())
            {
                close(current.take());
                current = Some((kv.key().to_vec(), false, false));
            }
            if let Some((_, kept, dup)) = current.as_mut() {
                match kv {
                    EngineKv::Put { .. } | EngineKv::Ingested { .. } => *kept = true,
                    EngineKv::Duplicate { .. } => *dup = true,
                }
            }
        }
        close(current.take());
        Ok(out)
    }

    /// The first and last key of `[start, end)` that will be ingested (a
    /// first copy not ingested before); the slow path of `key_bounds` for
    /// an engine that imported a part, whose other copies must not widen an
    /// SST's range or make a region job with nothing to send.
    pub(crate) fn put_bounds(
        &self,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<KeyBounds>, EngineError> {
        let mut first: Option<Vec<u8>> = None;
        let mut last: Option<Vec<u8>> = None;
        for kv in self.iter_range(start, end) {
            if let EngineKv::Put { key, .. } = kv? {
                if first.is_none() {
                    first = Some(key.clone());
                }
                last = Some(key);
            }
        }
        Ok(first.zip(last))
    }
}

/// The state of one retire walk.
struct Retirer<'a> {
    inner: &'a EngineInner,
    path: &'a std::path::Path,
    kept_run: Option<SstFileWriter<'a>>,
    kept_rec: RunRecord,
    batch: WriteBatch,
    out: PartRetired,
}

impl Retirer<'_> {
    /// Decides for the copies of one key: a first copy ingested now is
    /// recorded; a lone one leaves the disk, anything else is kept.
    fn flush(&mut self, group: &mut Vec<(Vec<u8>, Vec<u8>, EngineKv)>) -> Result<(), EngineError> {
        let inner = self.inner;
        let id = inner.id.as_str();
        let Some((stored, _, _)) = group.first() else {
            return Ok(());
        };
        let (enc, _) = split_stored(stored).map_err(|r| EngineError::corrupt_key(id, stored, r))?;
        let put = group.iter().find_map(|(_, _, kv)| match kv {
            EngineKv::Put { row_tag, .. } => Some(*row_tag),
            _ => None,
        });
        if let Some(tag) = put {
            self.batch
                .put_cf(inner.ingested_cf(), enc, tag.to_be_bytes());
            self.out.ingested_keys += 1;
        }
        if !(group.len() == 1 && put.is_some()) {
            if self.kept_run.is_none() {
                let sst = SstFileWriter::create(&inner.sst_options);
                sst.open(self.path)
                    .map_err(|e| EngineError::rocks(id, "open kept-copies run", e))?;
                self.kept_run = Some(sst);
            }
            if let Some(sst) = self.kept_run.as_mut() {
                for (stored, value, kv) in group.iter() {
                    sst.put(stored, value)
                        .map_err(|e| EngineError::rocks(id, "write kept-copies run", e))?;
                    self.kept_rec.kvs += 1;
                    self.kept_rec.bytes += (kv.key().len() + value.len()) as u64;
                    self.out.kept += 1;
                }
            }
        }
        group.clear();
        Ok(())
    }
}
