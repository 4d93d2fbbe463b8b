//! Lightning's KV checksum (`verification/checksum.go`): XOR over pairs of
//! CRC-64/XZ(key ‖ value) (Go `crc64.ECMA` with Go's pre/post inversion),
//! plus the pair count and total bytes. Mergeable, so workers can sum.
//!
//! The one checksum type of Squall: encoders compute it, checkpoint records
//! store it (serialized as `{"crc", "kvs", "bytes"}`), TiKV's coprocessor
//! answers it. It lives here, below `codec`, so the records can hold it.

use serde::{Deserialize, Serialize};

/// XOR of CRC-64/XZ over `key || value`, pair count and byte count. XOR and
/// addition make it order-independent and additive across engines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvChecksum {
    pub crc: u64,
    pub kvs: u64,
    pub bytes: u64,
}

/// CRC-64/XZ of `key ‖ value`, the per-pair sum.
pub fn kv_crc64(key: &[u8], value: &[u8]) -> u64 {
    let mut d = crc64fast::Digest::new();
    d.write(key);
    d.write(value);
    d.sum64()
}

impl KvChecksum {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, key: &[u8], value: &[u8]) {
        self.crc ^= kv_crc64(key, value);
        self.kvs += 1;
        self.bytes += (key.len() + value.len()) as u64;
    }

    pub fn merge(&mut self, other: &KvChecksum) {
        self.crc ^= other.crc;
        self.kvs += other.kvs;
        self.bytes += other.bytes;
    }

    /// Removes pairs that were added (XOR is its own inverse), e.g. rows a
    /// conflict resolution deleted.
    pub fn subtract(&mut self, other: &KvChecksum) {
        self.crc ^= other.crc;
        self.kvs = self.kvs.saturating_sub(other.kvs);
        self.bytes = self.bytes.saturating_sub(other.bytes);
    }
}

impl std::fmt::Display for KvChecksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "crc={:#018x} kvs={} bytes={}",
            self.crc, self.kvs, self.bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_crc64_xz() {
        // Spec §1.15 / §3.8.
        let mut d = crc64fast::Digest::new();
        d.write(b"123456789");
        assert_eq!(d.sum64(), 0x995D_C9BB_DF19_39FA);
        assert_eq!(kv_crc64(b"key", b"val"), 0xCDD3_164F_62DB_81E0);
        assert_eq!(kv_crc64(b"key", b"val"), 14831222528077955552);
    }

    #[test]
    fn golden_lightning_test_checksum() {
        // Spec §2.8 (TestChecksum).
        let mut c = KvChecksum::new();
        assert_eq!(c.crc, 0);
        c.update(b"Cop", b"PingCAP");
        c.update(
            b"Introduction",
            b"Inspired by Google Spanner/F1, PingCAP develops TiDB.",
        );
        assert_eq!(c.crc, 4850203904608948940);
        assert_eq!(c.kvs, 2);
        assert_eq!(c.bytes, 75);
    }

    #[test]
    fn golden_group_checksum_merge() {
        // Spec §2.8 (TestGroupChecksum).
        let mut data = KvChecksum::new();
        data.update(b"key", b"val");
        let mut index = KvChecksum::new();
        index.update(b"key2", b"val2");
        index.update(b"key2", b"val2");
        index.update(b"key", b"val");
        assert_eq!(data.bytes, 6);
        assert_eq!(index.bytes, 22);
        let mut all = data;
        all.merge(&index);
        assert_eq!((all.kvs, all.bytes), (4, 28));
        // key2/val2 twice cancels out: only key/val XOR key/val remains, which is 0.
        assert_eq!(all.crc, 0);
        all.subtract(&index);
        assert_eq!(all, data);
    }

    #[test]
    fn serde_round_trip() {
        let c = KvChecksum {
            crc: 1,
            kvs: 2,
            bytes: 3,
        };
        let s = serde_json::to_string(&c).expect("serializes");
        assert_eq!(
            serde_json::from_str::<KvChecksum>(&s).expect("deserializes"),
            c
        );
    }

    /// The stored form, in checkpoint records since format 1 (it was
    /// `ChecksumRecord` then, with the same fields): must not change.
    #[test]
    fn golden_record_form() {
        let c = KvChecksum {
            crc: 7,
            kvs: 1,
            bytes: 9,
        };
        let json = serde_json::to_string(&c).expect("serializes");
        assert_eq!(json, r#"{"crc":7,"kvs":1,"bytes":9}"#);
        assert_eq!(c.to_string(), "crc=0x0000000000000007 kvs=1 bytes=9");
    }
}
