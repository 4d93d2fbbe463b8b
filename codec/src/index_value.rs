//! Index values in the formats TiDB writes (`GenIndexValuePortal`):
//! the old 8-byte handle / `'0'` form, version 0 "new encoding" (when restored
//! data is stored), and the clustered-index version 1 form `00 7D 01 …`.

use squall_common::schema::{HandleKind, IndexInfo, TableInfo};

use crate::datum::Datum;
use crate::datum_codec::decode_key_datum;
use crate::error::{take, CodecError};
use crate::handle::Handle;
use crate::number::decode_int;

/// `'0'`: the value of a non-unique index entry in the old format.
pub const NON_UNIQUE_VALUE: u8 = b'0';
pub const INDEX_VERSION_FLAG: u8 = 0x7D;
pub const PARTITION_ID_FLAG: u8 = 0x7E;
pub const COMMON_HANDLE_FLAG: u8 = 0x7F;
pub const RESTORE_DATA_FLAG: u8 = 0x80;
/// Old-format values are never longer than this, which tells them apart.
pub const MAX_OLD_ENCODE_VALUE_LEN: usize = 9;
const MIN_NEW_ENCODE_LEN: usize = 10;

/// Appends `7F`, the handle length (u16 BE) and the handle bytes.
fn append_common_handle(out: &mut Vec<u8>, encoded: &[u8]) {
    out.push(COMMON_HANDLE_FLAG);
    out.extend_from_slice(&(encoded.len() as u16).to_be_bytes());
    out.extend_from_slice(encoded);
}

/// Version-0 value for tables whose handle is `_tidb_rowid` or an int PK
/// (`genIndexValueVersion0`). `restored` is the row-v2 restored data, if the
/// index needs it. `distinct` = unique index with no NULL value.
pub fn encode_index_value_v0(
    out: &mut Vec<u8>,
    distinct: bool,
    handle: &Handle,
    restored: Option<&[u8]>,
) {
    let common = matches!(handle, Handle::Common(_));
    let new_encode = (common && distinct) || restored.is_some();
    if !new_encode {
        match handle {
            Handle::Int(h) if distinct => out.extend_from_slice(&(*h as u64).to_be_bytes()),
            _ => out.push(NON_UNIQUE_VALUE),
        }
        return;
    }
    let start = out.len();
    out.push(0);
    if let (true, Handle::Common(b)) = (distinct, handle) {
        append_common_handle(out, b);
    }
    if let Some(r) = restored {
        out.extend_from_slice(r);
    }
    let tail_len = match handle {
        Handle::Int(h) if distinct => {
            out.extend_from_slice(&(*h as u64).to_be_bytes());
            8
        }
        _ => {
            let pad = MIN_NEW_ENCODE_LEN.saturating_sub(out.len() - start);
            out.resize(out.len() + pad, 0);
            pad
        }
    };
    out[start] = tail_len as u8;
}

/// Clustered-index version 1 value (`GenIndexValueForClusteredIndexVersion1`):
/// `00 7D 01`, then `7F len handle` if distinct, then restored data.
pub fn encode_index_value_clustered_v1(
    out: &mut Vec<u8>,
    distinct: bool,
    handle: &Handle,
    restored: Option<&[u8]>,
) {
    out.extend_from_slice(&[0, INDEX_VERSION_FLAG, 1]);
    if distinct {
        append_common_handle(out, &handle.encoded());
    }
    if let Some(r) = restored {
        out.extend_from_slice(r);
    }
}

/// The parts of an index value (TiDB `SplitIndexValue`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexValueParts<'a> {
    pub int_handle: Option<i64>,
    pub common_handle: Option<&'a [u8]>,
    pub partition_id: Option<i64>,
    pub restored: Option<&'a [u8]>,
    pub version: u8,
    /// TiDB's "untouched" marker (`'1'`) was present.
    pub untouched: bool,
}

