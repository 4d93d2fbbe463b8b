//! The region walker, the one loop in Squall that runs a region-scoped call
//! over key ranges: it cuts each raw range at the region boundaries PD
//! reports (pieces clamped to the range), calls the caller's `op` on each
//! piece, `concurrency` at a time, and follows failures the way every
//! region RPC must ([`next::after_failure`]):
//!
//! * NotLeader with a hint: send the piece to the new leader at once;
//! * EpochNotMatch whose current regions cover the piece: re-cut it over
//!   them at once (the old leader's store most likely leads them);
//! * ServerIsBusy, StaleCommand, a Write "ahead of local region": wait and
//!   send the piece to the same region again;
//! * anything else: wait, then re-cut the piece from PD (the region split,
//!   merged or moved, or its store is down).
//!
//! A call may finish only part of its piece ([`Visit::Partial`]: a stream
//! cap, a broken stream after checkpointed progress); only the rest is
//! walked again. Failures of a piece are bounded by the [`RetryPolicy`]: the
//! pieces a range is re-cut into inherit its failure count (a range cannot
//! retry forever by splitting), and progress resets it. Work is taken in
//! key order, the rest of a piece before anything after it, so with
//! `concurrency` 1 the calls run in key order.

mod next;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::StreamExt as _;

use crate::error::ClientError;
use crate::keys::{min_end, HexKey};
use crate::pd::SCAN_PAGE;
use crate::region::RegionInfo;
use crate::retry::{Backoff, RetryPolicy};
use crate::store::ImportClient;

use next::Next;

/// Raw `[start, end)` inside `region`, cut from input range number `range`
/// (`end` empty only for the last region when the range is unbounded).
#[derive(Debug, Clone)]
pub struct RegionPiece {
    pub range: usize,
    pub region: RegionInfo,
    pub start: Vec<u8>,
    pub end: Vec<u8>,
}

/// How one call on a piece ended.
#[derive(Debug)]
pub enum Visit<T> {
    /// Every key of the piece is done.
    Done(T),
    /// Keys before `resume` are done (`value` says what that did) and the
    /// call made progress; the rest is still to do. `failure` is why the
    /// call stopped: it is handled like [`Visit::Failed`] for the rest. With
    /// `None` (it stopped on purpose, e.g. at a stream cap) the rest is
    /// re-cut from PD at once.
    Partial {
        value: T,
        resume: Vec<u8>,
        failure: Option<ClientError>,
    },
    /// Nothing is known to be done.
    Failed(ClientError),
}

/// What a finished walk returns: the value of every finished call, in no
/// particular order, and how many failures were retried.
#[derive(Debug)]
pub struct Walked<T> {
    pub values: Vec<T>,
    pub retries: u64,
}

/// Why a walk stopped.
#[derive(Debug)]
pub enum WalkError<E> {
    /// A piece failed with an error not worth retrying, or ran out of
    /// attempts.
    Piece(Box<PieceFailed>),
    /// The call itself ended the walk (a failure no retry can fix).
    Op(E),
}

/// The piece a walk gave up on.
#[derive(Debug)]
pub struct PieceFailed {
    /// Index of the input range it was cut from.
    pub range: usize,
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    /// Failed attempts, the last one included.
    pub attempts: u32,
    pub source: ClientError,
}

/// A walk's settings; [`RegionWalk::run`] walks.
pub struct RegionWalk<'a> {
    client: &'a ImportClient,
    what: &'static str,
    concurrency: usize,
    policy: RetryPolicy,
    retry_if: fn(&ClientError) -> bool,
    scan_page: i32,
}

/// A range still to do, pinned to a region once PD was asked.
struct Work {
    range: usize,
    start: Vec<u8>,
    end: Vec<u8>,
    region: Option<RegionInfo>,
    backoff: Backoff,
    delay: Option<Duration>,
}

