//! The table checksum computed from TiKV: every record and index KV of the
//! table's physical IDs at a timestamp after the imports, summed with the
//! same crc64-xor / count / bytes the encoders used (Lightning's
//! `KVChecksum` over the logical TiDB key and the value), so it can be
//! compared with the merged engine results.
//!
//! The table's key range is cut at the region boundaries PD reports and the
//! pieces are scanned in parallel (`tidb.distsql-scan-concurrency`, as
//! Lightning's checksum uses); the checksum is an XOR and sums, so the
//! pieces merge in any order. A piece whose region splits or moves while it
//! is scanned is still read completely: [`RangeScanner`] re-routes each page.

use futures::{stream, StreamExt, TryStreamExt};
use squall_client::keys::min_end;
use squall_client::{ClientError, ImportClient};
use squall_codec::key::table_range;
use squall_codec::KvChecksum;
use squall_common::checkpoint::ChecksumRecord;

use crate::scan::RangeScanner;

/// Regions fetched from PD per ScanRegions call when planning the pieces.
const REGION_PAGE: i32 = 128;

/// The checksum of everything TiKV holds for `physical_ids` at `ts`,
/// scanning up to `concurrency` regions at once.
pub async fn remote_checksum(
    client: &ImportClient,
    physical_ids: &[i64],
    ts: u64,
    concurrency: usize,
) -> Result<ChecksumRecord, ClientError> {
    let mut pieces = Vec::new();
    for &id in physical_ids {
        let (start, end) = table_range(id);
        pieces.extend(region_pieces(client, start, end).await?);
    }
    let sum = stream::iter(pieces)
        .map(|(start, end)| piece_checksum(client, start, end, ts))
        .buffer_unordered(concurrency.max(1))
        .try_fold(KvChecksum::default(), |mut acc, piece| async move {
            acc.merge(&piece);
            Ok(acc)
        })
        .await?;
    Ok(ChecksumRecord {
        crc: sum.crc,
        kvs: sum.kvs,
        bytes: sum.bytes,
    })
}

/// `[start, end)` cut at the boundaries of the regions overlapping it.
async fn region_pieces(
    client: &ImportClient,
    start: Vec<u8>,
    end: Vec<u8>,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>, ClientError> {
    let regions = client.pd().scan_regions(&start, &end, REGION_PAGE).await?;
    let mut pieces = Vec::with_capacity(regions.len());
    let mut cursor = start;
    for region in regions {
        // ScanRegions is checked continuous, so each region ends past `cursor`.
        let stop = min_end(&region.end, &end).to_vec();
        pieces.push((cursor, stop.clone()));
        if stop.is_empty() || stop == end {
            break;
        }
        cursor = stop;
    }
    Ok(pieces)
}

async fn piece_checksum(
    client: &ImportClient,
    start: Vec<u8>,
    end: Vec<u8>,
    ts: u64,
) -> Result<KvChecksum, ClientError> {
    let mut sum = KvChecksum::default();
    let mut scanner = RangeScanner::new(client, start, end, ts);
    while let Some(page) = scanner.next_page().await? {
        for (key, value) in &page {
            sum.update(key, value);
        }
    }
    Ok(sum)
}
