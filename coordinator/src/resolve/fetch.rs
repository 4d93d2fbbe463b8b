//! Reads record values with `Tikv.KvBatchGet` at one read ts, region by
//! region (`squall_client::RegionWalk`, `concurrency` regions at a time), at
//! most [`MAX_BATCH_KEYS`] keys a request. Every key is retried until TiKV
//! answers it (a value, or "absent") or the retries run out and the job
//! fails: no key is ever silently dropped.
//!
//! This avoids the five ways Lightning's `getValues` loses or mis-fetches
//! rows (seed-duplicate-backfill-backend.md, "Anything surprising"); each is
//! marked `[bug N]` where the code avoids it.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::ops::Bound;

use squall_client::keys::{next_key, HexKey};
use squall_client::{ImportClient, RegionPiece, RegionWalk, RetryPolicy, Visit, WalkError};

use crate::duplicate::cancel::Cancel;
use crate::duplicate::error::DuplicateError;

/// Keys per KvBatchGet (Lightning's `maxGetRequestKeyCount`).
pub const MAX_BATCH_KEYS: usize = 1024;

/// Answers: key → value, `None` when the key has no value at `ts`.
pub type Fetched = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

pub struct Fetcher<'a> {
    pub client: &'a ImportClient,
    pub retry: &'a RetryPolicy,
    pub cancel: &'a Cancel,
    pub concurrency: usize,
}

impl Fetcher<'_> {
    /// The values of `keys` at `ts`.
    pub async fn fetch(
        &self,
        keys: impl IntoIterator<Item = Vec<u8>>,
        ts: u64,
    ) -> Result<Fetched, DuplicateError> {
        let keys: BTreeSet<Vec<u8>> = keys.into_iter().collect();
        // [bug 3] Lightning's getValues indexes handles[0] and panics on an
        // empty list; an empty request is simply an empty answer here.
        let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
            return Ok(Fetched::new());
        };
        // [bug 2] The walk ends just after the last key, and a region's empty
        // end is +inf, so the last region's keys are fetched like any others.
        let span = vec![(first.clone(), next_key(last))];
        let walk = RegionWalk::new(self.client, "KvBatchGet")
            .concurrency(self.concurrency)
            .policy(self.retry.clone())
            .retry_if(|_| true)
            .run(span, |piece| self.fetch_piece(&keys, ts, piece));
        let walked = self.cancel.run(walk).await?.map_err(|err| match err {
            WalkError::Piece(failed) => DuplicateError::RetriesExhausted {
                what: format!("KvBatchGet of keys from {}", HexKey(&failed.start)),
                attempts: failed.attempts,
                source: failed.source,
            },
            WalkError::Op(never) => match never {},
        })?;
        Ok(walked.values.into_iter().flatten().collect())
    }

    /// The answers for the keys of one region piece. [bug 5] When a request
    /// fails, its keys and those after it are the rest of the piece, which
    /// the walk tries again: the walk ends only when all are answered or it
    /// fails.
    async fn fetch_piece(
        &self,
        keys: &BTreeSet<Vec<u8>>,
        ts: u64,
        piece: RegionPiece,
    ) -> Result<Visit<Vec<(Vec<u8>, Option<Vec<u8>>)>>, Infallible> {
        let mut answered = Vec::new();
        for batch in batches_in(keys, &piece.start, &piece.end) {
            match self.client.kv_batch_get(&piece.region, &batch, ts).await {
                Ok(pairs) => {
                    let mut found: BTreeMap<Vec<u8>, Vec<u8>> = pairs.into_iter().collect();
                    answered.extend(batch.into_iter().map(|k| {
                        let value = found.remove(&k);
                        (k, value)
                    }));
                }
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
}

/// The keys in raw `[start, end)` (`end` empty = +inf), at most
/// [`MAX_BATCH_KEYS`] a batch. [bug 1] A fresh batch for every region and
/// every 1024 keys: Lightning reused one batch across regions, so every
/// request after the first carried keys of other regions and failed.
fn batches_in(keys: &BTreeSet<Vec<u8>>, start: &[u8], end: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let end = match end.is_empty() {
        true => Bound::Unbounded,
        false => Bound::Excluded(end),
    };
    let inside: Vec<Vec<u8>> = keys
        .range::<[u8], _>((Bound::Included(start), end))
        .cloned()
        .collect();
    inside.chunks(MAX_BATCH_KEYS).map(<[_]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stay_within_the_piece_and_the_limit() {
        let keys: BTreeSet<Vec<u8>> = (0..3000).map(|i| format!("k{i:04}").into_bytes()).collect();
        let shape = |start: &[u8], end: &[u8]| -> Vec<usize> {
            batches_in(&keys, start, end).iter().map(Vec::len).collect()
        };
        assert_eq!(shape(b"", b"k1000"), [1000]);
        assert_eq!(shape(b"k1000", b"k2500"), [1024, 476]);
        // The last region (empty end) gets its keys: nothing is dropped.
        assert_eq!(shape(b"k2500", b""), [500]);
        let batches = batches_in(&keys, b"k1000", b"k2500");
        assert!(batches
            .iter()
            .flatten()
            .all(|k| k.as_slice() >= &b"k1000"[..] && k.as_slice() < &b"k2500"[..]));
        assert!(batches_in(&BTreeSet::new(), b"", b"").is_empty());
    }
}
