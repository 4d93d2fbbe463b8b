//! TiDB's KEY partition hash (`ForKeyPruning.LocateKeyPartition`): CRC-32
//! (IEEE) over each key column's `Datum.ToHashKey()` — the collation key of
//! the value's text (a string's own bytes under its column's collation, a
//! number's decimal digits) — with a single 0 byte for NULL.

use squall_codec::collation::Collation;
use squall_codec::Datum;
use squall_common::schema::TableInfo;

/// The CRC-32 of a row's key columns (`columns`: offsets).
pub(super) fn key_hash(table: &TableInfo, columns: &[usize], row: &[Datum]) -> Result<u32, String> {
    let mut crc = Crc32::default();
    for &off in columns {
        match &row[off] {
            Datum::Null => crc.update(&[0]),
            Datum::Bytes(b) => {
                let collate = &table.columns[off].field_type.collate;
                let c = Collation::from_name(collate).map_err(|e| e.to_string())?;
                crc.update(&c.key_of(b));
            }
            // Numbers and times hash their text under the default collation
            // (utf8mb4_bin), which only trims trailing spaces they never have.
            Datum::Int(v) => crc.update(v.to_string().as_bytes()),
            Datum::Uint(v) => crc.update(v.to_string().as_bytes()),
            Datum::Decimal(v) => crc.update(v.to_string().as_bytes()),
            Datum::Time(t) => crc.update(t.to_string().as_bytes()),
            other => {
                return Err(format!(
                    "KEY partitioning on a {} column is not supported",
                    squall_codec::datum_codec::describe_datum(other)
                ))
            }
        }
    }
    Ok(crc.finish())
}

/// Bitwise CRC-32/IEEE (polynomial 0xEDB88320), as Go's `crc32.NewIEEE`.
#[derive(Default)]
struct Crc32 {
    state: u32,
}

impl Crc32 {
    fn update(&mut self, bytes: &[u8]) {
        let mut c = !self.state;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        self.state = !c;
    }

    fn finish(&self) -> u32 {
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        // The CRC-32/IEEE check value of "123456789".
        let mut c = Crc32::default();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(c.finish(), 0xCBF4_3926);
    }
}
