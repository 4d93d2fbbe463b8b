//! Remote detection: `ImportSST.DuplicateDetect` over every detection range,
//! region by region, with at most `concurrency` streams in flight.
//!
//! Work items are raw sub-ranges. One without a region is resolved with a
//! paginated ScanRegions into one item per region (bounds clamped to the
//! range, so the last region's empty end is never sent). One with a region
//! opens a stream on the leader and stores a segment each time enough pairs
//! are complete. When a stream breaks, the finished part is stored and only
//! the rest `[resume key, end)` of *that* region is tried again: on the same
//! region for a dropped stream or a leader hint, re-scanned from PD for any
//! other region error. Failures in a row are bounded by the retry policy;
//! progress resets the count. A key error (a Delete newer than
//! `min_commit_ts`) is never retried: it means the range was changed after
//! the import, and scanning it again cannot help.

use std::collections::VecDeque;

use futures::stream::FuturesUnordered;
use futures::StreamExt as _;
use squall_client::keys::{min_end, HexKey};
use squall_client::{ClientError, ImportClient, RegionAction, RegionInfo, RetryPolicy, SCAN_PAGE};
use squall_common::checkpoint::CheckpointStore;

use super::attempts::Attempts;
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

/// A sub-range of one target, maybe pinned to a region.
#[derive(Debug)]
struct Work {
    target: usize,
    start: Vec<u8>,
    end: Vec<u8>,
    region: Option<RegionInfo>,
    attempts: Attempts,
}

enum Outcome {
    Done {
        pairs: u64,
        segments: u64,
    },
    /// Continue with these items (a region scan, or the rest after a failure).
    Continue {
        items: Vec<Work>,
        pairs: u64,
        segments: u64,
        retried: bool,
    },
}

