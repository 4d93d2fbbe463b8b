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

/// Segments read from the store per page. A segment holds up to the
/// detection's segment size of pairs (256 KiB by default, about twice that
/// as stored JSON), so a page is a few MiB however many conflicts the range
/// has.
pub const SEGMENTS_PER_PAGE: usize = 8;

/// One range's stored segments, read a page at a time in key order: the
/// order of their starts, except the rare long starts named by a checksum
/// ([`segment_key`]), which come first. Readers either keep only the bounds
/// ([`covered`]) or sort the pairs they keep, so the order is not part of
/// any result.
pub struct Pages<'a> {
    store: &'a dyn CheckpointStore,
    prefix: String,
    after: Option<String>,
    per_page: usize,
    done: bool,
}

impl<'a> Pages<'a> {
    pub fn new(
        store: &'a dyn CheckpointStore,
        job_id: &str,
        table_id: i64,
        kind: TargetKind,
    ) -> Self {
        Self::with_page(store, job_id, table_id, kind, SEGMENTS_PER_PAGE)
    }

    /// Pages of `per_page` segments (at least 1).
    pub fn with_page(
        store: &'a dyn CheckpointStore,
        job_id: &str,
        table_id: i64,
        kind: TargetKind,
        per_page: usize,
    ) -> Self {
        Self {
            store,
            prefix: target_prefix(job_id, table_id, kind),
            after: None,
            per_page: per_page.max(1),
            done: false,
        }
    }

    /// The next page, `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<DetectedSegment>>, CheckpointError> {
        if self.done {
            return Ok(None);
        }
        let listed = self
            .store
            .list_page(&self.prefix, self.after.as_deref(), self.per_page)
            .await?;
        self.done = listed.len() < self.per_page;
        let Some((last, _)) = listed.last() else {
            self.done = true;
            return Ok(None);
        };
        self.after = Some(last.clone());
        listed
            .iter()
            .map(|(key, v)| typed::decode(key, &v.value))
            .collect::<Result<Vec<DetectedSegment>, _>>()
            .map(Some)
    }
}

/// The bounds `[start, end)` of every stored segment of one range, read a
/// page at a time (the pairs are dropped with their page).
pub async fn covered(
    store: &dyn CheckpointStore,
    job_id: &str,
    table_id: i64,
    kind: TargetKind,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>, CheckpointError> {
    let mut pages = Pages::new(store, job_id, table_id, kind);
    let mut bounds = Vec::new();
    while let Some(page) = pages.next().await? {
        bounds.extend(page.into_iter().map(|s| (s.start, s.end)));
    }
    Ok(bounds)
}

/// The parts of `[start, end)` that no covered range leaves out, in key
/// order. `end` is finite (detection ranges are table ranges).
pub fn gaps(start: &[u8], end: &[u8], covered: &[(Vec<u8>, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut covered: Vec<(&[u8], &[u8])> = covered
        .iter()
        .map(|(s, e)| (s.as_slice(), e.as_slice()))
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

    fn bounds(s: &[u8], e: &[u8]) -> (Vec<u8>, Vec<u8>) {
        (s.to_vec(), e.to_vec())
    }

    #[test]
    fn gaps_are_what_segments_leave_uncovered() {
        assert_eq!(gaps(b"a", b"z", &[]), vec![bounds(b"a", b"z")]);
        let segs = [
            bounds(b"c", b"f"),
            bounds(b"a", b"b"),
            bounds(b"f", b"h"),
            bounds(b"x", b"zz"),
        ];
        assert_eq!(
            gaps(b"a", b"z", &segs),
            vec![bounds(b"b", b"c"), bounds(b"h", b"x")]
        );
        assert!(gaps(b"a", b"z", &[bounds(b"a", b"z")]).is_empty());
        // Overlapping segments (never written, but harmless) still cover once.
        assert_eq!(
            gaps(b"a", b"z", &[bounds(b"a", b"m"), bounds(b"c", b"n")]),
            vec![bounds(b"n", b"z")]
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
        let back = covered(&store, "job", 5, TargetKind::Index(2))
            .await
            .expect("covered");
        assert_eq!(back, vec![bounds(b"a", b"m"), bounds(b"m", b"p")]);
        assert_eq!(gaps(b"a", b"z", &back), vec![bounds(b"p", b"z")]);
        let mut pages = Pages::new(&store, "job", 5, TargetKind::Index(2));
        let page = pages.next().await.expect("page").expect("one page");
        assert_eq!(page[1], s);
        assert!(pages.next().await.expect("end").is_none());
    }

    /// A range of more segments than a page is read page by page, each
    /// segment once, pairs intact, the long-start segment too.
    #[tokio::test]
    async fn segments_are_read_a_page_at_a_time() {
        let dir = crate::duplicate::test_util::TempDir::new("segment-pages");
        let store = LocalCheckpointStore::open(dir.path()).expect("open");
        let long = vec![b'q'; MAX_SPELLED_START + 1];
        let mut saved = Vec::new();
        for i in 0..20u8 {
            let start = match i {
                19 => long.clone(),
                _ => vec![b'a' + i],
            };
            let mut s = seg(&start, &[start.as_slice(), b"~"].concat());
            s.pairs.push(DupPair {
                key: start.clone(),
                value: vec![i; 3],
                commit_ts: u64::from(i),
            });
            save(&store, "job", &s, TargetKind::Index(2))
                .await
                .expect("save");
            saved.push(s);
        }
        // Another range of the table is not read.
        save(&store, "job", &seg(b"a", b"b"), TargetKind::Record)
            .await
            .expect("save");
        let mut pages = Pages::with_page(&store, "job", 5, TargetKind::Index(2), 3);
        let mut read = Vec::new();
        let mut sizes = Vec::new();
        while let Some(page) = pages.next().await.expect("page") {
            sizes.push(page.len());
            read.extend(page);
        }
        assert_eq!(sizes, [3, 3, 3, 3, 3, 3, 2]);
        // The long start's checksum key sorts first; the rest by start.
        assert_eq!(read[0], saved[19]);
        assert_eq!(&read[1..], &saved[..19]);
    }
}
