//! Local duplicates: keys that one engine holds more than once (two source
//! rows with the same primary or unique key). The engine keeps every copy;
//! ingest sends the first. This pass lists the others in
//! `<output>/duplicates/t<table>-e<engine>.jsonl`
//! ([`squall_common::duplicates_file`]: key, both copies' values and source
//! positions) and sums their checksum, which is taken off the engine's
//! encode-time checksum so the result matches what TiKV holds. The task then
//! hands the file to the job's artefact store (`run.rs`), where the
//! coordinator reads it. The lines of one key are consecutive, the kept
//! copy named in each (after an early import under `disk-quota` it may be
//! in TiKV only: see `engine/parts.rs`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use squall_codec::KvChecksum;
use squall_common::checkpoint::ChunkSpec;
use squall_common::duplicates_file::{DuplicateRecord, RowPosition};

use super::error::TaskError;
use super::row_tag;
use crate::engine::{EngineKv, LocalEngine};

/// What the pass found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalDuplicates {
    pub count: u64,
    pub data: KvChecksum,
    pub indexes: BTreeMap<i64, KvChecksum>,
}

/// Walks the engine; writes every duplicate copy to `out` (created only when
/// there is one). Blocking.
pub fn collect(
    engine: &LocalEngine,
    chunks: &[ChunkSpec],
    table: &str,
    out: &Path,
) -> Result<LocalDuplicates, TaskError> {
    collect_with_kept(engine, chunks, table, out, &BTreeMap::new())
}

/// [`collect`] for an engine that imported parts early: a key whose kept
/// copy left the local disk takes its value from `kept_values` (read from
/// TiKV at the engine's commit ts) and its row tag from the engine's record
/// of ingested keys. Blocking.
pub fn collect_with_kept(
    engine: &LocalEngine,
    chunks: &[ChunkSpec],
    table: &str,
    out: &Path,
    kept_values: &BTreeMap<Vec<u8>, Vec<u8>>,
) -> Result<LocalDuplicates, TaskError> {
    let mut found = LocalDuplicates::default();
    let mut writer: Option<BufWriter<File>> = None;
    // One key's copies: the kept copy (ingested) and its duplicates, which
    // may come before it in row-tag order when an early import chose it.
    let mut group: Vec<EngineKv> = Vec::new();
    let mut write_group = |group: &mut Vec<EngineKv>| -> Result<(), TaskError> {
        let Some(first) = group.first() else {
            return Ok(());
        };
        if !group.iter().any(EngineKv::is_duplicate) {
            group.clear();
            return Ok(());
        }
        let key = first.key().to_vec();
        let (kept_tag, kept_value) = match group
            .iter()
            .find(|kv| matches!(kv, EngineKv::Put { .. } | EngineKv::Ingested { .. }))
        {
            Some(kv) => (kv.row_tag(), kv.value().to_vec()),
            None => kept_elsewhere(engine, &key, kept_values)?,
        };
        for kv in group.drain(..).filter(EngineKv::is_duplicate) {
            let (key, value, tag) = (kv.key().to_vec(), kv.value().to_vec(), kv.row_tag());
            found.count += 1;
            let index_id = index_id_of(&key);
            match index_id {
                None => found.data.update(&key, &value),
                Some(id) => found.indexes.entry(id).or_default().update(&key, &value),
            }
            if writer.is_none() {
                if let Some(dir) = out.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| TaskError::io("create", dir, e))?;
                }
                writer = Some(BufWriter::new(
                    File::create(out).map_err(|e| TaskError::io("create", out, e))?,
                ));
            }
            let line = DuplicateRecord {
                table: table.to_string(),
                kind: DuplicateRecord::kind_of(index_id),
                key,
                value,
                kept: row_position(chunks, kept_tag),
                kept_value: kept_value.clone(),
                duplicate: row_position(chunks, tag),
            };
            if let Some(w) = writer.as_mut() {
                writeln!(w, "{}", line.to_line()).map_err(|e| TaskError::io("write", out, e))?;
            }
        }
        Ok(())
    };
    for kv in engine.iter_range(&[], &[]) {
        let kv = kv?;
        if group.first().is_some_and(|g| g.key() != kv.key()) {
            write_group(&mut group)?;
        }
        group.push(kv);
    }
    write_group(&mut group)?;
    if let Some(mut w) = writer {
        w.flush().map_err(|e| TaskError::io("flush", out, e))?;
        w.get_ref()
            .sync_all()
            .map_err(|e| TaskError::io("fsync", out, e))?;
    }
    Ok(found)
}

/// The kept copy of `key` when an early import took it off the disk: its
/// tag from the engine, its value from TiKV.
fn kept_elsewhere(
    engine: &LocalEngine,
    key: &[u8],
    kept_values: &BTreeMap<Vec<u8>, Vec<u8>>,
) -> Result<(u64, Vec<u8>), TaskError> {
    let missing = |what: &str| {
        TaskError::Inconsistent(format!(
            "engine {}: key {} has local duplicates but its kept copy has no {what}",
            engine.id(),
            hex::encode(key)
        ))
    };
    let tag = engine
        .ingested_tag(key)?
        .ok_or_else(|| missing("ingested record"))?;
    let value = kept_values
        .get(key)
        .cloned()
        .ok_or_else(|| missing("value in TiKV"))?;
    Ok((tag, value))
}

/// The index ID of a `t{table}_i{index}...` key, `None` for record keys.
pub fn index_id_of(key: &[u8]) -> Option<i64> {
    if !squall_codec::key::is_index_key(key) || key.len() < 19 {
        return None;
    }
    squall_codec::number::decode_int(&mut &key[11..19]).ok()
}

fn row_position(chunks: &[ChunkSpec], tag: u64) -> RowPosition {
    let (ordinal, offset) = row_tag::unpack(tag);
    match chunks.iter().find(|c| c.ordinal == ordinal) {
        Some(c) => RowPosition {
            file: c.file.path.clone(),
            offset: c.start + offset,
        },
        None => RowPosition {
            file: "<unknown chunk>".into(),
            offset,
        },
    }
}
