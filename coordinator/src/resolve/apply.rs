//! Writes a resolution's mutations (Puts and Deletes) into TiKV at one
//! commit ts, region by region (`squall_client::RegionWalk`, one region at
//! a time): each region's mutations go through the client's
//! `write_and_ingest` (Write to every peer, MultiIngest on the leader), as
//! the worker's region ingest does.
//!
//! The worker's ingest (`squall_worker::ingest`) reads `SortedKvs` of
//! key/value pairs and always sends `Op::Put`; resolution also needs
//! `Op::Delete`, so it builds its own batches. A resolution touches only
//! conflicting rows, so it does not need the worker's split, scatter and
//! stream caps. Writing the same mutations at the same ts again is harmless,
//! which makes a restarted resolution idempotent.

use std::convert::Infallible;
use std::ops::Bound;

use async_trait::async_trait;
use squall_client::keys::{next_key, HexKey};
use squall_client::{
    write_and_ingest, ImportClient, RegionPiece, RegionWalk, RetryPolicy, Visit, WalkError,
    WriteIngestError,
};
use squall_proto::import_sstpb::{pair::Op, Pair, WriteBatch};

use super::writeset::{Mutation, WriteSet};
use crate::duplicate::cancel::Cancel;
use crate::duplicate::error::DuplicateError;

/// Pairs per `WriteBatch` message (TiKV's import batch size is 4096 too).
const PAIRS_PER_BATCH: usize = 4096;
/// Walks of one write before it fails the job. A piece uses up its
/// attempts when faults pile up on its region for a while (a store down
/// through several backoffs while the others answer busy); the worker's
/// ingest then fails the task and the queue redelivers it, up to 5 times.
/// A resolution has no such outer retry, so it walks again itself, as
/// often (rewriting what was written is harmless: same keys, same ts).
const WRITE_ROUNDS: u32 = 5;

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
        let (Some((first, _)), Some((last, _))) = (set.first_key_value(), set.last_key_value())
        else {
            return Ok(());
        };
        let span = vec![(first.clone(), next_key(last))];
        let mut round = 1;
        loop {
            // Every client error is worth a re-scan and a new Write (with a
            // new uuid), as in the worker's ingest.
            let walk = RegionWalk::new(&self.client, "resolution write")
                .policy(self.retry.clone())
                .retry_if(|_| true)
                .run(span.clone(), |piece| {
                    self.write_piece(set, commit_ts, piece)
                });
            let failed = match self.cancel.run(walk).await? {
                Ok(_) => return Ok(()),
                Err(WalkError::Piece(failed)) => failed,
                Err(WalkError::Op(never)) => match never {},
            };
            let reason = format!(
                "region piece from {} failed {} times: {}",
                HexKey(&failed.start),
                failed.attempts,
                failed.source
            );
            if round >= WRITE_ROUNDS {
                return Err(DuplicateError::Ingest {
                    table: table.to_string(),
                    commit_ts,
                    reason: format!("{reason} (in the last of {WRITE_ROUNDS} rounds)"),
                });
            }
            tracing::warn!(table, commit_ts, round, rounds = WRITE_ROUNDS, %reason,
                "resolution write failed; writing it again after a pause");
            self.cancel
                .run(tokio::time::sleep(self.retry.max_interval))
                .await?;
            round += 1;
        }
    }
}

impl RegionWriter {
    /// Writes the mutations inside one region piece.
    async fn write_piece(
        &self,
        set: &WriteSet,
        commit_ts: u64,
        piece: RegionPiece,
    ) -> Result<Visit<()>, Infallible> {
        let end = match piece.end.is_empty() {
            true => Bound::Unbounded,
            false => Bound::Excluded(piece.end.as_slice()),
        };
        let entries: Vec<(&Vec<u8>, &Mutation)> = set
            .range::<[u8], _>((Bound::Included(piece.start.as_slice()), end))
            .collect();
        let (Some((first, _)), Some((last, _))) = (entries.first(), entries.last()) else {
            return Ok(Visit::Done(()));
        };
        let mut batches = futures::stream::iter(
            batches(&entries, commit_ts)
                .into_iter()
                .map(Ok::<_, Infallible>),
        );
        let written = write_and_ingest(
            &self.client,
            &piece.region,
            (first.as_slice(), last.as_slice()),
            &mut batches,
        )
        .await;
        match written {
            Ok(()) => {
                squall_common::failpoint::point("resolve.region-written").await;
                Ok(Visit::Done(()))
            }
            Err(WriteIngestError::Client(err)) => Ok(Visit::Failed(err)),
            Err(WriteIngestError::Batches(never)) => match never {},
        }
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
    }
}