impl Work {
    fn is_empty(&self) -> bool {
        !self.end.is_empty() && self.start >= self.end
    }
}

/// What one move on one work item produced.
struct Step<T> {
    value: Option<T>,
    again: Vec<Work>,
    retried: bool,
}

impl<'a> RegionWalk<'a> {
    /// A walk named `what` in log lines: one piece at a time, the client's
    /// retry policy, retrying what [`ClientError::retryable`] allows.
    pub fn new(client: &'a ImportClient, what: &'static str) -> Self {
        Self {
            client,
            what,
            concurrency: 1,
            policy: client.options().retry.clone(),
            retry_if: ClientError::retryable,
            scan_page: SCAN_PAGE,
        }
    }

    /// Pieces in flight at once (at least one).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Waits between failures of a piece, and how many fail it.
    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Which failures are worth another attempt. Writes retry every client
    /// error (a rejection TiKV words differently is still worth a re-scan).
    pub fn retry_if(mut self, retry_if: fn(&ClientError) -> bool) -> Self {
        self.retry_if = retry_if;
        self
    }

    /// Regions per ScanRegions page.
    pub fn scan_page(mut self, scan_page: i32) -> Self {
        self.scan_page = scan_page.max(1);
        self
    }

    /// Calls `op` on every region piece of `ranges` (raw, `end` empty = +∞)
    /// until every key is done, a piece fails for good, or `op` fails.
    pub async fn run<T, E, F, Fut>(
        self,
        ranges: Vec<(Vec<u8>, Vec<u8>)>,
        op: F,
    ) -> Result<Walked<T>, WalkError<E>>
    where
        F: Fn(RegionPiece) -> Fut,
        Fut: Future<Output = Result<Visit<T>, E>>,
    {
        let mut queue: VecDeque<Work> = ranges
            .into_iter()
            .enumerate()
            .map(|(range, (start, end))| Work {
                range,
                start,
                end,
                region: None,
                backoff: self.policy.start(),
                delay: None,
            })
            .filter(|w| !w.is_empty())
            .collect();
        let mut walked = Walked {
            values: Vec::new(),
            retries: 0,
        };
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < self.concurrency {
                let Some(work) = queue.pop_front() else { break };
                running.push(self.step(work, &op));
            }
            let Some(step) = running.next().await else {
                return Ok(walked);
            };
            let step = step?;
            walked.values.extend(step.value);
            walked.retries += u64::from(step.retried);
            for work in step.again.into_iter().rev() {
                queue.push_front(work);
            }
        }
    }

    /// One move on one work item: cut it at region boundaries, or call `op`
    /// on its piece and decide what a failure means.
    async fn step<T, E, F, Fut>(&self, mut work: Work, op: &F) -> Result<Step<T>, WalkError<E>>
    where
        F: Fn(RegionPiece) -> Fut,
        Fut: Future<Output = Result<Visit<T>, E>>,
    {
        if let Some(delay) = work.delay.take() {
            tokio::time::sleep(delay).await;
        }
        let Some(region) = work.region.take() else {
            let pd = self.client.pd();
            return match pd
                .scan_regions(&work.start, &work.end, self.scan_page)
                .await
            {
                Ok(regions) => Ok(Step::again(cut(work, regions))),
                Err(err) => self.failed(work, None, err),
            };
        };
        let piece = RegionPiece {
            range: work.range,
            region: region.clone(),
            start: work.start.clone(),
            end: work.end.clone(),
        };
        match op(piece).await.map_err(WalkError::Op)? {
            Visit::Done(value) => Ok(Step::done(value)),
            Visit::Failed(err) => self.failed(work, Some(region), err),
            Visit::Partial {
                value,
                resume,
                failure,
            } => {
                work.backoff.reset();
                work.start = resume;
                let mut step = match failure {
                    _ if work.is_empty() => Step::again(Vec::new()),
                    None => Step::again(vec![work]),
                    Some(err) => self.failed(work, Some(region), err)?,
                };
                step.value = Some(value);
                Ok(step)
            }
        }
    }

    /// The item again after `err` on `region` (`None`: while asking PD),
    /// or the error when it is final or the attempts are used up.
    fn failed<T, E>(
        &self,
        mut work: Work,
        region: Option<RegionInfo>,
        err: ClientError,
    ) -> Result<Step<T>, WalkError<E>> {
        let what = self.what;
        let (start, end) = (HexKey(&work.start), HexKey(&work.end));
        if !(self.retry_if)(&err) {
            tracing::warn!(what, %start, %end, error = %err, "region piece failed; not retrying");
            let attempts = work.backoff.failures() + 1;
            return Err(give_up(work, attempts, err));
        }
        let Some(delay) = work.backoff.next_delay(err.retry_after()) else {
            tracing::warn!(what, attempts = work.backoff.failures(), %start, %end, error = %err, "giving up on region piece");
            let attempts = work.backoff.failures();
            return Err(give_up(work, attempts, err));
        };
        let next = match region {
            Some(region) => next::after_failure(&err, region, &work.start, &work.end),
            None => Next::Rescan,
        };
        crate::observe::retried(&err);
        tracing::warn!(
            what,
            attempt = work.backoff.failures(),
            delay_ms = delay.as_millis() as u64,
            %start,
            %end,
            next = next.describe(),
            error = %err,
            "retrying region piece"
        );
        let again = match next {
            Next::Leader(region) => {
                work.region = Some(region);
                vec![work]
            }
            Next::Same(region) => {
                work.region = Some(region);
                work.delay = Some(delay);
                vec![work]
            }
            Next::Replan(regions) => cut(work, regions),
            Next::Rescan => {
                work.delay = Some(delay);
                vec![work]
            }
        };
        Ok(Step {
            value: None,
            again,
            retried: true,
        })
    }
}

