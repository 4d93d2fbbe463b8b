//! ImportSST.DuplicateDetect: walk the `write` CF of one region snapshot and
//! report keys written more than once, exactly as TiKV's `DuplicateDetector`
//! does:
//!
//! * keys whose newest version is at or below `min_commit_ts` are skipped;
//! * a newest version that is a Delete, Lock or Rollback ends the stream
//!   with a `key_error`;
//! * otherwise older versions are walked (Lock/Rollback skipped): each older
//!   Put is reported, preceded once by the newest version; a version at or
//!   below `min_commit_ts` (Put or Delete) ends the key after being handled.
//!   An older Delete above `min_commit_ts` is not reported and the walk goes
//!   on;
//! * with `key_only`, values are empty and — as in TiKV — the newest
//!   version is not reported at all, only the older ones;
//! * a response is sent once it holds at least 4096 pairs (the last key's
//!   versions are never split across responses).

use rocksdb::{DBRawIteratorWithThreadMode, DB};
use squall_proto::import_sstpb::{self, DuplicateDetectRequest, DuplicateDetectResponse, KvPair};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::faults::Rpc;
use crate::keys;
use crate::mvcc::{KeyRange, MvccError, MvccReader, WriteKind, WriteRecord};
use crate::region::RegionMeta;
use crate::store::check::{check_context, EpochCheck};
use crate::store::{Refusal, StoreService};
use crate::util::lock;

/// Pairs per response (TiKV's `MAX_SCAN_BATCH_COUNT`).
pub const MAX_BATCH_PAIRS: usize = 4096;

pub type DuplicateStream = ReceiverStream<Result<DuplicateDetectResponse, Status>>;

pub async fn duplicate_detect(
    svc: &StoreService,
    req: DuplicateDetectRequest,
) -> Result<DuplicateStream, Status> {
    let ctx = req.context.clone().unwrap_or_default();
    let (tx, rx) = mpsc::channel(2);
    let admitted = match svc
        .admit(Rpc::DuplicateDetect, ctx.region_id, Some(&req.start_key))
        .await
    {
        Ok(decision) => {
            let state = lock(&svc.cluster.state);
            check_context(&state, svc.store.id, &ctx, EpochCheck::Version, None)
                .map(|r| (r, decision))
                .map_err(Refusal::Region)
        }
        Err(refusal) => Err(refusal),
    };
    let (region, decision) = match admitted {
        Ok(ok) => ok,
        Err(Refusal::Status(s)) => return Err(s),
        Err(Refusal::Region(e)) => {
            return Ok(single(DuplicateDetectResponse {
                region_error: Some(e),
                ..Default::default()
            }))
        }
        Err(Refusal::Import(m)) => return Ok(single(key_error(m))),
    };
    let svc = svc.clone();
    let range = scan_range(&region, &req);
    tokio::task::spawn_blocking(move || {
        let mut sink = Sink {
            tx,
            sent: 0,
            drop_after: decision.drop_after,
            svc: &svc,
        };
        let reader = MvccReader::new(&svc.cluster.storage);
        let detector = Detector {
            reader: &reader,
            min_commit_ts: req.min_commit_ts,
            key_only: req.key_only,
        };
        detector.run(&range, |resp| sink.send(resp));
    });
    Ok(ReceiverStream::new(rx))
}

fn single(resp: DuplicateDetectResponse) -> DuplicateStream {
    let (tx, rx) = mpsc::channel(1);
    let _ = tx.try_send(Ok(resp));
    ReceiverStream::new(rx)
}

fn key_error(message: String) -> DuplicateDetectResponse {
    DuplicateDetectResponse {
        key_error: Some(import_sstpb::Error {
            message,
            store_error: None,
        }),
        ..Default::default()
    }
}

/// The request range cut to the region (an empty end key = region end).
fn scan_range(region: &RegionMeta, req: &DuplicateDetectRequest) -> KeyRange {
    let r = &region.region;
    let lower = keys::encode_bytes(&req.start_key).max(r.start_key.clone());
    let upper = match (req.end_key.is_empty(), r.end_key.is_empty()) {
        (true, true) => None,
        (true, false) => Some(r.end_key.clone()),
        (false, true) => Some(keys::encode_bytes(&req.end_key)),
        (false, false) => Some(keys::encode_bytes(&req.end_key).min(r.end_key.clone())),
    };
    KeyRange { lower, upper }
}

/// Sends responses, cutting the stream when a fault says so or the store
/// stops; `false` means stop scanning.
struct Sink<'a> {
    tx: mpsc::Sender<Result<DuplicateDetectResponse, Status>>,
    sent: u64,
    drop_after: Option<u64>,
    svc: &'a StoreService,
}

