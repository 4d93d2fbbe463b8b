//! The table checksum computed inside TiKV, as TiDB Lightning's
//! `TiKVChecksumManager` gets it: for each physical table (the table, or
//! each partition) its record range and each written index's range are cut
//! at the region boundaries PD reports, and each piece's leader answers a
//! coprocessor checksum request (crc64-xor over key ‖ value, pair count,
//! bytes) at one snapshot ts. Only those three numbers per piece cross the
//! network; the XOR and sums merge the pieces in any order into what the
//! encoders computed locally (Lightning's `KVChecksum` over the logical
//! TiDB key and the value).
//!
//! Up to `tidb.distsql-scan-concurrency` pieces are in flight (the knob
//! Lightning's checksum uses); region errors re-route or re-cut a piece from
//! PD and retry it with backoff ([`walk_regions`]).

use squall_client::{walk_regions, ClientError, ImportClient, RegionPiece};
use squall_codec::key::{table_index_range, table_record_range, INDEX_SEP, TABLE_PREFIX};
use squall_codec::KvChecksum;
use squall_common::checkpoint::TableCheckpoint;
use squall_proto::tipb::ChecksumScanOn;

/// The checksum of everything TiKV holds at `ts` in `table`'s record and
/// written-index ranges, over every physical ID, `concurrency` region
/// pieces at a time.
pub async fn remote_checksum(
    client: &ImportClient,
    table: &TableCheckpoint,
    ts: u64,
    concurrency: usize,
) -> Result<KvChecksum, ClientError> {
    let ranges = checksum_ranges(table);
    let pieces = walk_regions(
        client,
        "Coprocessor checksum",
        ranges,
        concurrency,
        |piece| piece_checksum(client, piece, ts),
    )
    .await?;
    let mut sum = KvChecksum::default();
    for piece in &pieces {
        sum.merge(piece);
    }
    Ok(sum)
}

/// Every physical table's record range, then its written indexes' ranges
/// (a clustered primary key writes no index KVs: it is the record key).
fn checksum_ranges(table: &TableCheckpoint) -> Vec<(Vec<u8>, Vec<u8>)> {
    let indexes: Vec<i64> = table.table.written_indices().map(|ix| ix.id).collect();
    let mut ranges = Vec::new();
    for id in table.physical_ids() {
        ranges.push(table_record_range(id));
        ranges.extend(indexes.iter().map(|&ix| table_index_range(id, ix)));
    }
    ranges
}

async fn piece_checksum(
    client: &ImportClient,
    piece: RegionPiece,
    ts: u64,
) -> Result<KvChecksum, ClientError> {
    let scan_on = scan_on(&piece.start);
    let range = [(piece.start, piece.end)];
    let sum = client.checksum(&piece.region, &range, scan_on, ts).await?;
    squall_common::failpoint::point("checksum.piece-done").await;
    Ok(sum)
}

/// Index or record, from the piece's start key (`t{id}_i…` or `t{id}_r…`):
/// a piece starts inside the range it was cut from.
fn scan_on(start: &[u8]) -> ChecksumScanOn {
    const SEP_AT: usize = 1 + 8;
    let is_index = start.first() == Some(&TABLE_PREFIX)
        && start.get(SEP_AT..SEP_AT + INDEX_SEP.len()) == Some(INDEX_SEP);
    match is_index {
        true => ChecksumScanOn::Index,
        false => ChecksumScanOn::Table,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use squall_codec::handle::Handle;
    use squall_codec::key::record_key;

    #[test]
    fn pieces_say_whether_they_scan_records_or_an_index() {
        let (index_start, index_end) = table_index_range(45, 2);
        assert_eq!(scan_on(&index_start), ChecksumScanOn::Index);
        assert_eq!(scan_on(&index_end), ChecksumScanOn::Index);
        assert_eq!(
            scan_on(&record_key(45, &Handle::Int(7))),
            ChecksumScanOn::Table
        );
        assert_eq!(scan_on(&table_record_range(45).0), ChecksumScanOn::Table);
    }
}
