//! Detection progress: every finished piece of a detection range is stored
//! as a [`DetectedSegment`] (its raw bounds and the duplicate versions found
//! in it) *before* the scan moves on. On restart the segments say which parts
//! of each range are done; only the gaps are scanned again.
//!
//! This is what makes detection safe to resume after resolution started:
//! TiKV answers a key error for a range whose newest version is a Delete above
//! `min_commit_ts`, so a range must never be scanned again once its
//! resolution deletes were ingested. Resolution starts only after every
//! range of the table is covered by segments, so a restart finds nothing
//! left to scan there.

use serde::{Deserialize, Serialize};
use squall_common::checkpoint::{typed, CheckpointError, CheckpointStore, Record, RECORD_VERSION};

use super::pair::{hex_bytes, DupPair};
use super::target::{DetectTarget, TargetKind};

/// One finished piece `[start, end)` of a detection range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectedSegment {
    pub version: u32,
    pub table_id: i64,
    /// [`TargetKind::tag`] of the range this piece belongs to.
    pub target: String,
    #[serde(with = "hex_bytes")]
    pub start: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub end: Vec<u8>,
    /// Every version DuplicateDetect reported in the piece, in stream order.
    pub pairs: Vec<DupPair>,
}

impl Record for DetectedSegment {
    fn format_version(&self) -> u32 {
        self.version
    }
}

impl DetectedSegment {
    pub fn new(target: &DetectTarget, start: Vec<u8>, end: Vec<u8>, pairs: Vec<DupPair>) -> Self {
        Self {
            version: RECORD_VERSION,
            table_id: target.table_id,
            target: target.kind.tag(),
            start,
            end,
            pairs,
        }
    }
}

const ROOT: &str = "squall/jobs";

/// Every segment of a table lives under this prefix.
pub fn table_segments_prefix(job_id: &str, table_id: i64) -> String {
    format!("{ROOT}/{job_id}/conflicts/{table_id:012}/seg/")
}

fn target_prefix(job_id: &str, table_id: i64, kind: TargetKind) -> String {
    format!("{}{}/", table_segments_prefix(job_id, table_id), kind.tag())
}

/// Keys of raw starts up to this length are spelled out in hex; longer ones
/// (rare: index keys of long strings) use a checksum of the key, since the
/// store limits key length. Segments of one range never share a start.
const MAX_SPELLED_START: usize = 400;

pub fn segment_key(job_id: &str, table_id: i64, kind: TargetKind, start: &[u8]) -> String {
    let name = if start.len() <= MAX_SPELLED_START {
        format!("k{}", hex::encode(start))
    } else {
        format!(
            "h{:016x}-{}",
            squall_codec::checksum::kv_crc64(start, b""),
            start.len()
        )
    };
    format!("{}{name}", target_prefix(job_id, table_id, kind))
}

/// Stores a finished segment; returns once it is durable.
pub async fn save(
    store: &dyn CheckpointStore,
    job_id: &str,
    segment: &DetectedSegment,
    kind: TargetKind,
) -> Result<(), CheckpointError> {
    let key = segment_key(job_id, segment.table_id, kind, &segment.start);
    typed::write(store, &key, segment).await.map(|_| ())
}

/// Every stored segment of one range, sorted by start.
pub async fn load(
    store: &dyn CheckpointStore,
    job_id: &str,
    table_id: i64,
    kind: TargetKind,
) -> Result<Vec<DetectedSegment>, CheckpointError> {
    let prefix = target_prefix(job_id, table_id, kind);
    let mut segments: Vec<DetectedSegment> = typed::read_all(store, &prefix)
        .await?
        .into_iter()
        .map(|s| s.record)
        .collect();
    segments.sort_by(|a, b| a.start.cmp(&b.start));
    Ok(segments)
}

/// The parts of `[start, end)` that no segment covers, in key order.
/// `end` is finite (detection ranges are table ranges).
pub fn gaps(start: &[u8], end: &[u8], segments: &[DetectedSegment]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut covered: Vec<(&[u8], &[u8])> = segments
        .iter()
        .map(|s| (s.start.as_slice(), s.end.as_slice()))
        .collect();
    covered.sort();
    let mut out = Vec::new();
    let mut cursor = start.to_vec();
    for (s, e) in covered {
        if cursor.as_slice() >= end {
            break;
        }
        if s > cursor.as_slice() {
            out.push((cursor.clone(), s.min(end).to_vec()));
        }
        if e > cursor.as_slice() {
            cursor = e.to_vec();
        }
    }
    if cursor.as_slice() < end {
        out.push((cursor, end.to_vec()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use squall_common::checkpoint::LocalCheckpointStore;

    fn target() -> DetectTarget {
        DetectTarget {
            table_id: 5,
            kind: TargetKind::Index(2),
            start: b"a".to_vec(),
            end: b"z".to_vec(),
        }
    }

    fn seg(s: &[u8], e: &[u8]) -> DetectedSegment {
        DetectedSegment::new(&target(), s.to_vec(), e.to_vec(), vec![])
    }

    #[test]
    fn gaps_are_what_segments_leave_uncovered() {
        assert_eq!(gaps(b"a", b"z", &[]), vec![(b"a".to_vec(), b"z".to_vec())]);
        let segs = [
            seg(b"c", b"f"),
            seg(b"a", b"b"),
            seg(b"f", b"h"),
            seg(b"x", b"zz"),
        ];
        assert_eq!(
            gaps(b"a", b"z", &segs),
            vec![
                (b"b".to_vec(), b"c".to_vec()),
                (b"h".to_vec(), b"x".to_vec())
            ]
        );
        assert!(gaps(b"a", b"z", &[seg(b"a", b"z")]).is_empty());
        // Overlapping segments (never written, but harmless) still cover once.
        assert_eq!(
            gaps(b"a", b"z", &[seg(b"a", b"m"), seg(b"c", b"n")]),
            vec![(b"n".to_vec(), b"z".to_vec())]
        );
    }

    #[test]
    fn long_starts_get_short_keys() {
        let long = vec![7u8; 3000];
        let key = segment_key("job", 5, TargetKind::Record, &long);
        assert!(key.len() < 200, "{key}");
        assert_ne!(
            key,
            segment_key("job", 5, TargetKind::Record, &long[..2999])
        );
        assert!(segment_key("job", 5, TargetKind::Record, b"t").ends_with("/r/k74"));
    }

    #[tokio::test]
    async fn segments_round_trip_through_the_store() {
        let dir = crate::duplicate::test_util::TempDir::new("segments");
        let store = LocalCheckpointStore::open(dir.path()).expect("open");
        let mut s = seg(b"m", b"p");
        s.pairs.push(DupPair {
            key: b"n".to_vec(),
            value: b"v".to_vec(),
            commit_ts: 9,
        });
        save(&store, "job", &s, TargetKind::Index(2))
            .await
            .expect("save");
        save(&store, "job", &seg(b"a", b"m"), TargetKind::Index(2))
            .await
            .expect("save");
        save(&store, "job", &seg(b"a", b"m"), TargetKind::Record)
            .await
            .expect("save");
        let back = load(&store, "job", 5, TargetKind::Index(2))
            .await
            .expect("load");
        assert_eq!(back.len(), 2);
        assert_eq!(back[1], s);
        assert_eq!(
            gaps(b"a", b"z", &back),
            vec![(b"p".to_vec(), b"z".to_vec())]
        );
    }
}
