//! Record and index keys (`tablecodec.go`): `t{table}_r{handle}` and
//! `t{table}_i{index}{values}[handle]`. Keys here are raw TiDB keys, not
//! memcomparable-wrapped.

use crate::datum::Datum;
use crate::datum_codec::decode_key_datums;
use crate::error::{take, CodecError};
use crate::handle::Handle;
use crate::number::{decode_int, encode_int};

pub const TABLE_PREFIX: u8 = b't';
pub const RECORD_SEP: &[u8] = b"_r";
pub const INDEX_SEP: &[u8] = b"_i";
/// `t` + table ID + `_r` + int handle.
pub const RECORD_ROW_KEY_LEN: usize = 1 + 8 + 2 + 8;
const TABLE_PREFIX_LEN: usize = 9;

/// Appends `t{table}_r`.
pub fn append_record_prefix(buf: &mut Vec<u8>, table_id: i64) {
    buf.push(TABLE_PREFIX);
    encode_int(buf, table_id);
    buf.extend_from_slice(RECORD_SEP);
}

/// Appends `t{table}_i{index}`.
pub fn append_index_prefix(buf: &mut Vec<u8>, table_id: i64, index_id: i64) {
    buf.push(TABLE_PREFIX);
    encode_int(buf, table_id);
    buf.extend_from_slice(INDEX_SEP);
    encode_int(buf, index_id);
}

pub fn record_key(table_id: i64, handle: &Handle) -> Vec<u8> {
    let mut k = Vec::with_capacity(RECORD_ROW_KEY_LEN);
    append_record_prefix(&mut k, table_id);
    handle.encode_into(&mut k);
    k
}

/// `[t{table}_r, t{table}_s)`: every row of a table.
pub fn table_record_range(table_id: i64) -> (Vec<u8>, Vec<u8>) {
    let mut start = Vec::with_capacity(11);
    append_record_prefix(&mut start, table_id);
    let mut end = start.clone();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    (start, end)
}

/// `[t{table}_i{index}, t{table}_i{index+1})`: every entry of one index.
pub fn table_index_range(table_id: i64, index_id: i64) -> (Vec<u8>, Vec<u8>) {
    let mut start = Vec::with_capacity(19);
    append_index_prefix(&mut start, table_id, index_id);
    let mut end = Vec::with_capacity(19);
    if index_id == i64::MAX {
        end.push(TABLE_PREFIX);
        encode_int(&mut end, table_id);
        end.extend_from_slice(b"_j");
    } else {
        append_index_prefix(&mut end, table_id, index_id + 1);
    }
    (start, end)
}

/// `[t{table}, t{table+1})`: the whole table, rows and indexes.
pub fn table_range(table_id: i64) -> (Vec<u8>, Vec<u8>) {
    let mut start = vec![TABLE_PREFIX];
    encode_int(&mut start, table_id);
    let mut end = vec![TABLE_PREFIX];
    encode_int(&mut end, table_id.saturating_add(1));
    (start, end)
}

fn decode_table_prefix<'a>(
    key: &'a [u8],
    sep: &[u8],
    what: &'static str,
) -> Result<(i64, &'a [u8]), CodecError> {
    let mut b = key;
    if take(&mut b, 1, what)?[0] != TABLE_PREFIX {
        return Err(CodecError::invalid(what, "does not start with 't'"));
    }
    let table_id = decode_int(&mut b)?;
    if take(&mut b, 2, what)? != sep {
        return Err(CodecError::invalid(
            what,
            format!("no {:?} after the table id", String::from_utf8_lossy(sep)),
        ));
    }
    Ok((table_id, b))
}

/// True if `key` looks like `t…_r…`.
pub fn is_record_key(key: &[u8]) -> bool {
    key.len() > 10 && key[0] == TABLE_PREFIX && key[9..11] == *RECORD_SEP
}

pub fn is_index_key(key: &[u8]) -> bool {
    key.len() > 10 && key[0] == TABLE_PREFIX && key[9..11] == *INDEX_SEP
}

/// Splits a record key into table ID and handle (8 bytes after `_r` = int
/// handle, anything longer = common handle).
pub fn decode_record_key(key: &[u8]) -> Result<(i64, Handle), CodecError> {
    let (table_id, mut rest) = decode_table_prefix(key, RECORD_SEP, "record key")?;
    if key.len() == RECORD_ROW_KEY_LEN {
        return Ok((table_id, Handle::Int(decode_int(&mut rest)?)));
    }
    if rest.len() < 9 {
        return Err(CodecError::invalid(
            "record key",
            format!("handle of {} bytes", rest.len()),
        ));
    }
    decode_key_datums(rest)?;
    Ok((table_id, Handle::Common(rest.to_vec())))
}

