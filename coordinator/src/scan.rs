//! Reading a key range back from TiKV at a timestamp, region by region with
//! `KvScan` pages: what `squall export` is built on. (The post-import
//! checksum does not read data back: TiKV computes it, see `checksum`.)
//!
//! The range is walked with `squall_client::RegionWalk`, one region at a
//! time so pages come in key order; splits, leader moves and region errors
//! re-route the rest of a region and retry it (bounded, with backoff,
//! logged by the walk). The walk runs only while the caller asks for the
//! next page, one page ahead at most.

use std::future::Future;
use std::pin::Pin;

use squall_client::keys::next_key;
use squall_client::{ClientError, ImportClient, KvPair, RegionPiece, RegionWalk, Visit, WalkError};
use tokio::sync::mpsc;

/// Pairs per `KvScan` request.
pub const SCAN_PAGE: u32 = 1024;

type Walk = Pin<Box<dyn Future<Output = Result<(), ClientError>> + Send>>;

/// The reader went away: the walk stops.
struct Closed;

/// A cursor over raw `[start, end)` (`end` empty = +∞) at `ts`.
pub struct RangeScanner {
    client: ImportClient,
    range: Option<(Vec<u8>, Vec<u8>)>,
    ts: u64,
    page: u32,
    walk: Option<Walk>,
    pages: Option<mpsc::Receiver<Vec<KvPair>>>,
}

impl RangeScanner {
    pub fn new(client: &ImportClient, start: Vec<u8>, end: Vec<u8>, ts: u64) -> Self {
        Self {
            client: client.clone(),
            range: Some((start, end)),
            ts,
            page: SCAN_PAGE,
            walk: None,
            pages: None,
        }
    }

    pub fn with_page(mut self, page: u32) -> Self {
        self.page = page.max(1);
        self
    }

    /// The next non-empty page of pairs in key order; `None` when the range
    /// is done.
    pub async fn next_page(&mut self) -> Result<Option<Vec<KvPair>>, ClientError> {
        if let Some(range) = self.range.take() {
            self.start(range);
        }
        let Some(pages) = self.pages.as_mut() else {
            return Ok(None);
        };
        let Some(walk) = self.walk.as_mut() else {
            // The walk is over; hand out what it left in the channel.
            return Ok(pages.try_recv().ok());
        };
        let finished = tokio::select! {
            biased;
            Some(page) = pages.recv() => return Ok(Some(page)),
            finished = walk => finished,
        };
        self.walk = None;
        finished?;
        Ok(self.pages.as_mut().and_then(|p| p.try_recv().ok()))
    }

    /// Sets up the walk; it runs inside [`Self::next_page`].
    fn start(&mut self, (start, end): (Vec<u8>, Vec<u8>)) {
        let (tx, rx) = mpsc::channel(1);
        let (client, ts, page) = (self.client.clone(), self.ts, self.page);
        let walk = async move {
            let walked = RegionWalk::new(&client, "KvScan")
                .run(vec![(start, end)], |piece| {
                    scan_piece(&client, &tx, ts, page, piece)
                })
                .await;
            match walked {
                Ok(_) | Err(WalkError::Op(Closed)) => Ok(()),
                Err(WalkError::Piece(failed)) => Err(failed.source),
            }
        };
        self.walk = Some(Box::pin(walk));
        self.pages = Some(rx);
    }
}

/// Sends every pair of one region piece, a page at a time; after a failed
/// page the rest of the piece is walked again from the first pair not sent.
async fn scan_piece(
    client: &ImportClient,
    pages: &mpsc::Sender<Vec<KvPair>>,
    ts: u64,
    page: u32,
    piece: RegionPiece,
) -> Result<Visit<()>, Closed> {
    let mut cursor = piece.start.clone();
    loop {
        let pairs = match client
            .kv_scan(&piece.region, &cursor, &piece.end, page, ts)
            .await
        {
            Ok(pairs) => pairs,
            Err(err) if cursor == piece.start => return Ok(Visit::Failed(err)),
            Err(err) => {
                return Ok(Visit::Partial {
                    value: (),
                    resume: cursor,
                    failure: Some(err),
                })
            }
        };
        let next = match pairs.last() {
            Some((last, _)) if pairs.len() as u32 >= page => Some(next_key(last)),
            _ => None,
        };
        if !pairs.is_empty() {
            pages.send(pairs).await.map_err(|_| Closed)?;
        }
        match next {
            Some(next) => cursor = next,
            None => return Ok(Visit::Done(())),
        }
    }
}
