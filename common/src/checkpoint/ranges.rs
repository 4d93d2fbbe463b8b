//! Engine ranges (`squall.engine-ranges`): the key ranges an import is cut
//! into so that no two ingests overlap in TiKV. Planned once per table (a
//! range per about one engine's worth of KVs of each key space), each range
//! record is a lease like an engine record: `Pending → Running {attempt,
//! worker} → Done(result)` or `Failed`, claimed by compare-and-swap on the
//! attempt. Encode tasks cut their sorted engine at the ranges' bounds into
//! run files ([`RunSummary`], listed in the engine's `Done` result); one
//! ingest task per range merges the runs the `Done` engines name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checksum::KvChecksum;

/// One engine range of one table: raw TiDB keys `start..end` (end
/// exclusive), ingested at `commit_ts` (from PD's TSO, stored before any KV
/// of the range reaches TiKV, as an engine's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RangeCheckpoint {
    pub version: u32,
    pub job_id: String,
    pub table_id: i64,
    pub range_id: u32,
    #[serde(with = "hex_bytes")]
    pub start: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub end: Vec<u8>,
    /// KV bytes the planner's sample predicts for the range.
    pub estimated_bytes: u64,
    pub commit_ts: u64,
    pub attempt: u32,
    pub state: RangeState,
}

impl RangeCheckpoint {
    /// The part the planner decides; a re-plan must equal it.
    pub fn same_plan(&self, other: &RangeCheckpoint) -> bool {
        self.job_id == other.job_id
            && self.table_id == other.table_id
            && self.range_id == other.range_id
            && self.start == other.start
            && self.end == other.end
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.start.as_slice() <= key && key < self.end.as_slice()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum RangeState {
    Pending,
    #[serde(rename_all = "kebab-case")]
    Running {
        attempt: u32,
        worker: String,
        started_unix_ms: u64,
    },
    Done(RangeResult),
    Failed {
        attempt: u32,
        reason: String,
    },
}

/// What an ingest task did with one range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RangeResult {
    pub attempt: u32,
    pub worker: String,
    /// Runs merged, and the KVs they held (every copy of a key).
    pub runs: u64,
    pub run_kvs: u64,
    /// KVs and bytes ingested (first copy of each key).
    pub kvs: u64,
    pub bytes: u64,
    /// Extra copies of keys not ingested, and their checksums (data and
    /// per index), taken off the table's encoded totals.
    pub local_duplicates: u64,
    pub duplicate_data: KvChecksum,
    #[serde(with = "super::int_keyed", default)]
    pub duplicate_indexes: BTreeMap<i64, KvChecksum>,
    pub ingest_ms: u64,
}

/// One run file: the KVs of one engine that fall in one range, sorted, in
/// the local engine's key format (every copy of a key kept).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RunSummary {
    pub range_id: u32,
    /// Artefact key (job-relative) of the SST.
    pub key: String,
    #[serde(with = "hex_bytes")]
    pub min_key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub max_key: Vec<u8>,
    pub kvs: u64,
    /// User key + value bytes.
    pub bytes: u64,
    /// Of the KVs as encoded (raw keys), every copy counted.
    pub checksum: KvChecksum,
}

/// Byte strings as lowercase hex (readable with `etcdctl get`).
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() % 2 != 0 {
            return Err(serde::de::Error::custom("odd-length hex string"));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| {
                u8::from_str_radix(&text[i..i + 2], 16)
                    .map_err(|e| serde::de::Error::custom(format!("bad hex {text:?}: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_records_round_trip_through_json() {
        let r = RangeCheckpoint {
            version: 2,
            job_id: "j".into(),
            table_id: 7,
            range_id: 1,
            start: vec![0x74, 0x80, 0x00],
            end: vec![0x74, 0xff],
            estimated_bytes: 9,
            commit_ts: 5,
            attempt: 1,
            state: RangeState::Running {
                attempt: 1,
                worker: "w".into(),
                started_unix_ms: 3,
            },
        };
        let json = serde_json::to_string(&r).expect("JSON");
        assert!(json.contains(r#""start":"748000""#), "{json}");
        let back: RangeCheckpoint = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, r);
        assert!(r.contains(&[0x74, 0x80, 0x01]));
        assert!(!r.contains(&[0x74, 0xff]));
    }
}
