//! `EngineWriter`: accepts unsorted KVs, buffers them within its share of the
//! engine's memory budget, and turns each full buffer into a sorted run (an SST
//! built with `SstFileWriter`, then ingested into the engine's DB).

use std::path::Path;

use rocksdb::SstFileWriter;

use super::error::EngineError;
use super::key_adapter::{adapted_len, decode_key, decoded_len, split_stored};
use super::local::{lock, EngineInner, LocalEngine};
use super::meta::RunRecord;
use super::sort_buffer::SortBuffer;

/// What one writer put into the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// KVs written to runs (exact repeats of a (key, row tag, value) count once).
    pub kvs: u64,
    /// Sum of user key + value lengths of those KVs.
    pub bytes: u64,
    /// Sorted runs this writer ingested.
    pub runs: u64,
}

/// One writer of a [`LocalEngine`]; open one per chunk being encoded.
///
/// `append` blocks while a full buffer is sorted, written and ingested. Call
/// [`close`](Self::close) to flush the rest: dropping a writer discards its
/// buffer (as a crash would). After any error the engine is partially written
/// and must be reset before it is encoded again.
pub struct EngineWriter {
    engine: LocalEngine,
    buf: SortBuffer,
    reported_alloc: usize,
    stats: WriterStats,
}

impl EngineWriter {
    pub(crate) fn new(engine: LocalEngine) -> Self {
        // A closed writer's buffer, already counted in the budget.
        let buf = lock(&engine.inner.spare).take().unwrap_or_default();
        Self {
            reported_alloc: buf.allocated(),
            engine,
            buf,
            stats: WriterStats::default(),
        }
    }

    fn inner(&self) -> &EngineInner {
        &self.engine.inner
    }

    /// Adds one KV. `row_tag` identifies the source row (the caller packs chunk
    /// index and row offset into it); among copies of one key, the smallest tag
    /// is the one the engine yields for ingestion.
    pub fn append(&mut self, key: &[u8], value: &[u8], row_tag: u64) -> Result<(), EngineError> {
        self.check_len(row_tag, "key", adapted_len(key.len()))?;
        self.check_len(row_tag, "value", value.len())?;
        let share = self.inner().budget.share();
        let cost = SortBuffer::cost(key.len(), value.len());
        if !self.buf.is_empty() && self.buf.used() + cost > share {
            self.flush()?;
        }
        self.buf.push(key, value, row_tag, share);
        self.report_alloc();
        Ok(())
    }

    /// Adds a batch of `(key, value, row_tag)` in any order.
    pub fn append_batch<'a, I>(&mut self, batch: I) -> Result<(), EngineError>
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8], u64)>,
    {
        batch
            .into_iter()
            .try_for_each(|(key, value, tag)| self.append(key, value, tag))
    }

    /// Bytes currently buffered (not yet in a run).
    pub fn buffered_bytes(&self) -> usize {
        self.buf.used()
    }

    /// Writes the buffer as a sorted run now (no-op when empty).
    pub fn flush(&mut self) -> Result<(), EngineError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.sort();
        let (id, path) = self.inner().new_run_path();
        let written = write_run(self.inner(), &path, &self.buf);
        let share = self.inner().budget.share();
        self.buf.clear(share);
        self.report_alloc();
        let rec = match written {
            Ok(rec) => rec,
            Err(e) => {
                // Best effort: the file never reached the DB; open() also sweeps it.
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        self.inner().ingest_run(id, &path, rec)?;
        tracing::debug!(engine = %self.inner().id, run = id, kvs = rec.kvs, bytes = rec.bytes,
            "ingested sorted run");
        self.stats.kvs += rec.kvs;
        self.stats.bytes += rec.bytes;
        self.stats.runs += 1;
        squall_common::failpoint::point_blocking("sort.run-written");
        Ok(())
    }

    /// Flushes the rest and closes the writer.
    pub fn close(mut self) -> Result<WriterStats, EngineError> {
        self.flush()?;
        Ok(self.stats)
    }

    fn check_len(&self, row_tag: u64, what: &'static str, len: usize) -> Result<(), EngineError> {
        if u32::try_from(len).is_ok() {
            return Ok(());
        }
        Err(EngineError::TooLarge {
            engine: self.inner().id.clone(),
            row_tag,
            what,
            len,
        })
    }

    fn report_alloc(&mut self) {
        let now = self.buf.allocated();
        if now != self.reported_alloc {
            self.inner()
                .budget
                .update_allocated(self.reported_alloc, now);
            self.reported_alloc = now;
        }
    }
}

impl Drop for EngineWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            tracing::warn!(engine = %self.inner().id, bytes = self.buf.used(),
                "engine writer dropped without close; its buffer is discarded");
        }
        let mut kept = false;
        if self.buf.is_empty() {
            // Leave the (empty) buffer for the next writer; its allocation
            // stays counted in the budget.
            let engine = self.engine.clone();
            let mut spare = lock(&engine.inner.spare);
            if spare.is_none() {
                *spare = Some(std::mem::take(&mut self.buf));
                kept = true;
            }
        }
        if !kept {
            self.inner().budget.update_allocated(self.reported_alloc, 0);
        }
        self.inner().writer_closed();
    }
}

/// Writes the sorted buffer to a new SST at `path`. Exact repeats of a stored
/// key with the same value are written once; the same stored key with two values
/// means the caller reused a row tag, which is an error.
fn write_run(inner: &EngineInner, path: &Path, buf: &SortBuffer) -> Result<RunRecord, EngineError> {
    let engine = inner.id.as_str();
    let rocks = |op| move |e| EngineError::rocks(engine, op, e);
    let mut sst = SstFileWriter::create(&inner.sst_options);
    sst.open(path).map_err(rocks("open run file"))?;
    let mut rec = RunRecord::default();
    let mut prev: Option<(&[u8], &[u8])> = None;
    for (key, value) in buf.iter() {
        if let Some((pk, pv)) = prev {
            if pk == key {
                if pv == value {
                    continue;
                }
                return Err(conflicting_tag(engine, key));
            }
        }
        prev = Some((key, value));
        let (enc, _) = split_stored(key).map_err(|r| EngineError::corrupt_key(engine, key, r))?;
        let user_len = decoded_len(enc).map_err(|r| EngineError::corrupt_key(engine, key, r))?;
        sst.put(key, value).map_err(rocks("write run"))?;
        rec.kvs += 1;
        rec.bytes += (user_len + value.len()) as u64;
    }
    sst.finish().map_err(rocks("finish run file"))?;
    Ok(rec)
}

fn conflicting_tag(engine: &str, stored: &[u8]) -> EngineError {
    match decode_key(stored) {
        Ok((key, row_tag)) => EngineError::ConflictingRowTag {
            engine: engine.to_owned(),
            row_tag,
            key_hex: hex::encode(key),
        },
        Err(reason) => EngineError::corrupt_key(engine, stored, reason),
    }
}
