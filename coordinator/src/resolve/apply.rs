//! Writes a resolution's mutations (Puts and Deletes) into TiKV at one
//! commit ts, region by region: `ImportSST.Write` to every peer, then
//! `MultiIngest` on the leader, as the worker's region ingest does.
//!
//! The worker's ingest (`squall_worker::ingest`) reads `SortedKvs` of
//! key/value pairs and always sends `Op::Put`; resolution also needs
//! `Op::Delete`, so this small adapter speaks the same protocol with both
//! ops. A resolution touches only conflicting rows, so it does not need the
//! worker's split, scatter and stream caps. Writing the same mutations at the
//! same ts again is harmless, which makes a restarted resolution idempotent.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::future::join_all;
use squall_client::keys::{next_key, sst_range, HexKey};
use squall_client::{ClientError, ImportClient, RegionInfo, RetryPolicy, SCAN_PAGE};
use squall_proto::import_sstpb::{pair::Op, Pair, SstMeta, WriteBatch};

use super::writeset::{Mutation, WriteSet};
use crate::duplicate::attempts::Attempts;
use crate::duplicate::cancel::Cancel;
use crate::duplicate::error::DuplicateError;

/// Pairs per `WriteBatch` message (TiKV's import batch size is 4096 too).
const PAIRS_PER_BATCH: usize = 4096;

/// Where resolution mutations go.
#[async_trait]
pub trait ResolutionWriter: Send + Sync {
    /// Makes every mutation of `set` visible at `commit_ts`, or fails.
    async fn write(
        &self,
        table: &str,
        commit_ts: u64,
        set: &WriteSet,
    ) -> Result<(), DuplicateError>;
}

/// The [`ResolutionWriter`] for a real (or simulated) cluster.
pub struct RegionWriter {
    pub client: ImportClient,
    pub retry: RetryPolicy,
    pub cancel: Cancel,
}

#[async_trait]
impl ResolutionWriter for RegionWriter {
    async fn write(
        &self,
        table: &str,
        commit_ts: u64,
        set: &WriteSet,
    ) -> Result<(), DuplicateError> {
        let entries: Vec<(&Vec<u8>, &Mutation)> = set.iter().collect();
        let mut done = 0;
        let mut attempts = Attempts::default();
        while done < entries.len() {
            self.cancel.check()?;
            let err = match self.write_from(&entries, &mut done, commit_ts).await {
                Ok(()) => break,
                Err(err) => err,
            };
            let Some(delay) = attempts.fail(&self.retry, err.retry_after()) else {
                return Err(DuplicateError::Ingest {
                    table: table.to_string(),
                    commit_ts,
                    reason: err.to_string(),
                });
            };
            tracing::warn!(table, commit_ts, at = %HexKey(entries[done].0), attempt = attempts.failures(), error = %err, "resolution write failed; rescanning regions");
            self.cancel.sleep(delay).await?;
        }
        Ok(())
    }
}

impl RegionWriter {
    /// Writes `entries[*done..]` region by region, advancing `done`.
    async fn write_from(
        &self,
        entries: &[(&Vec<u8>, &Mutation)],
        done: &mut usize,
        commit_ts: u64,
    ) -> Result<(), ClientError> {
        let (first, last) = (entries[*done].0, entries[entries.len() - 1].0);
        let regions = self
            .client
            .pd()
            .scan_regions(first, &next_key(last), SCAN_PAGE)
            .await?;
        for region in &regions {
            let end = *done
                + entries[*done..]
                    .iter()
                    .take_while(|(k, _)| region.contains(k))
                    .count();
            if end == *done {
                continue;
            }
            self.write_region(region, &entries[*done..end], commit_ts)
                .await?;
            *done = end;
            squall_common::failpoint::point("resolve.region-written").await;
        }
        Ok(())
    }

    async fn write_region(
        &self,
        region: &RegionInfo,
        entries: &[(&Vec<u8>, &Mutation)],
        commit_ts: u64,
    ) -> Result<(), ClientError> {
        let leader = region.target_peer()?;
        let meta = SstMeta {
            uuid: fresh_uuid(commit_ts, region.id()),
            range: Some(sst_range(entries[0].0, entries[entries.len() - 1].0)),
            region_id: region.id(),
            region_epoch: Some(region.epoch()),
            ..Default::default()
        };
        let batches = batches(entries, commit_ts);
        let writes = region.region.peers.iter().map(|peer| {
            let (meta, batches) = (meta.clone(), batches.clone());
            async move {
                (
                    peer.id,
                    self.client
                        .write(peer.store_id, region.context(peer), meta, batches)
                        .await,
                )
            }
        });
        let mut leader_metas = None;
        for (peer_id, answer) in join_all(writes).await {
            let metas = answer?;
            if peer_id == leader.id {
                leader_metas = Some(metas);
            }
        }
        let metas = leader_metas
            .filter(|m| !m.is_empty())
            .ok_or(ClientError::Protocol {
                what: "Write",
                reason: format!("the leader of region {} returned no SST", region.id()),
            })?;
        // Any failure (a moved leader included) is answered by a rescan and
        // a new Write with a new uuid, never by ingesting these SSTs again.
        self.client
            .multi_ingest(leader.store_id, region.context(&leader), metas)
            .await
    }
}

fn batches(entries: &[(&Vec<u8>, &Mutation)], commit_ts: u64) -> Vec<WriteBatch> {
    entries
        .chunks(PAIRS_PER_BATCH)
        .map(|chunk| WriteBatch {
            commit_ts,
            pairs: chunk
                .iter()
                .map(|(key, m)| match m {
                    Mutation::Put(value) => Pair {
                        key: (*key).clone(),
                        value: value.clone(),
                        op: Op::Put as i32,
                    },
                    Mutation::Delete => Pair {
                        key: (*key).clone(),
                        value: Vec::new(),
                        op: Op::Delete as i32,
                    },
                })
                .collect(),
        })
        .collect()
}

/// A uuid for one SST: commit ts, region and a per-process counter seeded
/// from the clock. Every attempt gets a new one (an ingest that reported an
/// error may still have happened, so an SST is never ingested twice).
fn fresh_uuid(commit_ts: u64, region_id: u64) -> Vec<u8> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_add(seed);
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&commit_ts.to_be_bytes());
    out.extend_from_slice(&(region_id as u32).to_be_bytes());
    out.extend_from_slice(&n.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_carry_ops_and_ts() {
        let (a, b) = (b"a".to_vec(), b"b".to_vec());
        let put = Mutation::Put(b"v".to_vec());
        let entries = vec![(&a, &put), (&b, &Mutation::Delete)];
        let out = batches(&entries, 42);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].commit_ts, 42);
        assert_eq!(out[0].pairs[0].op, Op::Put as i32);
        assert_eq!(
            out[0].pairs[1],
            Pair {
                key: b.clone(),
                value: vec![],
                op: Op::Delete as i32
            }
        );
        assert_ne!(fresh_uuid(1, 2), fresh_uuid(1, 2));
        assert_eq!(fresh_uuid(1, 2).len(), 16);
    }
}
