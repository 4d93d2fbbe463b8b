//! Row format v2 (`rowcodec`): encoder and a borrowed view for decoding.
//!
//! Layout: `0x80`, flags (`0x01` = large), not-null count u16 LE, null count
//! u16 LE, column IDs (not-null ascending, then null ascending; u8 or u32 LE),
//! end offsets of not-null values (u16 or u32 LE), then the values.

use squall_common::schema::FieldType;

use crate::datum::Datum;
use crate::datum_codec::encode_row_value;
use crate::error::{take, CodecError, EncodeError};

pub const CODEC_VER: u8 = 0x80;
const FLAG_LARGE: u8 = 0x01;
const FLAG_CHECKSUM: u8 = 0x02;

/// Reusable row-v2 encoder (keeps its scratch buffers between rows).
#[derive(Debug, Default)]
pub struct RowV2Encoder {
    order: Vec<usize>,
    data: Vec<u8>,
    ends: Vec<usize>,
}

/// One column of a row to encode: ID, value (`Null` = in the null list), type.
pub struct RowColumn<'a> {
    pub id: i64,
    pub datum: &'a Datum,
    pub ft: &'a FieldType,
}

impl RowV2Encoder {
    /// Appends the row-v2 encoding of `cols` to `out`. Column order in
    /// `cols` does not matter; IDs must be distinct.
    pub fn encode(&mut self, cols: &[RowColumn<'_>], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.order.clear();
        self.order.extend(0..cols.len());
        self.order
            .sort_unstable_by_key(|&i| (cols[i].datum.is_null(), cols[i].id));
        let mut large = false;
        for c in cols {
            if c.id < 0 || c.id > i64::from(u32::MAX) {
                return Err(EncodeError::ColumnIdOutOfRange(c.id));
            }
            large |= c.id > 255;
        }
        self.data.clear();
        self.ends.clear();
        let mut not_null = 0usize;
        for &i in &self.order {
            if cols[i].datum.is_null() {
                break;
            }
            encode_row_value(&mut self.data, cols[i].datum, cols[i].ft)?;
            self.ends.push(self.data.len());
            not_null += 1;
        }
        large |= self.data.len() > usize::from(u16::MAX);
        let null = cols.len() - not_null;
        out.reserve(6 + cols.len() * if large { 8 } else { 3 } + self.data.len());
        out.push(CODEC_VER);
        out.push(if large { FLAG_LARGE } else { 0 });
        out.extend_from_slice(&count_u16(not_null)?.to_le_bytes());
        out.extend_from_slice(&count_u16(null)?.to_le_bytes());
        for &i in &self.order {
            let id = cols[i].id as u32;
            if large {
                out.extend_from_slice(&id.to_le_bytes());
            } else {
                out.push(id as u8);
            }
        }
        for &end in &self.ends {
            if large {
                let e = u32::try_from(end).map_err(|_| EncodeError::BadSchema {
                    table: String::new(),
                    reason: "row larger than 4 GiB".into(),
                })?;
                out.extend_from_slice(&e.to_le_bytes());
            } else {
                out.extend_from_slice(&(end as u16).to_le_bytes());
            }
        }
        out.extend_from_slice(&self.data);
        Ok(())
    }
}

fn count_u16(n: usize) -> Result<u16, EncodeError> {
    u16::try_from(n).map_err(|_| EncodeError::BadSchema {
        table: String::new(),
        reason: format!("{n} columns in one row"),
    })
}

/// A parsed row-v2 value, borrowing the bytes.
#[derive(Debug, Clone)]
pub struct RowV2<'a> {
    pub large: bool,
    pub not_null_ids: Vec<u32>,
    pub null_ids: Vec<u32>,
    ends: Vec<usize>,
    data: &'a [u8],
}

/// What a row holds for one column ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<'a> {
    Value(&'a [u8]),
    Null,
    /// Not in the row at all (omitted: handle column, or NULL with NULL default).
    Missing,
}

