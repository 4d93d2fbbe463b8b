//! Any bytes as a TiDB key: record key, index key, table ID, key datums and
//! the memcomparable pieces they are made of. Errors, never a panic; what
//! decodes re-encodes to the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use squall_codec::bytes::{decode_bytes, decode_bytes_desc, encode_bytes, encode_bytes_desc};
use squall_codec::datum_codec::decode_key_datums;
use squall_codec::key::{decode_table_id, is_index_key, is_record_key, record_key};
use squall_codec::number::{decode_int, decode_uint, decode_uvarint, decode_varint};
use squall_codec::{decode_index_key, decode_record_key, Handle};

fuzz_target!(|data: &[u8]| {
    if let Ok((table, handle)) = decode_record_key(data) {
        assert!(is_record_key(data));
        if let Handle::Int(_) = handle {
            assert_eq!(record_key(table, &handle), data);
        }
    }
    if let Ok(k) = decode_index_key(data) {
        assert!(is_index_key(data));
        assert!(k.datums.len() < data.len());
    }
    let _ = decode_table_id(data);
    let _ = decode_key_datums(data);
    let mut rest = data;
    if let Ok(v) = decode_bytes(&mut rest) {
        let mut again = Vec::new();
        encode_bytes(&mut again, &v);
        assert_eq!(again, data[..data.len() - rest.len()]);
    }
    let mut rest = data;
    if let Ok(v) = decode_bytes_desc(&mut rest) {
        let mut again = Vec::new();
        encode_bytes_desc(&mut again, &v);
        assert_eq!(again, data[..data.len() - rest.len()]);
    }
    let _ = decode_int(&mut &data[..]);
    let _ = decode_uint(&mut &data[..]);
    let _ = decode_varint(&mut &data[..]);
    let _ = decode_uvarint(&mut &data[..]);
});