impl<T> Step<T> {
    fn done(value: T) -> Self {
        Self {
            value: Some(value),
            again: Vec::new(),
            retried: false,
        }
    }

    fn again(again: Vec<Work>) -> Self {
        Self {
            value: None,
            again,
            retried: false,
        }
    }
}

fn give_up<E>(work: Work, attempts: u32, source: ClientError) -> WalkError<E> {
    WalkError::Piece(Box::new(PieceFailed {
        range: work.range,
        start: work.start,
        end: work.end,
        attempts,
        source,
    }))
}

/// One item per region, bounds clamped to the item's range, each carrying
/// the item's failure count.
fn cut(work: Work, regions: Vec<RegionInfo>) -> Vec<Work> {
    regions
        .into_iter()
        .map(|region| Work {
            range: work.range,
            start: work.start.as_slice().max(region.start.as_slice()).to_vec(),
            end: min_end(&work.end, &region.end).to_vec(),
            region: Some(region),
            backoff: work.backoff.clone(),
            delay: None,
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// [`RegionWalk`] for the common case: `op` either finishes its piece or
/// fails it as a whole; the walk's values in no particular order, or the
/// error of the piece it gave up on.
pub async fn walk_regions<T, F, Fut>(
    client: &ImportClient,
    what: &'static str,
    ranges: Vec<(Vec<u8>, Vec<u8>)>,
    concurrency: usize,
    op: F,
) -> Result<Vec<T>, ClientError>
where
    F: Fn(RegionPiece) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let walk = RegionWalk::new(client, what).concurrency(concurrency);
    let visit = |piece| {
        let call = op(piece);
        async move {
            Ok::<_, Infallible>(match call.await {
                Ok(value) => Visit::Done(value),
                Err(err) => Visit::Failed(err),
            })
        }
    };
    match walk.run(ranges, visit).await {
        Ok(walked) => Ok(walked.values),
        Err(WalkError::Piece(failed)) => Err(failed.source),
        Err(WalkError::Op(never)) => match never {},
    }
}
