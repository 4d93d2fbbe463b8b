//! The table checksum computed from TiKV: every record and index KV of the
//! table's physical IDs at a timestamp after the imports, summed with the
//! same crc64-xor / count / bytes the encoders used (Lightning's
//! `KVChecksum` over the logical TiDB key and the value), so it can be
//! compared with the merged engine results.

use squall_client::{ClientError, ImportClient};
use squall_codec::key::table_range;
use squall_codec::KvChecksum;
use squall_common::checkpoint::ChecksumRecord;

use crate::scan::RangeScanner;

/// The checksum of everything TiKV holds for `physical_ids` at `ts`.
pub async fn remote_checksum(
    client: &ImportClient,
    physical_ids: &[i64],
    ts: u64,
) -> Result<ChecksumRecord, ClientError> {
    let mut sum = KvChecksum::default();
    for &id in physical_ids {
        let (start, end) = table_range(id);
        let mut scanner = RangeScanner::new(client, start, end, ts);
        while let Some(page) = scanner.next_page().await? {
            for (key, value) in &page {
                sum.update(key, value);
            }
        }
    }
    Ok(ChecksumRecord {
        crc: sum.crc,
        kvs: sum.kvs,
        bytes: sum.bytes,
    })
}
