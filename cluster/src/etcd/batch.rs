//! `put_many`: many unconditional puts in as few etcd Txns as etcd's limits
//! allow, for the moments when many records change at once (a table's
//! engines planned, a job's tasks reset).

use std::collections::HashSet;

use etcd_client::{Txn, TxnOp};
use squall_common::checkpoint::{CheckpointError, Revision};

use super::header_revision;
use super::retry::{classify, AttemptError, PUT_MANY};
use super::EtcdCheckpointStore;

/// Puts per Txn: etcd's default `--max-txn-ops`.
pub(super) const MAX_TXN_OPS: usize = 128;
/// Key and value bytes per Txn: etcd refuses requests above
/// `--max-request-bytes` (1.5 MiB by default); a third is left for framing
/// and for a member started with a smaller limit.
pub(super) const MAX_TXN_BYTES: usize = 1024 * 1024;

/// Writes every `(key, value)` and returns the revision of the last write
/// (`None` for an empty batch). Each Txn of up to [`MAX_TXN_OPS`] puts is
/// atomic; the batch as a whole is not, and an error means a prefix of the
/// Txns may have been applied. Retrying a batch is safe: puts are idempotent.
pub(super) async fn put_many(
    store: &EtcdCheckpointStore,
    items: &[(String, Vec<u8>)],
) -> Result<Option<Revision>, CheckpointError> {
    let mut seen = HashSet::new();
    let mut full = Vec::with_capacity(items.len());
    for (key, value) in items {
        if !seen.insert(key.as_str()) {
            // etcd refuses a Txn that puts one key twice, and a repeat in
            // another Txn would make the outcome depend on the chunking.
            return Err(CheckpointError::InvalidKey {
                key: key.clone(),
                reason: "given twice in one put_many batch",
            });
        }
        full.push((store.keys.full(key)?, value.as_slice()));
    }
    let mut last = None;
    for chunk in chunks(&full) {
        last = Some(put_chunk(store, chunk, &items[0].0).await?);
    }
    Ok(last)
}

/// Consecutive runs within both limits (a single oversized item is a run of
/// its own, and etcd will say it is too large).
fn chunks<'a>(items: &'a [(Vec<u8>, &'a [u8])]) -> Vec<&'a [(Vec<u8>, &'a [u8])]> {
    let mut runs = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (key, value)) in items.iter().enumerate() {
        let size = key.len() + value.len();
        if i > start && (i - start == MAX_TXN_OPS || bytes + size > MAX_TXN_BYTES) {
            runs.push(&items[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < items.len() {
        runs.push(&items[start..]);
    }
    runs
}

async fn put_chunk(
    store: &EtcdCheckpointStore,
    chunk: &[(Vec<u8>, &[u8])],
    first_key: &str,
) -> Result<Revision, CheckpointError> {
    let what = || format!("put_many of {} keys from {first_key:?}", chunk.len());
    store
        .retry
        .run(PUT_MANY, first_key, |_| {
            let mut kv = store.kv.clone();
            let puts: Vec<TxnOp> = chunk
                .iter()
                .map(|(key, value)| TxnOp::put(key.clone(), value.to_vec(), None))
                .collect();
            let txn = match &store.fence {
                Some(f) => Txn::new()
                    .when([f.compare()])
                    .and_then(puts)
                    .or_else([f.read()]),
                None => Txn::new().and_then(puts),
            };
            async move {
                let resp = kv.txn(txn).await.map_err(|e| classify(what, e))?;
                if let (false, Some(f)) = (resp.succeeded(), &store.fence) {
                    f.check(&what(), &resp).map_err(AttemptError::Permanent)?;
                }
                header_revision(resp.header(), what)
            }
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_both_limits_and_keep_order() {
        let big = vec![0u8; MAX_TXN_BYTES / 2];
        let items: Vec<(Vec<u8>, &[u8])> = (0..300u32)
            .map(|i| {
                (
                    i.to_be_bytes().to_vec(),
                    if i == 5 || i == 6 {
                        &big[..]
                    } else {
                        &b"v"[..]
                    },
                )
            })
            .collect();
        let runs = chunks(&items);
        let lens: Vec<usize> = runs.iter().map(|r| r.len()).collect();
        // 0..=5 (6 is too big to join 5), 6..=133 (128 ops), 134..=261, 262..300.
        assert_eq!(lens, [6, 128, 128, 38]);
        assert_eq!(runs.concat(), items);
        assert!(chunks(&[]).is_empty());
    }
}
