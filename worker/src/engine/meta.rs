//! Engine metadata kept in its own column family (never in the data keyspace):
//! one record per ingested run and a "finished" marker. Written with the WAL
//! and synced, so a record that exists describes a run that is in the DB.

use rocksdb::{IteratorMode, WriteOptions, DB};

use super::error::EngineError;
use super::options::META_CF;

const RUN_PREFIX: &[u8] = b"run/";
const FINISHED_KEY: &[u8] = b"finished";
/// How many parts were imported early (`tikv-importer.disk-quota`).
const PARTS_KEY: &[u8] = b"parts";

/// What one ingested sorted run holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunRecord {
    /// Stored KVs (every copy of a duplicated key counts).
    pub kvs: u64,
    /// Sum of user key + value lengths.
    pub bytes: u64,
}

/// Everything loaded from the meta column family at open.
#[derive(Debug, Default)]
pub struct LoadedMeta {
    pub runs: u64,
    pub totals: RunRecord,
    pub next_run_id: u64,
    pub finished: bool,
    /// Parts imported early; their KVs are in TiKV, not here.
    pub parts: u64,
}

fn run_key(id: u64) -> Vec<u8> {
    let mut key = RUN_PREFIX.to_vec();
    key.extend_from_slice(&id.to_be_bytes());
    key
}

fn encode_run(rec: RunRecord) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&rec.kvs.to_be_bytes());
    out[8..].copy_from_slice(&rec.bytes.to_be_bytes());
    out
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

fn decode_run(engine: &str, key: &[u8], value: &[u8]) -> Result<(u64, RunRecord), EngineError> {
    let corrupt = |reason| EngineError::CorruptMeta {
        engine: engine.to_owned(),
        key_hex: hex::encode(key),
        reason,
    };
    let id = be_u64(&key[RUN_PREFIX.len()..]).ok_or_else(|| corrupt("run id is not 8 bytes"))?;
    if value.len() != 16 {
        return Err(corrupt("run record is not 16 bytes"));
    }
    let kvs = be_u64(&value[..8]).ok_or_else(|| corrupt("bad kv count"))?;
    let bytes = be_u64(&value[8..]).ok_or_else(|| corrupt("bad byte count"))?;
    Ok((id, RunRecord { kvs, bytes }))
}

fn meta_cf(db: &DB) -> &rocksdb::ColumnFamily {
    db.cf_handle(META_CF)
        .expect("meta column family is created at open and checked there")
}

fn synced() -> WriteOptions {
    let mut wo = WriteOptions::default();
    wo.set_sync(true);
    wo
}

/// Reads every run record and the finished marker.
pub fn load(db: &DB, engine: &str) -> Result<LoadedMeta, EngineError> {
    let mut meta = LoadedMeta::default();
    for item in db.iterator_cf(meta_cf(db), IteratorMode::Start) {
        let (key, value) = item.map_err(|e| EngineError::rocks(engine, "read meta", e))?;
        if key.as_ref() == FINISHED_KEY {
            meta.finished = true;
        } else if key.as_ref() == PARTS_KEY {
            meta.parts = be_u64(&value).ok_or_else(|| EngineError::CorruptMeta {
                engine: engine.to_owned(),
                key_hex: hex::encode(&key),
                reason: "part count is not 8 bytes",
            })?;
        } else if key.starts_with(RUN_PREFIX) {
            let (id, rec) = decode_run(engine, &key, &value)?;
            meta.runs += 1;
            meta.totals.kvs += rec.kvs;
            meta.totals.bytes += rec.bytes;
            meta.next_run_id = meta.next_run_id.max(id + 1);
        } else {
            return Err(EngineError::CorruptMeta {
                engine: engine.to_owned(),
                key_hex: hex::encode(&key),
                reason: "unknown meta key",
            });
        }
    }
    Ok(meta)
}

/// Durably records that run `id` (already ingested) holds `rec`.
pub fn record_run(db: &DB, engine: &str, id: u64, rec: RunRecord) -> Result<(), EngineError> {
    db.put_cf_opt(meta_cf(db), run_key(id), encode_run(rec), &synced())
        .map_err(|e| EngineError::rocks(engine, "record run", e))
}

/// Durably marks the engine finished and flushes the meta memtable.
pub fn mark_finished(db: &DB, engine: &str) -> Result<(), EngineError> {
    let cf = meta_cf(db);
    db.put_cf_opt(cf, FINISHED_KEY, b"1", &synced())
        .map_err(|e| EngineError::rocks(engine, "mark finished", e))?;
    db.flush_cf(cf)
        .map_err(|e| EngineError::rocks(engine, "flush meta", e))
}

/// After an early import: the run records are replaced by `retained` (the
/// run holding what stayed, if anything) and the part count is `parts`.
pub fn record_part(
    db: &DB,
    engine: &str,
    parts: u64,
    retained: Option<(u64, RunRecord)>,
) -> Result<(), EngineError> {
    let cf = meta_cf(db);
    let mut batch = rocksdb::WriteBatch::default();
    let mut end = RUN_PREFIX.to_vec();
    end.extend_from_slice(&[0xFF; 9]);
    batch.delete_range_cf(cf, RUN_PREFIX, &end);
    if let Some((id, rec)) = retained {
        batch.put_cf(cf, run_key(id), encode_run(rec));
    }
    batch.put_cf(cf, PARTS_KEY, parts.to_be_bytes());
    db.write_opt(batch, &synced())
        .map_err(|e| EngineError::rocks(engine, "record an early import", e))
}