impl<'a> RowV2<'a> {
    /// Parses the header, IDs and offsets and checks that every offset lies
    /// inside the data. Total on any input.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CodecError> {
        let mut b = bytes;
        let h = take(&mut b, 6, "row v2 header")?;
        if h[0] != CODEC_VER {
            return Err(CodecError::invalid(
                "row v2 value",
                format!("first byte {:#04x} is not 0x80", h[0]),
            ));
        }
        let large = h[1] & FLAG_LARGE != 0;
        let nn = usize::from(u16::from_le_bytes([h[2], h[3]]));
        let nl = usize::from(u16::from_le_bytes([h[4], h[5]]));
        // Both counts are u16, so these products cannot overflow.
        let (id_w, off_w) = if large { (4, 4) } else { (1, 2) };
        let ids = take(&mut b, (nn + nl) * id_w, "row v2 column ids")?;
        let all: Vec<u32> = ids.chunks_exact(id_w).map(read_le).collect();
        let offs = take(&mut b, nn * off_w, "row v2 offsets")?;
        let ends: Vec<usize> = offs
            .chunks_exact(off_w)
            .map(|c| read_le(c) as usize)
            .collect();
        if let Some(i) = ends.windows(2).position(|w| w[0] > w[1]) {
            return Err(CodecError::invalid(
                "row v2 value",
                format!(
                    "offset {} of column #{} is before the previous one ({})",
                    ends[i + 1],
                    i + 1,
                    ends[i]
                ),
            ));
        }
        let data_len = ends.last().copied().unwrap_or(0);
        let data = take(&mut b, data_len, "row v2 data")?;
        if h[1] & FLAG_CHECKSUM == 0 && !b.is_empty() {
            return Err(CodecError::invalid(
                "row v2 value",
                format!("{} bytes after the data", b.len()),
            ));
        }
        let (not_null_ids, null_ids) = all.split_at(nn);
        // Lookups binary-search the IDs: out of order, they would find the
        // wrong column (or none) instead of failing.
        for (ids, which) in [(not_null_ids, "not-null"), (null_ids, "null")] {
            if let Some(w) = ids.windows(2).find(|w| w[0] >= w[1]) {
                return Err(CodecError::invalid(
                    "row v2 value",
                    format!("{which} column IDs not ascending ({} then {})", w[0], w[1]),
                ));
            }
        }
        Ok(Self {
            large,
            not_null_ids: not_null_ids.to_vec(),
            null_ids: null_ids.to_vec(),
            ends,
            data,
        })
    }

    pub fn get(&self, id: i64) -> Slot<'a> {
        let Ok(id) = u32::try_from(id) else {
            return Slot::Missing;
        };
        if let Ok(i) = self.not_null_ids.binary_search(&id) {
            if let Some(v) = self.value_at(i) {
                return Slot::Value(v);
            }
        }
        if self.null_ids.binary_search(&id).is_ok() {
            return Slot::Null;
        }
        Slot::Missing
    }

    /// Bytes of the i-th not-null column (`None` past the last one).
    pub fn value_at(&self, i: usize) -> Option<&'a [u8]> {
        let end = *self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(prev) => *self.ends.get(prev)?,
            None => 0,
        };
        self.data.get(start..end)
    }
}

