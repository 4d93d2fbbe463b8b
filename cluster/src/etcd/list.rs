//! `list` in pages: etcd ranges with a limit, each page starting after the
//! last key of the one before, all read at the revision of the first page so
//! the result is one consistent snapshot however many pages it takes.
//!
//! A compaction past that revision while the pages are read makes etcd
//! answer OutOfRange, reported as `Rejected`; Squall does not compact
//! (Debian's etcd does not auto-compact unless told to).

use etcd_client::{GetOptions, GetResponse};
use squall_common::checkpoint::{CheckpointError, Versioned};

use super::keys::successor;
use super::retry::{classify, LIST};
use super::{versioned, EtcdCheckpointStore};

pub(super) async fn list(
    store: &EtcdCheckpointStore,
    prefix: &str,
) -> Result<Vec<(String, Versioned)>, CheckpointError> {
    let (mut from, end) = store.keys.range(prefix);
    // 0 asks for the newest revision; pinned after the first page.
    let mut at_revision = 0i64;
    let mut listed = Vec::new();
    loop {
        let page = read_page(store, prefix, &from, &end, store.page_size, at_revision).await?;
        if at_revision == 0 {
            at_revision = page.header().map_or(0, |h| h.revision());
        }
        for kv in page.kvs() {
            listed.push((store.keys.strip(kv.key())?, versioned(kv)));
        }
        match page.kvs().last() {
            Some(last) if page.more() => from = successor(last.key()),
            _ => return Ok(listed),
        }
    }
}

/// One page of `list_page`: at most `limit` keys of `prefix` after `after`,
/// at the newest revision (one Range; the caller chains pages).
pub(super) async fn list_page(
    store: &EtcdCheckpointStore,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Versioned)>, CheckpointError> {
    let (start, end) = store.keys.range(prefix);
    let from = match after {
        Some(a) => successor(&store.keys.full(a)?).max(start),
        None => start,
    };
    if limit == 0 || (end != [0] && from >= end) {
        return Ok(Vec::new());
    }
    // etcd's limit 0 means "no limit": `limit` is at least 1 here.
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let page = read_page(store, prefix, &from, &end, limit, 0).await?;
    page.kvs()
        .iter()
        .map(|kv| Ok((store.keys.strip(kv.key())?, versioned(kv))))
        .collect()
}

async fn read_page(
    store: &EtcdCheckpointStore,
    prefix: &str,
    from: &[u8],
    end: &[u8],
    limit: i64,
    at_revision: i64,
) -> Result<GetResponse, CheckpointError> {
    let options = GetOptions::new()
        .with_range(end.to_vec())
        .with_limit(limit)
        .with_revision(at_revision);
    store
        .retry
        .run(LIST, prefix, |_| {
            let mut kv = store.kv.clone();
            let (from, options) = (from.to_vec(), options.clone());
            async move {
                kv.get(from, Some(options))
                    .await
                    .map_err(|e| classify(|| format!("list of {prefix:?}"), e))
            }
        })
        .await
}