/// An index key split without the schema: the datums are the indexed values
/// followed by the handle datums when the handle is in the key.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexKey {
    pub table_id: i64,
    pub index_id: i64,
    pub datums: Vec<Datum>,
}

pub fn decode_index_key(key: &[u8]) -> Result<IndexKey, CodecError> {
    let (table_id, mut rest) = decode_table_prefix(key, INDEX_SEP, "index key")?;
    let index_id = decode_int(&mut rest)?;
    Ok(IndexKey {
        table_id,
        index_id,
        datums: decode_key_datums(rest)?,
    })
}

/// The table ID of any `t…` key.
pub fn decode_table_id(key: &[u8]) -> Result<i64, CodecError> {
    if key.len() < TABLE_PREFIX_LEN || key[0] != TABLE_PREFIX {
        return Err(CodecError::invalid(
            "table key",
            "does not start with 't' + 8 bytes",
        ));
    }
    decode_int(&mut &key[1..])
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
    fn golden_record_keys() {
        // Spec §3.1.
        let k1 = record_key(45, &Handle::Int(1));
        assert_eq!(
            k1,
            hex("74 80 00 00 00 00 00 00 2D 5F 72 80 00 00 00 00 00 00 01")
        );
        let km = record_key(45, &Handle::Int(-1));
        assert_eq!(
            km,
            hex("74 80 00 00 00 00 00 00 2D 5F 72 7F FF FF FF FF FF FF FF")
        );
        assert_eq!(
            decode_record_key(&k1).expect("decodes"),
            (45, Handle::Int(1))
        );
        assert_eq!(
            decode_record_key(&km).expect("decodes"),
            (45, Handle::Int(-1))
        );
        assert!(is_record_key(&k1));
    }

    #[test]
    fn golden_index_prefix() {
        // Spec §2.2 (TestCutPrefix): EncodeTableIndexPrefix(42, 666).
        let mut k = Vec::new();
        append_index_prefix(&mut k, 42, 666);
        // The golden part is the index-ID suffix. The spec's "computed" full key
        // has one 0x00 too many (9 bytes for an 8-byte EncodeInt).
        assert_eq!(k[11..], hex("80 00 00 00 00 00 02 9A"));
        assert_eq!(
            k,
            hex("74 80 00 00 00 00 00 00 2A 5F 69 80 00 00 00 00 00 02 9A")
        );
        let d = decode_index_key(&k).expect("decodes");
        assert_eq!((d.table_id, d.index_id, d.datums.len()), (42, 666, 0));
    }

    #[test]
    fn golden_meta_key() {
        // Spec §2.2 (TestDecodeAutoIDMeta): 'm' + EncodeBytes(key) + EncodeUint('h') + EncodeBytes(field).
        let mut k = vec![b'm'];
        crate::bytes::encode_bytes(&mut k, b"DB:56");
        crate::number::encode_uint(&mut k, u64::from(b'h'));
        crate::bytes::encode_bytes(&mut k, b"TID:108");
        assert_eq!(
            k,
            hex("6D 44 42 3A 35 36 00 00 00 FC 00 00 00 00 00 00 00 68 54 49 44 3A 31 30 38 00 FE")
        );
    }

    #[test]
    fn ranges_cover_exactly_one_table_part() {
        let (s, e) = table_record_range(45);
        let k = record_key(45, &Handle::Int(i64::MAX));
        assert!(s.as_slice() <= k.as_slice() && k.as_slice() < e.as_slice());
        let (is, ie) = table_index_range(45, 2);
        let mut ik = Vec::new();
        append_index_prefix(&mut ik, 45, 2);
        ik.push(0xFF);
        assert!(is.as_slice() <= ik.as_slice() && ik.as_slice() < ie.as_slice());
        assert!(e.as_slice() > ie.as_slice());
    }

    #[test]
    fn malformed_keys_are_rejected() {
        assert!(decode_record_key(b"x").is_err());
        assert!(decode_record_key(&hex(
            "74 80 00 00 00 00 00 00 2D 5F 69 80 00 00 00 00 00 00 01"
        ))
        .is_err());
        assert!(decode_record_key(&hex("74 80 00 00 00 00 00 00 2D 5F 72 80 00")).is_err());
        assert!(decode_index_key(&hex(
            "74 80 00 00 00 00 00 00 2D 5F 69 80 00 00 00 00 00 00 01 99"
        ))
        .is_err());
    }
}
