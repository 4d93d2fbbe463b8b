//! Generated handles laid out as TiDB lays them out: `SHARD_ROW_ID_BITS`
//! on the implicit `_tidb_rowid`, and `AUTO_RANDOM(s, r)` values.
//!
//! The layout is TiDB's `autoid.ShardIDFormat` (pkg/meta/autoid):
//! `[sign bit][shard bits][incremental bits]`, where the incremental part
//! has `range - shard` bits, one fewer for a signed column, `range` being
//! 64 unless `AUTO_RANDOM(s, r)` gives it; `Compose(shard, id)` is
//! `((shard & (2^s - 1)) << incremental) | id`.
//!
//! Which shard a row gets is the allocator's choice, not part of the data
//! format: TiDB takes it from a hash of the transaction's start ts, and
//! Lightning (pkg/lightning/backend/kv/base.go, `NewBaseKVEncoder`) from Go's
//! `math/rand` seeded with the row ID (`SHARD_ROW_ID_BITS`) or with the
//! chunk's first row ID (`AUTO_RANDOM`). Squall takes it from a SplitMix64
//! hash of the row ID: deterministic (a rerun, and the coordinator's
//! duplicate locator, give every row the same handle), spread evenly over
//! the shards, and, since the incremental part is the row ID itself, unique
//! whatever the shard.

/// TiDB's `autoid.RowIDBitLength`.
const ROW_ID_BIT_LENGTH: u32 = 64;

/// TiDB's `maxShardRowIDBits` / `autoid.MaxAutoRandomBits`.
pub const MAX_SHARD_BITS: u32 = 15;

/// TiDB's `autoid.ShardIDFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardIdFormat {
    pub shard_bits: u32,
    pub incremental_bits: u32,
}

impl ShardIdFormat {
    /// `range_bits` 0 (or `None` upstream) means 64, as in TiDB.
    pub fn new(unsigned: bool, shard_bits: u32, range_bits: u32) -> Self {
        let range = if range_bits == 0 {
            ROW_ID_BIT_LENGTH
        } else {
            range_bits.min(ROW_ID_BIT_LENGTH)
        };
        let shard_bits = shard_bits.min(MAX_SHARD_BITS);
        let sign = u32::from(!unsigned);
        Self {
            shard_bits,
            incremental_bits: range.saturating_sub(shard_bits + sign),
        }
    }

    /// `00..0[11..1]`: the incremental part.
    pub fn incremental_mask(&self) -> i64 {
        if self.incremental_bits >= 64 {
            -1
        } else {
            ((1u64 << self.incremental_bits) - 1) as i64
        }
    }

    /// `((shard & (2^s - 1)) << incremental) | id`.
    pub fn compose(&self, shard: u64, id: i64) -> i64 {
        let mask = (1u64 << self.shard_bits) - 1;
        let shifted = (shard & mask)
            .checked_shl(self.incremental_bits)
            .unwrap_or(0);
        (shifted as i64) | id
    }
}

/// The shard of a row: SplitMix64 of its row ID (see the module comment).
pub fn shard_of(row_id: i64) -> u64 {
    let mut z = (row_id as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `_tidb_rowid` of the `row_id`-th row of a table with
/// `SHARD_ROW_ID_BITS = bits`: shard bits just under the sign bit, the row
/// ID below them (Lightning: `shift = RowIDBitLength - bits - 1`).
pub fn shard_row_id(row_id: i64, bits: u32) -> i64 {
    if bits == 0 {
        return row_id;
    }
    ShardIdFormat::new(false, bits, 0).compose(shard_of(row_id), row_id)
}

/// The row ID under a `SHARD_ROW_ID_BITS = bits` handle (the shard bits
/// cleared), to find the chunk a handle came from.
pub fn unshard_row_id(handle: i64, bits: u32) -> i64 {
    if bits == 0 {
        return handle;
    }
    handle & ShardIdFormat::new(false, bits, 0).incremental_mask()
}

/// The AUTO_RANDOM value TiDB's layout gives the `row_id`-th row:
/// `Compose(shard, row_id)`, the row ID masked to the incremental bits.
pub fn auto_random_value(shard_bits: u32, range_bits: u32, unsigned: bool, row_id: i64) -> i64 {
    let f = ShardIdFormat::new(unsigned, shard_bits, range_bits);
    f.compose(shard_of(row_id), row_id & f.incremental_mask())
}

/// The handles TiDB pre-splits a table's record range at for
/// `PRE_SPLIT_REGIONS = pre` over `shard_bits` shard bits
/// (`preSplitPhysicalTableByShardRowID`): `pre` is capped at the shard
/// bits; `2^pre` regions, cut at every `step = 2^(bits - pre)`-th shard,
/// each cut `p << (64 - bits - 1)`.
pub fn pre_split_handles(shard_bits: u32, pre: u32) -> Vec<i64> {
    let bits = shard_bits.min(MAX_SHARD_BITS);
    let pre = pre.min(bits);
    if bits == 0 || pre == 0 {
        return Vec::new();
    }
    let step = 1i64 << (bits - pre);
    let max = 1i64 << bits;
    let shift = ROW_ID_BIT_LENGTH - bits - 1;
    (1..)
        .map(|i| i * step)
        .take_while(|p| *p < max)
        .map(|p| p << shift)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_id_format_matches_tidb() {
        // Signed BIGINT AUTO_RANDOM(5): 1 sign + 5 shard + 58 incremental.
        let f = ShardIdFormat::new(false, 5, 0);
        assert_eq!(f.incremental_bits, 58);
        assert_eq!(f.incremental_mask(), (1i64 << 58) - 1);
        assert_eq!(f.compose(0b10011, 7), (0b10011i64 << 58) | 7);
        // Unsigned: no sign bit, the shard takes the top bits.
        let u = ShardIdFormat::new(true, 5, 0);
        assert_eq!(u.incremental_bits, 59);
        assert_eq!(u.compose(31, 1) as u64, (31u64 << 59) | 1);
        // AUTO_RANDOM(5, 32) on a signed column: 32 - 5 - 1.
        assert_eq!(ShardIdFormat::new(false, 5, 32).incremental_bits, 26);
        // Shard values wider than the shard bits are masked.
        assert_eq!(f.compose(0xFF, 0), 31i64 << 58);
    }

    #[test]
    fn sharded_row_ids_keep_the_row_id_below_the_shard() {
        for id in 1..1000 {
            let h = shard_row_id(id, 4);
            assert!(h > 0, "sign bit stays clear");
            assert_eq!(h & ((1 << 59) - 1), id);
            assert_eq!((h >> 59) as u64, shard_of(id) & 15);
            assert_eq!(unshard_row_id(h, 4), id);
        }
        assert_eq!(shard_row_id(42, 0), 42);
    }

    #[test]
    fn pre_split_points_follow_tidb_example() {
        // TiDB's own example: SHARD_ROW_ID_BITS = 4, PRE_SPLIT_REGIONS = 2.
        assert_eq!(
            pre_split_handles(4, 2),
            [
                2305843009213693952,
                4611686018427387904,
                6917529027641081856
            ]
        );
        assert_eq!(
            pre_split_handles(4, 9).len(),
            15,
            "capped at the shard bits"
        );
        assert!(pre_split_handles(0, 3).is_empty());
    }
}
