//! Reading a key range back from TiKV at a timestamp, region by region with
//! `KvScan` pages: what `squall export` is built on. (The post-import
//! checksum does not read data back: TiKV computes it, see `checksum`.)
//! Each page asks PD for the region holding the cursor, so splits, leader
//! moves and region errors are handled by re-routing and retrying (bounded,
//! with backoff, logged by the client's retry helper).

use squall_client::keys::{min_end, next_key};
use squall_client::{retry, ClientError, ImportClient, KvPair};

/// Pairs per `KvScan` request.
pub const SCAN_PAGE: u32 = 1024;

/// A cursor over raw `[start, end)` (`end` empty = +∞) at `ts`.
pub struct RangeScanner {
    client: ImportClient,
    cursor: Option<Vec<u8>>,
    end: Vec<u8>,
    ts: u64,
    page: u32,
}

impl RangeScanner {
    pub fn new(client: &ImportClient, start: Vec<u8>, end: Vec<u8>, ts: u64) -> Self {
        Self {
            client: client.clone(),
            cursor: Some(start),
            end,
            ts,
            page: SCAN_PAGE,
        }
    }

    pub fn with_page(mut self, page: u32) -> Self {
        self.page = page.max(1);
        self
    }

    /// The next page of pairs in key order; `None` when the range is done.
    /// A page may be empty (a region with nothing in the range).
    pub async fn next_page(&mut self) -> Result<Option<Vec<KvPair>>, ClientError> {
        let Some(cursor) = self.cursor.take() else {
            return Ok(None);
        };
        let (end, ts, page) = (self.end.clone(), self.ts, self.page);
        let policy = self.client.options().retry.clone();
        let client = &self.client;
        let (pairs, next) = retry("KvScan page", &policy, || {
            let (cursor, end) = (cursor.clone(), end.clone());
            async move {
                let region = client.pd().get_region(&cursor).await?;
                let stop = min_end(&region.end, &end).to_vec();
                let pairs = client.kv_scan(&region, &cursor, &stop, page, ts).await?;
                let next = match pairs.last() {
                    Some((last, _)) if pairs.len() as u32 >= page => Some(next_key(last)),
                    _ if stop.is_empty() || stop == end => None,
                    _ => Some(stop),
                };
                Ok((pairs, next))
            }
        })
        .await?;
        self.cursor = next;
        Ok(Some(pairs))
    }
}
