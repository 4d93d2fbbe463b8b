//! Remote detection: `ImportSST.DuplicateDetect` over every detection range,
//! region by region (`squall_client::RegionWalk`), with at most
//! `concurrency` streams in flight.
//!
//! Each region piece opens a stream on the leader and stores a segment each
//! time enough pairs are complete. When a stream breaks, the finished part
//! is stored and only the rest `[resume key, end)` of that piece is walked
//! again, following the walk's region-error table (a dropped stream or a
//! timeout re-cuts the rest from PD, so a leader that moved off a stopped
//! store is found). Failures in a row are bounded by the retry policy;
//! stored progress resets the count. A key error (a Delete newer than
//! `min_commit_ts`) is never retried: it means the range was changed after
//! the import, and scanning it again cannot help.

use squall_client::keys::HexKey;
use squall_client::{
    ClientError, ImportClient, RegionPiece, RegionWalk, RetryPolicy, Visit, WalkError,
};
use squall_common::checkpoint::CheckpointStore;

use super::cancel::Cancel;
use super::error::DuplicateError;
use super::pair::DupPair;
use super::segment::{self, DetectedSegment};
use super::segmenter::{Piece, Segmenter};
use super::target::DetectTarget;

/// What detection needs, borrowed from the context.
pub struct Detector<'a> {
    pub client: &'a ImportClient,
    pub store: &'a dyn CheckpointStore,
    pub job_id: &'a str,
    pub min_commit_ts: u64,
    pub concurrency: usize,
    pub retry: &'a RetryPolicy,
    pub segment_bytes: usize,
    pub cancel: &'a Cancel,
}

/// Counters of one detection run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetectStats {
    pub streams: u64,
    pub pairs: u64,
    pub retries: u64,
    pub segments: u64,
}

impl Detector<'_> {
    /// Scans every part of `targets` that no stored segment covers.
    pub async fn run(&self, targets: &[DetectTarget]) -> Result<DetectStats, DuplicateError> {
        // Walk ranges, and the target each belongs to.
        let (mut ranges, mut owners) = (Vec::new(), Vec::new());
        for (i, t) in targets.iter().enumerate() {
            let done = segment::covered(self.store, self.job_id, t.table_id, t.kind).await?;
            // Coverage is kept and compared in raw keys, the form the scans
            // use ([bug 4]: Lightning deleted raw-key ranges from a DB keyed
            // by encoded keys, so its cleanup never matched).
            for gap in segment::gaps(&t.start, &t.end, &done) {
                ranges.push(gap);
                owners.push(i);
            }
        }
        let owner = |range: usize| &targets[owners[range]];
        let walk = RegionWalk::new(self.client, "DuplicateDetect")
            .concurrency(self.concurrency)
            .policy(self.retry.clone())
            .retry_if(|_| true)
            .run(ranges, |piece| self.detect_piece(owner(piece.range), piece));
        let walked = self.cancel.run(walk).await?.map_err(|err| match err {
            WalkError::Op(err) => err,
            WalkError::Piece(failed) => {
                let t = owner(failed.range);
                DuplicateError::RetriesExhausted {
                    what: format!(
                        "DuplicateDetect for table {} {} from {}",
                        t.table_id,
                        t.kind,
                        HexKey(&failed.start)
                    ),
                    attempts: failed.attempts,
                    source: failed.source,
                }
            }
        })?;
        let mut stats = DetectStats {
            retries: walked.retries,
            ..DetectStats::default()
        };
        for piece in walked.values {
            stats.streams += piece.streams;
            stats.pairs += piece.pairs;
            stats.segments += piece.segments;
        }
        Ok(stats)
    }

    /// Streams one region piece, storing segments as they complete. A broken
    /// stream after stored progress is `Partial` from the pending key.
    async fn detect_piece(
        &self,
        target: &DetectTarget,
        piece: RegionPiece,
    ) -> Result<Visit<DetectStats>, DuplicateError> {
        let mut seg = Segmenter::new(piece.start.clone(), self.segment_bytes);
        let mut stats = DetectStats::default();
        let Some(err) = self.stream(target, &piece, &mut seg, &mut stats).await? else {
            self.save(target, seg.finish(piece.end.clone())).await?;
            stats.streams = 1;
            stats.segments += 1;
            return Ok(Visit::Done(stats));
        };
        let (done, resume) = seg.interrupt();
        if let Some(done) = done {
            self.save(target, done).await?;
            stats.segments += 1;
        }
        if let ClientError::KeyError { message, .. } = &err {
            return Err(DuplicateError::KeyError {
                table_id: target.table_id,
                target: target.kind.to_string(),
                start: HexKey(&resume).to_string(),
                end: HexKey(&piece.end).to_string(),
                message: message.clone(),
            });
        }
        Ok(match resume > piece.start {
            true => Visit::Partial {
                value: stats,
                resume,
                failure: Some(err),
            },
            false => Visit::Failed(err),
        })
    }

    /// Runs the stream; `Ok(None)` at its normal end, `Ok(Some(err))` when
    /// it broke (pairs received so far are in `seg`).
    async fn stream(
        &self,
        target: &DetectTarget,
        piece: &RegionPiece,
        seg: &mut Segmenter,
        stats: &mut DetectStats,
    ) -> Result<Option<ClientError>, DuplicateError> {
        let region = &piece.region;
        let peer = match region.target_peer() {
            Ok(peer) => peer,
            Err(err) => return Ok(Some(err)),
        };
        let opened = self
            .client
            .duplicate_detect(
                peer.store_id,
                region.context(&peer),
                &piece.start,
                &piece.end,
                self.min_commit_ts,
                false,
            )
            .await;
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(err) => return Ok(Some(err)),
        };
        loop {
            let batch = match stream.next().await {
                Ok(Some(batch)) => batch,
                Ok(None) => return Ok(None),
                Err(err) => {
                    self.client.report_failure(peer.store_id, &err);
                    return Ok(Some(err));
                }
            };
            for p in batch {
                stats.pairs += 1;
                let pair = DupPair {
                    key: p.key,
                    value: p.value,
                    commit_ts: p.commit_ts,
                };
                match seg.push(pair) {
                    Ok(Some(done)) => {
                        self.save(target, done).await?;
                        stats.segments += 1;
                    }
                    Ok(None) => {}
                    Err(reason) => {
                        let what = "DuplicateDetect";
                        return Ok(Some(ClientError::Protocol { what, reason }));
                    }
                }
            }
        }
    }

    /// Stores a finished piece before the scan goes on (retrying a store
    /// that is briefly unavailable).
    async fn save(&self, target: &DetectTarget, piece: Piece) -> Result<(), DuplicateError> {
        let record = DetectedSegment::new(target, piece.start, piece.end, piece.pairs);
        let mut backoff = self.retry.start();
        loop {
            match segment::save(self.store, self.job_id, &record, target.kind).await {
                Ok(()) => {
                    squall_common::failpoint::point("detect.segment-saved").await;
                    return Ok(());
                }
                Err(err) if err.is_retryable() => {
                    let Some(delay) = backoff.next_delay(None) else {
                        return Err(err.into());
                    };
                    tracing::warn!(table = target.table_id, error = %err, "storing a detection segment failed; retrying");
                    self.cancel.sleep(delay).await?;
                }
                Err(err) => return Err(err.into()),
            }
        }
    }
}
