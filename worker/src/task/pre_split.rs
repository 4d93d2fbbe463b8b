//! `PRE_SPLIT_REGIONS = n`: before a table's rows are encoded, its record
//! range is split into `2^n` regions at shard boundaries, as TiDB does when
//! it creates such a table (`preSplitPhysicalTableByShardRowID`), so the
//! sharded row IDs (or AUTO_RANDOM values) land in regions of their own
//! from the first ingest on. Every engine task of the table asks for the
//! same keys; keys that already are region boundaries are not split again.
//! A hint only: a failed split is logged and the import goes on (TiKV
//! splits big regions by itself).

use squall_codec::{record_key, row_id::pre_split_handles, Handle};
use squall_common::schema::TableInfo;

use super::context::WorkerContext;
use crate::ingest::{pre_split, IngestConfig};

/// The raw keys TiDB would pre-split `table` at, for each physical table.
pub(crate) fn split_keys(table: &TableInfo, physical_ids: &[i64]) -> Vec<Vec<u8>> {
    let shard_bits = match table.row_ids.shard_row_id_bits {
        0 => table
            .columns
            .iter()
            .find_map(|c| c.auto_random_bits)
            .unwrap_or(0),
        n => n,
    };
    let handles = pre_split_handles(shard_bits, table.row_ids.pre_split_regions);
    physical_ids
        .iter()
        .flat_map(|&id| {
            handles
                .iter()
                .map(move |&h| record_key(id, &Handle::Int(h)))
        })
        .collect()
}

/// Pre-splits the table's regions when it asks for it (best effort).
pub(crate) async fn run(cx: &WorkerContext, table: &TableInfo, physical_ids: &[i64]) {
    let keys = split_keys(table, physical_ids);
    if keys.is_empty() {
        return;
    }
    let cfg = IngestConfig::from_task(&cx.cfg);
    let n = keys.len();
    match pre_split(&cx.client, &cfg, keys).await {
        Ok(()) => {
            tracing::info!(table = %table.qualified_name(), keys = n, "pre-split the record range (PRE_SPLIT_REGIONS)")
        }
        Err(err) => {
            tracing::warn!(table = %table.qualified_name(), error = %err, "PRE_SPLIT_REGIONS: pre-split failed; importing without it")
        }
    }
}

#[cfg(test)]
mod tests {
    use squall_common::schema::RowIdSharding;

    use super::*;

    fn table(shard: u32, pre: u32) -> TableInfo {
        let mut t: TableInfo = serde_json::from_str(
            r#"{"id":7,"db":"d","name":"t","columns":[],"indices":[],"handle":"RowId","charset":null,"collate":null}"#,
        )
        .expect("table json");
        t.row_ids = RowIdSharding {
            shard_row_id_bits: shard,
            pre_split_regions: pre,
            auto_random_range_bits: None,
        };
        t
    }

    #[test]
    fn keys_at_shard_boundaries_per_partition() {
        // SHARD_ROW_ID_BITS = 4, PRE_SPLIT_REGIONS = 2: handles 4<<59, 8<<59,
        // 12<<59 (TiDB's example), as record keys t{id}_r{handle}.
        let keys = split_keys(&table(4, 2), &[7, 8]);
        assert_eq!(keys.len(), 6);
        let mut want = b"t\x80\x00\x00\x00\x00\x00\x00\x07_r".to_vec();
        want.extend_from_slice(&(0x2000_0000_0000_0000u64 ^ (1 << 63)).to_be_bytes());
        assert_eq!(keys[0], want);
        assert!(split_keys(&table(4, 0), &[7]).is_empty());
        assert!(split_keys(&table(0, 2), &[7]).is_empty());
    }
}
