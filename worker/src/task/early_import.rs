//! `tikv-importer.disk-quota`: when the job's local engines on this machine
//! reach the quota, the engine being encoded stops taking chunks, lets the
//! chunks in flight finish, ingests what it has sorted (first copies only,
//! at the engine's commit ts, like the final ingest), drops that from disk
//! (`engine/parts.rs`) and goes on encoding. The final ingest then sends
//! only what came after; the parts' counts are added to its own, so the
//! engine's KV count and checksum are checked against TiKV's as always.
//!
//! Granularity is a chunk: the quota may be passed by what the chunks in
//! flight write (`region-concurrency` × a chunk's KVs). A key that appears
//! in two parts is a local duplicate like any other (reported, taken out of
//! the checksum); its kept copy is the one ingested first, and its value is
//! read back from TiKV for the report ([`kept_values`]).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::Arc;

use squall_client::keys::next_key;
use squall_client::{RegionPiece, RegionWalk, Visit, WalkError};
use squall_common::checkpoint::EngineCheckpoint;
use tokio_util::sync::CancellationToken;

use super::context::WorkerContext;
use super::engine_kvs::EngineKvs;
use super::error::TaskError;
use super::message::EngineTask;
use crate::engine::LocalEngine;
use crate::ingest::{ingest_engine, IngestConfig, ProgressFn};

/// Keys per `KvBatchGet` when reading kept copies back.
const BATCH_KEYS: usize = 1024;

/// What the early imports of one engine sent to TiKV.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    pub count: u64,
    pub kvs: u64,
    pub bytes: u64,
}

/// Whether the engine should import early now (the quota is reached and it
/// holds a fair share of it); `Some(bytes in use)` then.
pub async fn quota_reached(engine: &LocalEngine) -> Result<Option<u64>, TaskError> {
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || engine.quota_reached().map_err(TaskError::from))
        .await
        .map_err(|e| TaskError::Blocking(e.to_string()))?
}

/// Ingests the engine's first copies and drops them from disk. No writer
/// may be open (the caller lets its chunks in flight finish first).
pub async fn import_part(
    cx: &WorkerContext,
    task: &EngineTask,
    ckpt: &EngineCheckpoint,
    engine: &LocalEngine,
    used: u64,
    parts: &mut Parts,
    stop: &CancellationToken,
) -> Result<(), TaskError> {
    tracing::info!(%task, used, quota = cx.cfg.tikv_importer.disk_quota.as_u64(), part = parts.count + 1,
        "local engines reached tikv-importer.disk-quota; importing what is sorted early");
    let progress = Arc::clone(&cx.progress);
    let on_ingest: ProgressFn = Arc::new(move |bytes| progress.ingested(bytes));
    let kvs = Arc::new(EngineKvs(engine.clone()));
    let cfg = IngestConfig::from_task(&cx.cfg);
    let summary = tokio::select! {
        r = ingest_engine(&cx.client, kvs, ckpt.commit_ts, &cfg, Some(on_ingest)) => r?,
        _ = stop.cancelled() => return Err(TaskError::Cancelled),
    };
    let retiring = engine.clone();
    tokio::task::spawn_blocking(move || retiring.retire_part().map_err(TaskError::from))
        .await
        .map_err(|e| TaskError::Blocking(e.to_string()))??;
    parts.count += 1;
    parts.kvs += summary.kvs;
    parts.bytes += summary.bytes;
    Ok(())
}

/// The values TiKV holds at the engine's commit ts for the keys whose kept
/// copy an early import took off the disk (for the duplicate report).
pub async fn kept_values(
    cx: &WorkerContext,
    engine: &LocalEngine,
    commit_ts: u64,
) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, TaskError> {
    let reading = engine.clone();
    let keys: BTreeSet<Vec<u8>> = tokio::task::spawn_blocking(move || {
        reading.keys_without_kept_copy().map_err(TaskError::from)
    })
    .await
    .map_err(|e| TaskError::Blocking(e.to_string()))??
    .into_iter()
    .collect();
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return Ok(BTreeMap::new());
    };
    let span = vec![(first.clone(), next_key(last))];
    let walked = RegionWalk::new(&cx.client, "KvBatchGet of kept copies")
        .policy(IngestConfig::from_task(&cx.cfg).retry)
        .retry_if(|_| true)
        .run(span, |piece| read_piece(cx, &keys, commit_ts, piece))
        .await
        .map_err(|err| match err {
            WalkError::Piece(failed) => TaskError::Inconsistent(format!(
                "reading kept copies back from TiKV failed from key {}: {}",
                hex::encode(&failed.start),
                failed.source
            )),
            WalkError::Op(never) => match never {},
        })?;
    let found: BTreeMap<Vec<u8>, Vec<u8>> = walked.values.into_iter().flatten().collect();
    if let Some(lost) = keys.iter().find(|k| !found.contains_key(*k)) {
        return Err(TaskError::Inconsistent(format!(
            "key {} was ingested early at commit ts {commit_ts}, but TiKV has no value for it",
            hex::encode(lost)
        )));
    }
    Ok(found)
}

async fn read_piece(
    cx: &WorkerContext,
    keys: &BTreeSet<Vec<u8>>,
    ts: u64,
    piece: RegionPiece,
) -> Result<Visit<Vec<(Vec<u8>, Vec<u8>)>>, Infallible> {
    let inside: Vec<Vec<u8>> = keys
        .iter()
        .filter(|k| k.as_slice() >= piece.start.as_slice())
        .filter(|k| piece.end.is_empty() || k.as_slice() < piece.end.as_slice())
        .cloned()
        .collect();
    let mut answered = Vec::new();
    for batch in inside.chunks(BATCH_KEYS) {
        match cx.client.kv_batch_get(&piece.region, batch, ts).await {
            Ok(pairs) => answered.extend(pairs),
            Err(err) if answered.is_empty() => return Ok(Visit::Failed(err)),
            Err(err) => {
                return Ok(Visit::Partial {
                    value: answered,
                    resume: batch[0].clone(),
                    failure: Some(err),
                })
            }
        }
    }
    Ok(Visit::Done(answered))
}
