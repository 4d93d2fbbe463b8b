//! One version of a duplicated key as DuplicateDetect reports it, in the
//! form it is checkpointed (keys and values as hex in JSON).

use serde::{Deserialize, Serialize};

/// A key version: raw TiDB key, the row or index value, and its commit ts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DupPair {
    #[serde(with = "hex_bytes")]
    pub key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub value: Vec<u8>,
    pub commit_ts: u64,
}

impl DupPair {
    /// Bytes this pair costs in memory and in a checkpoint (before hex).
    pub fn size(&self) -> usize {
        self.key.len() + self.value.len() + 8
    }
}

/// Serde for byte strings as lowercase hex (readable with `etcdctl get`).
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_as_hex_json() {
        let p = DupPair {
            key: b"t\x80k".to_vec(),
            value: vec![0, 255],
            commit_ts: 7,
        };
        let json = serde_json::to_string(&p).expect("serializes");
        assert_eq!(json, r#"{"key":"74806b","value":"00ff","commit_ts":7}"#);
        assert_eq!(serde_json::from_str::<DupPair>(&json).expect("parses"), p);
        assert!(
            serde_json::from_str::<DupPair>(r#"{"key":"zz","value":"","commit_ts":1}"#).is_err()
        );
        assert_eq!(p.size(), 13);
    }
}
