//! Reads record values with `Tikv.KvBatchGet`, grouped by region, at most
//! [`MAX_BATCH_KEYS`] keys a request, at one read ts. Every key is retried
//! until TiKV answers it (a value, or "absent") or the retries run out and
//! the job fails: no key is ever silently dropped.
//!
//! This avoids the five ways Lightning's `getValues` loses or mis-fetches
//! rows (seed-duplicate-backfill-backend.md, "Anything surprising"); each is
//! marked `[bug N]` where the code avoids it.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt as _;
use squall_client::keys::{next_key, HexKey};
use squall_client::{ClientError, ImportClient, RegionInfo, RetryPolicy, SCAN_PAGE};

use crate::duplicate::attempts::Attempts;
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
        let mut pending: BTreeSet<Vec<u8>> = keys.into_iter().collect();
        let mut out = Fetched::new();
        let mut attempts = Attempts::default();
        // [bug 3] Lightning's getValues indexes handles[0] and panics on an
        // empty list; an empty request is simply an empty answer here.
        while !pending.is_empty() {
            self.cancel.check()?;
            let before = pending.len();
            let last_error = self.round(&mut pending, &mut out, ts).await?;
            if pending.is_empty() {
                break;
            }
            if pending.len() < before {
                attempts.reset();
            }
            // [bug 5] Keys that were not answered stay pending for the next
            // round; the loop ends only when all are answered or it fails.
            let err = last_error.unwrap_or(ClientError::Protocol {
                what: "KvBatchGet",
                reason: "keys left unanswered".into(),
            });
            let Some(delay) = attempts.fail(self.retry, err.retry_after()) else {
                return Err(DuplicateError::RetriesExhausted {
                    what: format!("KvBatchGet of {} keys", pending.len()),
                    attempts: attempts.failures(),
                    source: err,
                });
            };
            tracing::warn!(keys = pending.len(), attempt = attempts.failures(), delay_ms = delay.as_millis() as u64, error = %err, "KvBatchGet left keys unanswered; retrying");
            self.cancel.sleep(delay).await?;
        }
        Ok(out)
    }

    /// One pass over the regions holding the pending keys. Answered keys move
    /// from `pending` to `out`; returns the last failure, if any.
    async fn round(
        &self,
        pending: &mut BTreeSet<Vec<u8>>,
        out: &mut Fetched,
        ts: u64,
    ) -> Result<Option<ClientError>, DuplicateError> {
        let (Some(first), Some(last)) = (pending.first(), pending.last()) else {
            return Ok(None);
        };
        // [bug 2] The scan ends just after the last key, and region ends are
        // compared with `RegionInfo::contains` (an empty end is +inf), so the
        // last region's keys are fetched like any others.
        let regions = match self
            .client
            .pd()
            .scan_regions(first, &next_key(last), SCAN_PAGE)
            .await
        {
            Ok(regions) => regions,
            Err(err) => return Ok(Some(err)),
        };
        // Owned regions: a closure over borrowed ones is higher-ranked, and
        // rustc then cannot prove the caller's future `Send`.
        let batches: Vec<(RegionInfo, Vec<Vec<u8>>)> = batches_by_region(pending, &regions)
            .into_iter()
            .map(|(region, keys)| (region.clone(), keys))
            .collect();
        let results: Vec<_> = futures::stream::iter(batches)
            .map(|(region, keys)| async move {
                let answer = self.client.kv_batch_get(&region, &keys, ts).await;
                (region, keys, answer)
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        let mut last_error = None;
        for (region, keys, answer) in results {
            match answer {
                Ok(pairs) => {
                    let mut found: BTreeMap<Vec<u8>, Vec<u8>> = pairs.into_iter().collect();
                    for key in keys {
                        pending.remove(&key);
                        let value = found.remove(&key);
                        out.insert(key, value);
                    }
                }
                Err(err) => {
                    tracing::warn!(region = region.id(), keys = keys.len(), first = %HexKey(&keys[0]), error = %err, "KvBatchGet failed; keys stay pending");
                    last_error = Some(err);
                }
            }
        }
        Ok(last_error)
    }
}

/// Pending keys split by region, at most [`MAX_BATCH_KEYS`] per batch.
fn batches_by_region<'r>(
    pending: &BTreeSet<Vec<u8>>,
    regions: &'r [RegionInfo],
) -> Vec<(&'r RegionInfo, Vec<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut keys = pending.iter().peekable();
    for region in regions {
        // [bug 1] A fresh batch for every region and every 1024 keys:
        // Lightning reused one batch across regions, so every request after
        // the first carried keys of other regions and failed.
        let mut batch = Vec::new();
        while let Some(key) = keys.next_if(|k| region.contains(k)) {
            batch.push(key.clone());
            if batch.len() == MAX_BATCH_KEYS {
                out.push((region, std::mem::take(&mut batch)));
            }
        }
        if !batch.is_empty() {
            out.push((region, batch));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use squall_client::keys::encode_bound;
    use squall_proto::metapb;

    use super::*;

    fn region(id: u64, start: &[u8], end: &[u8]) -> RegionInfo {
        let meta = metapb::Region {
            id,
            start_key: encode_bound(start),
            end_key: encode_bound(end),
            ..Default::default()
        };
        RegionInfo::new(meta, None).expect("valid bounds")
    }

    #[test]
    fn batches_stay_within_regions_and_the_limit() {
        let regions = [
            region(1, b"", b"k1000"),
            region(2, b"k1000", b"k2500"),
            region(3, b"k2500", b""),
        ];
        let pending: BTreeSet<Vec<u8>> =
            (0..3000).map(|i| format!("k{i:04}").into_bytes()).collect();
        let batches = batches_by_region(&pending, &regions);
        let shape: Vec<(u64, usize)> = batches.iter().map(|(r, k)| (r.id(), k.len())).collect();
        assert_eq!(shape, [(1, 1000), (2, 1024), (2, 476), (3, 500)]);
        for (r, keys) in &batches {
            assert!(keys.iter().all(|k| r.contains(k)));
        }
        // The last region (empty end) gets its keys: nothing is dropped.
        let total: usize = batches.iter().map(|(_, k)| k.len()).sum();
        assert_eq!(total, 3000);
        assert!(batches_by_region(&BTreeSet::new(), &regions).is_empty());
    }
}