/// A little-endian u8 or u32 (the two ID widths) or u16 (small offsets).
fn read_le(b: &[u8]) -> u32 {
    b.iter()
        .rev()
        .fold(0u32, |acc, &x| (acc << 8) | u32::from(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::Decimal;
    use crate::json::Json;
    use crate::time::{Duration, Time, TimeKind};
    use squall_common::schema::MysqlType;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
            .collect()
    }

    fn encode(cols: &[(i64, Datum, FieldType)]) -> Vec<u8> {
        let rc: Vec<RowColumn<'_>> = cols
            .iter()
            .map(|(id, d, ft)| RowColumn {
                id: *id,
                datum: d,
                ft,
            })
            .collect();
        let mut out = Vec::new();
        RowV2Encoder::default()
            .encode(&rc, &mut out)
            .expect("encodes");
        out
    }

    fn ty(tp: MysqlType) -> FieldType {
        FieldType::new(tp)
    }

    #[test]
    fn golden_tikv_encode_unsigned() {
        let mut u = ty(MysqlType::LongLong);
        u.unsigned = true;
        let got = encode(&[
            (1, Datum::Uint(u64::MAX), u),
            (2, Datum::Int(-1), ty(MysqlType::LongLong)),
        ]);
        assert_eq!(
            got,
            hex("80 00 02 00 00 00 01 02 08 00 09 00 FF FF FF FF FF FF FF FF FF")
        );
    }

    #[test]
    fn golden_tikv_encode_twelve_columns() {
        let dt = Time {
            year: 2018,
            month: 1,
            day: 19,
            hour: 3,
            minute: 14,
            second: 7,
            micro: 0,
            kind: TimeKind::Datetime,
            fsp: 0,
        };
        let mut dec = ty(MysqlType::NewDecimal);
        dec.flen = 1;
        dec.decimal = 0;
        let mut u = ty(MysqlType::LongLong);
        u.unsigned = true;
        let cols = vec![
            (1, Datum::Int(1000), ty(MysqlType::LongLong)),
            (12, Datum::Int(2), ty(MysqlType::LongLong)),
            (33, Datum::Null, ty(MysqlType::LongLong)),
            (3, Datum::Uint(3), u),
            (8, Datum::Int(32767), ty(MysqlType::LongLong)),
            (7, Datum::Bytes(b"abc".to_vec()), ty(MysqlType::Varchar)),
            (9, Datum::Float(1.8), ty(MysqlType::Double)),
            (6, Datum::Float(-1.8), ty(MysqlType::Double)),
            (13, Datum::Time(dt), ty(MysqlType::Datetime)),
            (14, Datum::Decimal(Decimal::from_i64(1)), dec),
            (
                15,
                Datum::Json(Json::from_text(br#"{"key":"value"}"#).expect("json")),
                ty(MysqlType::Json),
            ),
            (
                16,
                Datum::Duration(Duration {
                    nanos: 1_000_000_000,
                    fsp: 0,
                }),
                ty(MysqlType::Duration),
            ),
        ];
        let want = hex(
            "80 00 0B 00 01 00 01 03 06 07 08 09 0C 0D 0E 0F 10 21 \
             02 00 03 00 0B 00 0E 00 10 00 18 00 19 00 21 00 24 00 41 00 45 00 \
             E8 03 03 40 03 33 33 33 33 33 32 61 62 63 FF 7F BF FC CC CC CC CC CC CD 02 \
             00 00 00 87 33 E6 9E 19 01 00 81 \
             01 01 00 00 00 1C 00 00 00 13 00 00 00 03 00 0C 16 00 00 00 6B 65 79 05 76 61 6C 75 65 \
             00 CA 9A 3B",
        );
        let got = encode(&cols);
        assert_eq!(got, want);
        let row = RowV2::parse(&got).expect("parses");
        for (id, d, ft) in &cols {
            match row.get(*id) {
                Slot::Value(b) => assert_eq!(
                    crate::datum_codec::decode_row_value(b, ft).expect("decodes"),
                    *d,
                    "col {id}"
                ),
                Slot::Null => assert!(d.is_null()),
                Slot::Missing => panic!("column {id} missing"),
            }
        }
        assert_eq!(row.get(2), Slot::Missing);
    }

    #[test]
    fn golden_tikv_encode_big() {
        let i = ty(MysqlType::LongLong);
        let cols = vec![
            (1, Datum::Int(1000), i.clone()),
            (12, Datum::Int(2), i.clone()),
            (335, Datum::Null, i.clone()),
            (3, Datum::Int(3), i.clone()),
            (8, Datum::Int(32767), i),
        ];
        let want = hex(
            "80 01 04 00 01 00 01 00 00 00 03 00 00 00 08 00 00 00 0C 00 00 00 4F 01 00 00 \
             02 00 00 00 03 00 00 00 05 00 00 00 06 00 00 00 E8 03 03 FF 7F 02",
        );
        let got = encode(&cols);
        assert_eq!(got, want);
        let row = RowV2::parse(&got).expect("parses");
        assert!(row.large);
        assert_eq!(row.get(335), Slot::Null);
        assert_eq!(row.get(8), Slot::Value(&[0xFF, 0x7F]));
    }

    #[test]
    fn golden_small_rows_and_empty_row() {
        // Spec §3.6 whole rows.
        let cols = vec![
            (1, Datum::Int(1), ty(MysqlType::Long)),
            (2, Datum::Bytes(b"abc".to_vec()), ty(MysqlType::Varchar)),
            (3, Datum::Null, ty(MysqlType::Long)),
        ];
        assert_eq!(
            encode(&cols),
            hex("80 00 02 00 01 00 01 02 03 01 00 04 00 01 61 62 63")
        );
        assert_eq!(encode(&[]), hex("80 00 00 00 00 00"));
    }

    #[test]
    fn data_over_64k_switches_to_large() {
        let big = Datum::Bytes(vec![b'x'; 70_000]);
        let got = encode(&[(1, big.clone(), ty(MysqlType::Blob))]);
        assert_eq!(got[1], 0x01);
        let row = RowV2::parse(&got).expect("parses");
        assert_eq!(row.get(1), Slot::Value(big.as_bytes().expect("bytes")));
    }

    #[test]
    fn malformed_rows_are_rejected() {
        assert!(RowV2::parse(&[0x80, 0, 1]).is_err());
        assert!(RowV2::parse(&hex("81 00 00 00 00 00")).is_err());
        assert!(RowV2::parse(&hex("80 00 01 00 00 00 01 05 00 61")).is_err());
    }
}