impl Detector<'_> {
    /// Scans every part of `targets` that no stored segment covers.
    pub async fn run(&self, targets: &[DetectTarget]) -> Result<DetectStats, DuplicateError> {
        let mut queue = VecDeque::new();
        for (i, t) in targets.iter().enumerate() {
            let done = segment::load(self.store, self.job_id, t.table_id, t.kind).await?;
            // Coverage is kept and compared in raw keys, the form the scans
            // use ([bug 4]: Lightning deleted raw-key ranges from a DB keyed
            // by encoded keys, so its cleanup never matched).
            for (start, end) in segment::gaps(&t.start, &t.end, &done) {
                queue.push_back(Work {
                    target: i,
                    start,
                    end,
                    region: None,
                    attempts: Attempts::default(),
                });
            }
        }
        let mut stats = DetectStats::default();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < self.concurrency.max(1) {
                let Some(work) = queue.pop_front() else { break };
                running.push(self.run_work(&targets[work.target], work));
            }
            let Some(outcome) = self.cancel.run(running.next()).await? else {
                break;
            };
            match outcome? {
                Outcome::Done { pairs, segments } => {
                    stats.streams += 1;
                    stats.pairs += pairs;
                    stats.segments += segments;
                }
                Outcome::Continue {
                    items,
                    pairs,
                    segments,
                    retried,
                } => {
                    stats.pairs += pairs;
                    stats.segments += segments;
                    stats.retries += u64::from(retried);
                    for item in items.into_iter().rev() {
                        queue.push_front(item);
                    }
                }
            }
        }
        Ok(stats)
    }

    async fn run_work(&self, target: &DetectTarget, work: Work) -> Result<Outcome, DuplicateError> {
        match work.region.clone() {
            None => self.scan(target, work).await,
            Some(region) => self.detect_region(target, work, region).await,
        }
    }

    /// Splits a range into one item per region.
    async fn scan(&self, target: &DetectTarget, mut work: Work) -> Result<Outcome, DuplicateError> {
        match self
            .client
            .pd()
            .scan_regions(&work.start, &work.end, SCAN_PAGE)
            .await
        {
            Ok(regions) => {
                let items = regions
                    .into_iter()
                    .filter_map(|region| {
                        let start = work.start.as_slice().max(region.start.as_slice()).to_vec();
                        let end = min_end(&work.end, &region.end).to_vec();
                        (start < end).then_some(Work {
                            target: work.target,
                            start,
                            end,
                            region: Some(region),
                            attempts: work.attempts,
                        })
                    })
                    .collect();
                Ok(Outcome::Continue {
                    items,
                    pairs: 0,
                    segments: 0,
                    retried: false,
                })
            }
            Err(err) => {
                let what = format!("ScanRegions for table {} {}", target.table_id, target.kind);
                self.backoff(&mut work, &what, err).await?;
                Ok(Outcome::Continue {
                    items: vec![work],
                    pairs: 0,
                    segments: 0,
                    retried: true,
                })
            }
        }
    }

    /// Streams one region's part of the range.
    async fn detect_region(
        &self,
        target: &DetectTarget,
        mut work: Work,
        region: RegionInfo,
    ) -> Result<Outcome, DuplicateError> {
        let mut seg = Segmenter::new(work.start.clone(), self.segment_bytes);
        let (mut pairs, mut segments) = (0u64, 0u64);
        let err = match self
            .stream(target, &region, &work, &mut seg, &mut pairs, &mut segments)
            .await?
        {
            None => {
                self.save(target, seg.finish(work.end.clone())).await?;
                return Ok(Outcome::Done {
                    pairs,
                    segments: segments + 1,
                });
            }
            Some(err) => err,
        };
        let (piece, resume) = seg.interrupt();
        if let Some(piece) = piece {
            self.save(target, piece).await?;
            segments += 1;
        }
        if pairs > 0 || resume > work.start {
            work.attempts.reset();
        }
        if let ClientError::KeyError { message, .. } = &err {
            return Err(DuplicateError::KeyError {
                table_id: target.table_id,
                target: target.kind.to_string(),
                start: HexKey(&resume).to_string(),
                end: HexKey(&work.end).to_string(),
                message: message.clone(),
            });
        }
        let what = format!(
            "DuplicateDetect on region {} for table {} {} from {}",
            region.id(),
            target.table_id,
            target.kind,
            HexKey(&resume)
        );
        work.start = resume;
        work.region = match err.region_error().map(|e| e.action()) {
            // The store named the leader: go there directly.
            Some(RegionAction::SwitchLeader(Some(peer))) => Some(region.with_leader(Some(peer))),
            // Busy or raced: the same region again after the wait.
            Some(RegionAction::Backoff(_)) => Some(region),
            // The region moved, split or merged: re-scan just this rest.
            Some(
                RegionAction::SwitchLeader(None) | RegionAction::Replan(_) | RegionAction::Rescan,
            ) => None,
            // A dropped stream or a timeout: resume on the same region (a
            // changed region answers with a region error next time).
            None if err.is_transient() => Some(region),
            None => None,
        };
        self.backoff(&mut work, &what, err).await?;
        Ok(Outcome::Continue {
            items: vec![work],
            pairs,
            segments,
            retried: true,
        })
    }

    /// Runs the stream; `Ok(None)` at its normal end, `Ok(Some(err))` when
    /// it broke (pairs received so far are in `seg`).
    async fn stream(
        &self,
        target: &DetectTarget,
        region: &RegionInfo,
        work: &Work,
        seg: &mut Segmenter,
        pairs: &mut u64,
        segments: &mut u64,
    ) -> Result<Option<ClientError>, DuplicateError> {
        let peer = match region.target_peer() {
            Ok(peer) => peer,
            Err(err) => return Ok(Some(err)),
        };
        let opened = self
            .cancel
            .run(self.client.duplicate_detect(
                peer.store_id,
                region.context(&peer),
                &work.start,
                &work.end,
                self.min_commit_ts,
                false,
            ))
            .await?;
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(err) => return Ok(Some(err)),
        };
        loop {
            let batch = match self.cancel.run(stream.next()).await? {
                Ok(Some(batch)) => batch,
                Ok(None) => return Ok(None),
                Err(err) => {
                    self.client.report_failure(peer.store_id, &err);
                    return Ok(Some(err));
                }
            };
            for p in batch {
                *pairs += 1;
                let pair = DupPair {
                    key: p.key,
                    value: p.value,
                    commit_ts: p.commit_ts,
                };
                let piece = seg.push(pair).map_err(|reason| ClientError::Protocol {
                    what: "DuplicateDetect",
                    reason,
                });
                match piece {
                    Ok(Some(piece)) => {
                        self.save(target, piece).await?;
                        *segments += 1;
                    }
                    Ok(None) => {}
                    Err(err) => return Ok(Some(err)),
                }
            }
        }
    }

    /// Records a failure and waits, or fails when the attempts are used up.
    async fn backoff(
        &self,
        work: &mut Work,
        what: &str,
        err: ClientError,
    ) -> Result<(), DuplicateError> {
        let Some(delay) = work.attempts.fail(self.retry, err.retry_after()) else {
            tracing::warn!(what, attempts = work.attempts.failures(), error = %err, "giving up");
            return Err(DuplicateError::RetriesExhausted {
                what: what.to_string(),
                attempts: work.attempts.failures(),
                source: err,
            });
        };
        tracing::warn!(what, attempt = work.attempts.failures(), delay_ms = delay.as_millis() as u64, error = %err, "retrying");
        self.cancel.sleep(delay).await
    }

    /// Stores a finished piece before the scan goes on (retrying a store
    /// that is briefly unavailable).
    async fn save(&self, target: &DetectTarget, piece: Piece) -> Result<(), DuplicateError> {
        let record = DetectedSegment::new(target, piece.start, piece.end, piece.pairs);
        let mut attempts = Attempts::default();
        loop {
            match segment::save(self.store, self.job_id, &record, target.kind).await {
                Ok(()) => {
                    squall_common::failpoint::point("detect.segment-saved").await;
                    return Ok(());
                }
                Err(err) if err.is_retryable() => {
                    let Some(delay) = attempts.fail(self.retry, None) else {
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
