//! The largest automatically allocated IDs an engine's rows hold, so the
//! coordinator can move TiDB's allocators past them after the import (else
//! the first INSERT that lets TiDB pick an ID collides with an imported row).

use squall_codec::row_id::ShardIdFormat;
use squall_codec::Datum;
use squall_common::schema::{ColumnInfo, TableInfo};

/// Largest row ID and auto ID seen so far (0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoIdMax {
    /// `_tidb_rowid` (or the counter an integer primary key replaced).
    pub row_id: i64,
    /// AUTO_INCREMENT value, or the auto-ID bits of an AUTO_RANDOM value.
    pub auto_id: i64,
}

impl AutoIdMax {
    /// Notes one encoded row of `table`: its row ID and its (filled-in)
    /// datums.
    pub fn note(&mut self, table: &TableInfo, datums: &[Datum], row_id: i64) {
        self.row_id = self.row_id.max(row_id);
        let range_bits = table.row_ids.auto_random_range_bits.unwrap_or(0);
        for (col, d) in table.columns.iter().zip(datums) {
            if !col.auto_increment && col.auto_random_bits.is_none() {
                continue;
            }
            let v = match *d {
                Datum::Int(v) => v,
                Datum::Uint(u) => i64::try_from(u).unwrap_or(i64::MAX),
                _ => continue,
            };
            let v = match col.auto_random_bits {
                // AUTO_RANDOM keeps shard bits above the auto-ID bits; the
                // allocator's base counts only the latter.
                Some(bits) => v & auto_random_mask(col, bits, range_bits),
                None => v,
            };
            self.auto_id = self.auto_id.max(v);
        }
    }

    pub fn merge(&mut self, other: &AutoIdMax) {
        self.row_id = self.row_id.max(other.row_id);
        self.auto_id = self.auto_id.max(other.auto_id);
    }
}

/// The auto-ID bits of an AUTO_RANDOM(bits, range) value, in the layout
/// the codec gives it (sign bit, shard bits, then the auto ID).
fn auto_random_mask(col: &ColumnInfo, bits: u32, range_bits: u32) -> i64 {
    ShardIdFormat::new(col.field_type.unsigned, bits, range_bits).incremental_mask()
}

#[cfg(test)]
mod tests {
    use super::*;
    use squall_common::schema::{FieldType, MysqlType};

    #[test]
    fn auto_random_counts_only_the_auto_id_bits() {
        let signed = ColumnInfo::new(1, "id", 0, FieldType::new(MysqlType::LongLong));
        assert_eq!(auto_random_mask(&signed, 5, 0), (1i64 << 58) - 1);
        let v = (3i64 << 58) | 42;
        assert_eq!(v & auto_random_mask(&signed, 5, 0), 42);
        // AUTO_RANDOM(3, 32): sign bit and 3 shard bits within 32 bits.
        assert_eq!(auto_random_mask(&signed, 3, 32), (1i64 << 28) - 1);
        assert_eq!(((5i64 << 28) | 9) & auto_random_mask(&signed, 3, 32), 9);
    }

    #[test]
    fn note_keeps_the_largest_values() {
        let int = FieldType::new(MysqlType::LongLong);
        let mut id = ColumnInfo::new(1, "id", 0, int.clone());
        id.auto_increment = true;
        let table = TableInfo {
            id: 1,
            db: "d".into(),
            name: "t".into(),
            columns: vec![id, ColumnInfo::new(2, "v", 1, int)],
            indices: Vec::new(),
            handle: squall_common::schema::HandleKind::RowId,
            charset: None,
            collate: None,
            row_ids: Default::default(),
        };
        let mut m = AutoIdMax::default();
        m.note(&table, &[Datum::Int(900), Datum::Int(5_000)], 3);
        m.note(&table, &[Datum::Int(7), Datum::Null], 4);
        assert_eq!(
            m,
            AutoIdMax {
                row_id: 4,
                auto_id: 900
            }
        );
    }
}