impl Sink<'_> {
    fn send(&mut self, resp: DuplicateDetectResponse) -> bool {
        if let Err(status) = self.svc.ensure_up() {
            let _ = self.tx.blocking_send(Err(status));
            return false;
        }
        if self.drop_after.is_some_and(|n| self.sent >= n) {
            tracing::info!(
                store = self.svc.store.id,
                sent = self.sent,
                "dropping DuplicateDetect stream (injected)"
            );
            let _ = self
                .tx
                .blocking_send(Err(Status::unavailable("transport is closing")));
            return false;
        }
        self.sent += 1;
        self.tx.blocking_send(Ok(resp)).is_ok()
    }
}

struct Detector<'r, 'a> {
    reader: &'r MvccReader<'a>,
    min_commit_ts: u64,
    key_only: bool,
}

/// Position of the iterator: a version of a user key.
struct Version {
    enc: Vec<u8>,
    commit_ts: u64,
    record: WriteRecord,
}

type Iter<'r> = DBRawIteratorWithThreadMode<'r, DB>;

impl Detector<'_, '_> {
    /// Scans `range`, handing each response to `send` until it returns false.
    /// On an error, like TiKV, the pairs gathered for the unsent response are
    /// dropped and only the `key_error` goes out.
    fn run(&self, range: &KeyRange, mut send: impl FnMut(DuplicateDetectResponse) -> bool) {
        let mut it = self.reader.range_iter(range);
        it.seek(keys::data_prefix(&range.lower));
        let mut batch = Vec::new();
        loop {
            let done = match self.next_key(&mut it, &mut batch) {
                Ok(more) => !more,
                Err(message) => {
                    send(key_error(message));
                    return;
                }
            };
            if (batch.len() >= MAX_BATCH_PAIRS || (done && !batch.is_empty()))
                && !send(pairs(std::mem::take(&mut batch)))
            {
                return;
            }
            if done {
                return;
            }
        }
    }

    /// Handles the next key newer than `min_commit_ts`; false when none is left.
    fn next_key(&self, it: &mut Iter<'_>, out: &mut Vec<KvPair>) -> Result<bool, String> {
        let Some(newest) = self.seek_import_key(it)? else {
            return Ok(false);
        };
        if newest.record.kind != WriteKind::Put {
            return Err(format!(
                "found a {:?} key with commits ts {} larger than min_commit_ts of importer {}",
                newest.record.kind, newest.commit_ts, self.min_commit_ts
            ));
        }
        let mut pending_newest = (!self.key_only).then_some(&newest);
        it.next();
        while let Some(older) = self.next_version(it, &newest.enc)? {
            if older.record.kind == WriteKind::Put {
                if let Some(n) = pending_newest.take() {
                    out.push(self.pair(n)?);
                }
                out.push(self.pair(&older)?);
            }
            if older.commit_ts <= self.min_commit_ts {
                crate::mvcc::skip_older_versions(it, &newest.enc);
                break;
            }
            it.next();
        }
        Ok(true)
    }

    /// Moves to the first version newer than `min_commit_ts`.
    fn seek_import_key(&self, it: &mut Iter<'_>) -> Result<Option<Version>, String> {
        while let Some(v) = current(it).map_err(|e| e.to_string())? {
            if v.commit_ts > self.min_commit_ts {
                return Ok(Some(v));
            }
            it.next();
        }
        it.status().map_err(|e| e.to_string())?;
        Ok(None)
    }

    /// The next Put or Delete of `enc`, skipping Lock and Rollback.
    fn next_version(&self, it: &mut Iter<'_>, enc: &[u8]) -> Result<Option<Version>, String> {
        while let Some(v) = current(it).map_err(|e| e.to_string())? {
            if v.enc != enc {
                return Ok(None);
            }
            if matches!(v.record.kind, WriteKind::Put | WriteKind::Delete) {
                return Ok(Some(v));
            }
            it.next();
        }
        Ok(None)
    }

    fn pair(&self, v: &Version) -> Result<KvPair, String> {
        let key = keys::decode_user_key(&v.enc).map_err(|e| e.to_string())?;
        let value = if self.key_only {
            Vec::new()
        } else {
            self.reader
                .value_of(&v.enc, &v.record)
                .map_err(|e| e.to_string())?
        };
        Ok(KvPair {
            key,
            value,
            commit_ts: v.commit_ts,
        })
    }
}

fn current(it: &Iter<'_>) -> Result<Option<Version>, MvccError> {
    let (Some(key), Some(value)) = (it.key(), it.value()) else {
        return Ok(None);
    };
    let (enc, commit_ts) = keys::split_data_key(key)?;
    Ok(Some(Version {
        enc: enc.to_vec(),
        commit_ts,
        record: WriteRecord::parse(value)?,
    }))
}

fn pairs(pairs: Vec<KvPair>) -> DuplicateDetectResponse {
    DuplicateDetectResponse {
        pairs,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
