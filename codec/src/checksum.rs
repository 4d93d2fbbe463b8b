//! Lightning's KV checksum. The type lives in `squall_common` so that
//! checkpoint records can hold it; it is re-exported here beside the codec
//! that feeds it.

pub use squall_common::checksum::{kv_crc64, KvChecksum};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_single_record_kv() {
        // Spec §3.8: record key 45/1 + row value.
        let key = crate::key::record_key(45, &crate::handle::Handle::Int(1));
        let value = [
            0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x03, 0x00, 0x61, 0x62, 0x63,
        ];
        let mut c = KvChecksum::new();
        c.update(&key, &value);
        assert_eq!((c.crc, c.kvs, c.bytes), (0x9F90_3FED_5D55_8A6F, 1, 31));
    }
}
