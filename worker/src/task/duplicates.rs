//! Local duplicates: keys that one engine holds more than once (two source
//! rows with the same primary or unique key). The engine keeps every copy;
//! ingest sends the first. This pass lists the others in
//! `<output>/duplicates/t<table>-e<engine>.jsonl` (key, both rows' source
//! positions) and sums their checksum, which is taken off the engine's
//! encode-time checksum so the result matches what TiKV holds.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;
use squall_codec::KvChecksum;
use squall_common::checkpoint::ChunkSpec;

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

#[derive(Serialize)]
struct DuplicateLine<'a> {
    table: &'a str,
    /// `record` or the index ID.
    kind: String,
    key: String,
    value: String,
    kept: RowRef<'a>,
    duplicate: RowRef<'a>,
}

#[derive(Serialize)]
struct RowRef<'a> {
    file: &'a str,
    offset: u64,
}

/// Walks the engine; writes every duplicate copy to `out` (created only when
/// there is one). Blocking.
pub fn collect(
    engine: &LocalEngine,
    chunks: &[ChunkSpec],
    table: &str,
    out: &Path,
) -> Result<LocalDuplicates, TaskError> {
    let mut found = LocalDuplicates::default();
    let mut writer: Option<BufWriter<File>> = None;
    let mut kept_tag = 0u64;
    for kv in engine.iter_range(&[], &[]) {
        let (key, value, tag) = match kv? {
            EngineKv::Put { row_tag, .. } => {
                kept_tag = row_tag;
                continue;
            }
            EngineKv::Duplicate {
                key,
                value,
                row_tag,
            } => (key, value, row_tag),
        };
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
        let line = DuplicateLine {
            table,
            kind: index_id.map_or_else(|| "record".to_string(), |id| format!("index {id}")),
            key: hex::encode(&key),
            value: hex::encode(&value),
            kept: row_ref(chunks, kept_tag),
            duplicate: row_ref(chunks, tag),
        };
        if let Some(w) = writer.as_mut() {
            serde_json::to_writer(&mut *w, &line)
                .map_err(|e| TaskError::io("write", out, e.into()))?;
            w.write_all(b"\n")
                .map_err(|e| TaskError::io("write", out, e))?;
        }
    }
    if let Some(mut w) = writer {
        w.flush().map_err(|e| TaskError::io("flush", out, e))?;
        w.get_ref()
            .sync_all()
            .map_err(|e| TaskError::io("fsync", out, e))?;
    }
    Ok(found)
}

/// The index ID of a `t{table}_i{index}...` key, `None` for record keys.
pub fn index_id_of(key: &[u8]) -> Option<i64> {
    if !squall_codec::key::is_index_key(key) || key.len() < 19 {
        return None;
    }
    squall_codec::number::decode_int(&mut &key[11..19]).ok()
}

fn row_ref(chunks: &[ChunkSpec], tag: u64) -> RowRef<'_> {
    let (ordinal, offset) = row_tag::unpack(tag);
    match chunks.iter().find(|c| c.ordinal == ordinal) {
        Some(c) => RowRef {
            file: &c.file.path,
            offset: c.start + offset,
        },
        None => RowRef {
            file: "<unknown chunk>",
            offset,
        },
    }
}