/// Splits an index value into its parts. Total on any input: values from
/// TiKV are outside the process, so every length is checked before use.
pub fn split_index_value(value: &[u8]) -> Result<IndexValueParts<'_>, CodecError> {
    if value.len() <= MAX_OLD_ENCODE_VALUE_LEN && !is_v1(value) {
        return split_old_value(value);
    }
    let Some((&tail_len, after)) = value.split_first() else {
        return Err(CodecError::invalid("index value", "empty"));
    };
    let tail_len = usize::from(tail_len);
    let body_len = after.len().checked_sub(tail_len).ok_or_else(|| {
        CodecError::invalid(
            "index value",
            format!(
                "tail length {tail_len} (byte 0) exceeds the {} bytes after it",
                after.len()
            ),
        )
    })?;
    let (mut rest, tail) = after.split_at(body_len);
    let mut p = IndexValueParts::default();
    if is_v1(value) {
        // Bytes 1 and 2 are `7D` and the version; the tail must not overlap them.
        let header = take(&mut rest, 2, "index value version header (before the tail)")?;
        p.version = header[1];
        p.untouched = tail == [b'1'];
    } else if let Some(h) = tail.get(..8) {
        p.int_handle = Some(be_i64(h));
    }
    if let Some((&COMMON_HANDLE_FLAG, r)) = rest.split_first() {
        rest = r;
        let h = take(&mut rest, 2, "index value common handle length")?;
        let n = usize::from(u16::from_be_bytes([h[0], h[1]]));
        p.common_handle = Some(take(&mut rest, n, "index value common handle")?);
    }
    if let Some((&PARTITION_ID_FLAG, r)) = rest.split_first() {
        rest = r;
        p.partition_id = Some(decode_int(&mut rest)?);
    }
    if rest.first() == Some(&RESTORE_DATA_FLAG) {
        p.restored = Some(rest);
    }
    Ok(p)
}

/// Old format (at most 9 bytes): `'0'`, or the 8-byte handle, optionally
/// followed by the untouched flag `'1'`.
fn split_old_value(value: &[u8]) -> Result<IndexValueParts<'_>, CodecError> {
    if value.is_empty() {
        return Err(CodecError::invalid("index value", "empty"));
    }
    let mut p = IndexValueParts::default();
    if let Some(h) = value.get(..8) {
        p.int_handle = Some(be_i64(h));
        p.untouched = value.get(8..) == Some(b"1".as_slice());
    }
    Ok(p)
}

/// A raw big-endian i64 (no sign flip) from the first 8 bytes of `b`;
/// callers pass exactly 8.
fn be_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    for (dst, src) in a.iter_mut().zip(b) {
        *dst = *src;
    }
    i64::from_be_bytes(a)
}

/// A version-1 value: `00 7D 01` (with `7F len handle`, restored data or
/// `'1'` after it). TiDB's `getIndexVersion` reads every value of at most 9
/// bytes as old format; an 8- or 9-byte value is therefore always an int
/// handle, even one whose bytes start `01 7D` (row id 0x017D_0000_0000_0000).
/// Shorter ones (`00 7D 01`, a non-unique clustered entry) cannot be an int
/// handle and are read as version 1, which TiDB never needs for them.
fn is_v1(value: &[u8]) -> bool {
    !matches!(value.len(), 8 | 9)
        && value.len() >= 3
        && value[0] <= 1
        && value[1] == INDEX_VERSION_FLAG
}

/// The handle stored in a unique index entry's value. Non-distinct entries
/// keep the handle in the key instead: for them this is an error.
pub fn decode_handle_from_index_value(value: &[u8]) -> Result<Handle, CodecError> {
    let p = split_index_value(value)?;
    if let Some(h) = p.int_handle {
        return Ok(Handle::Int(h));
    }
    if let Some(c) = p.common_handle {
        return Ok(Handle::Common(c.to_vec()));
    }
    Err(CodecError::invalid(
        "unique index value",
        "holds no handle (non-unique entry: the handle is in the key)",
    ))
}

/// The handle of an index entry, from the value (unique entries) or from
/// the end of the key (non-unique entries, and unique ones holding a NULL).
pub fn decode_index_handle(
    key: &[u8],
    value: &[u8],
    table: &TableInfo,
    index: &IndexInfo,
) -> Result<Handle, CodecError> {
    if let Ok(h) = decode_handle_from_index_value(value) {
        return Ok(h);
    }
    let mut rest = key
        .get(19..)
        .ok_or_else(|| CodecError::invalid("index key", "shorter than its prefix"))?;
    for _ in &index.columns {
        decode_key_datum(&mut rest)?;
    }
    match table.handle {
        HandleKind::Common => Ok(Handle::Common(rest.to_vec())),
        _ => match decode_key_datum(&mut rest)? {
            Datum::Int(h) => Ok(Handle::Int(h)),
            other => Err(CodecError::invalid(
                "index key",
                format!("handle datum {other:?} is not an int"),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
            .collect()
    }

    #[test]
    fn int_handles_that_look_like_a_version_header_are_old_values() {
        for h in [0x017D_0000_0000_0000_i64, 0x007D_0100_0000_0001] {
            let v = v0(true, h, None);
            assert_eq!(v.len(), 8);
            assert_eq!(
                decode_handle_from_index_value(&v).ok(),
                Some(Handle::Int(h))
            );
        }
    }

    fn v0(distinct: bool, h: i64, restored: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        encode_index_value_v0(&mut out, distinct, &Handle::Int(h), restored);
        out
    }

    #[test]
    fn golden_old_format_values() {
        // Spec §3.2.
        assert_eq!(v0(false, 9, None), [0x30]);
        assert_eq!(v0(true, 9, None), hex("00 00 00 00 00 00 00 09"));
        assert_eq!(v0(true, -1, None), hex("FF FF FF FF FF FF FF FF"));
        assert_eq!(v0(true, 70, None), hex("00 00 00 00 00 00 00 46"));
        assert_eq!(
            decode_handle_from_index_value(&v0(true, -1, None)).expect("handle"),
            Handle::Int(-1)
        );
        assert!(decode_handle_from_index_value(&[0x30]).is_err());
    }

    #[test]
    fn golden_new_collation_values() {
        // Spec §3.7.
        let restored = hex("80 00 01 00 00 00 02 01 00 41");
        assert_eq!(
            v0(false, 9, Some(&restored)),
            hex("00 80 00 01 00 00 00 02 01 00 41")
        );
        let unique = v0(true, 9, Some(&restored));
        assert_eq!(
            unique,
            hex("08 80 00 01 00 00 00 02 01 00 41 00 00 00 00 00 00 00 09")
        );
        let p = split_index_value(&unique).expect("splits");
        assert_eq!(p.int_handle, Some(9));
        assert_eq!(p.restored, Some(restored.as_slice()));
    }

    #[test]
    fn short_new_values_are_padded_to_ten_bytes() {
        let restored = hex("80 00 00 00 00 00");
        let v = v0(false, 9, Some(&restored));
        assert_eq!(v, hex("03 80 00 00 00 00 00 00 00 00"));
        assert_eq!(
            split_index_value(&v).expect("splits").restored,
            Some(&restored[..])
        );
    }

    #[test]
    fn golden_clustered_v1_values() {
        // Spec §1.6 and §2.2 (TestUntouchedIndexKValue).
        let mut out = Vec::new();
        encode_index_value_clustered_v1(
            &mut out,
            false,
            &Handle::Common(hex("03 80 00 00 00 00 00 00 01")),
            None,
        );
        assert_eq!(out, hex("00 7D 01"));
        let h = Handle::Common(hex("01 61 00 00 00 00 00 00 00 F8"));
        out.clear();
        encode_index_value_clustered_v1(&mut out, true, &h, None);
        assert_eq!(out, hex("00 7D 01 7F 00 0A 01 61 00 00 00 00 00 00 00 F8"));
        assert_eq!(decode_handle_from_index_value(&out).expect("handle"), h);
        let v1 = hex("01 7D 01 31");
        let untouched = split_index_value(&v1).expect("splits");
        assert!(untouched.untouched && untouched.version == 1);
        let old = hex("00 00 00 00 00 00 00 01 31");
        let old_untouched = split_index_value(&old).expect("splits");
        assert_eq!(
            (old_untouched.int_handle, old_untouched.untouched),
            (Some(1), true)
        );
    }
}
