//! An accounting model of where a store's RocksDB puts ingested SSTs, beside
//! the sim's real RocksDB (which is one DB shared by all stores, with default
//! options, so its own L0 says nothing about a TiKV store).
//!
//! Per store and column family it keeps the key ranges of the files in L0
//! and the ranges of data below L0. An ingested SST lands as RocksDB's
//! `IngestExternalFile` places it (`AssignLevelAndSeqnoForIngestedFile`):
//! if its range overlaps data already in the LSM it must go to L0, above
//! that data; otherwise it drops below L0 and costs no compaction. "Data
//! below L0" is modelled as one level: with TiKV's
//! `level-compaction-dynamic-level-bytes` and the data sizes a sim holds,
//! the levels between L0 and the base level are empty and skipped, so an
//! overlap with the base level also sends the file to L0. (In a store much
//! larger than its base level a file overlapping only old, deep data could
//! stop at an intermediate level; the model counts it as L0. Ranges, not
//! keys: two SSTs whose ranges interleave but share no key count as
//! overlapping, as an SST inside an existing file's bounds cannot fit in
//! that level either.)
//!
//! L0 drains as RocksDB's L0 → base-level compaction does: once L0 holds
//! `level0-file-num-compaction-trigger` files (TiKV: 4), one compaction
//! takes all of them and finishes after their bytes at the configured
//! speed; files arriving meanwhile wait for the next one. Time is only
//! looked at when the model is touched, so no task runs in the background.
//! The model lives in memory: a restarted sim starts with empty ones.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::{Duration, Instant};

/// The thresholds of the model; defaults are TiKV's for the `write` CF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LsmSettings {
    /// `rocksdb.writecf.level0-file-num-compaction-trigger` (4).
    pub compaction_trigger: u64,
    /// `rocksdb.writecf.level0-stop-writes-trigger`: unset by default, so
    /// TiKV sets it to `storage.flow-control.l0-files-threshold` (20).
    pub stop_writes_trigger: u64,
    /// How fast one L0 compaction goes (bytes/s). Not a TiKV setting: a
    /// guess of one compaction on an SSD.
    pub compaction_bytes_per_sec: u64,
}

impl Default for LsmSettings {
    fn default() -> Self {
        LsmSettings {
            compaction_trigger: 4,
            stop_writes_trigger: 20,
            compaction_bytes_per_sec: 128 << 20,
        }
    }
}

impl LsmSettings {
    /// TiKV's `ingest_maybe_slowdown_writes` (engine_rocks `misc.rs`): an
    /// ingest may push the store into a write stall when the write CF's L0
    /// files plus the SSTs being ingested right now exceed half the stop
    /// trigger and reach the compaction trigger. (Older TiKV compared L0
    /// alone with half the slowdown trigger, also 20: the same threshold.)
    pub fn ingest_may_stall(&self, l0_files: u64, inflight: u64) -> bool {
        let worst = l0_files + inflight;
        worst > self.stop_writes_trigger / 2 && worst >= self.compaction_trigger
    }

    fn compaction_time(&self, bytes: u64) -> Duration {
        Duration::from_secs_f64(bytes as f64 / self.compaction_bytes_per_sec.max(1) as f64)
    }
}

/// Where an ingested SST went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Into L0: its range overlapped data already in the LSM.
    L0,
    /// Below L0: it overlapped nothing.
    Lower,
}

#[derive(Debug, Clone)]
struct File {
    first: Vec<u8>,
    last: Vec<u8>,
    bytes: u64,
}

#[derive(Debug, Clone, Copy)]
struct Compaction {
    /// The first `files` files of L0 are being compacted.
    files: usize,
    done_at: Instant,
}

/// One column family's LSM, as ranges of user keys (first and last key,
/// both inclusive).
#[derive(Debug, Default)]
pub struct CfLsm {
    /// L0 files, oldest first.
    l0: Vec<File>,
    /// Data below L0: disjoint ranges, start → end.
    lower: BTreeMap<Vec<u8>, Vec<u8>>,
    running: Option<Compaction>,
    compactions: u64,
}

impl CfLsm {
    /// Ingests an SST holding keys `first..=last` of `bytes` at `now`.
    pub fn ingest(
        &mut self,
        first: &[u8],
        last: &[u8],
        bytes: u64,
        now: Instant,
        settings: &LsmSettings,
    ) -> Placement {
        self.advance(now, settings);
        let overlaps = self
            .l0
            .iter()
            .any(|f| f.first.as_slice() <= last && first <= f.last.as_slice())
            || self.lower_overlaps(first, last);
        if !overlaps {
            insert_range(&mut self.lower, first, last);
            return Placement::Lower;
        }
        self.l0.push(File {
            first: first.to_vec(),
            last: last.to_vec(),
            bytes,
        });
        self.advance(now, settings);
        Placement::L0
    }

    /// Files in L0 at `now`.
    pub fn l0_files(&mut self, now: Instant, settings: &LsmSettings) -> u64 {
        self.advance(now, settings);
        self.l0.len() as u64
    }

    /// L0 compactions finished so far.
    pub fn compactions(&self) -> u64 {
        self.compactions
    }

    fn lower_overlaps(&self, first: &[u8], last: &[u8]) -> bool {
        // Disjoint ranges sorted by start are sorted by end too: the last
        // one starting at or before `last` reaches furthest.
        self.lower
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(last)))
            .next_back()
            .is_some_and(|(_, end)| end.as_slice() >= first)
    }

    /// Finishes the compactions due by `now`, starting the next one when a
    /// finished one leaves L0 at the trigger (at the time it finished).
    fn advance(&mut self, now: Instant, settings: &LsmSettings) {
        let mut clock = now;
        loop {
            if let Some(c) = self.running {
                if c.done_at > now {
                    return;
                }
                clock = c.done_at;
                self.running = None;
                self.compactions += 1;
                for f in self.l0.drain(..c.files).collect::<Vec<_>>() {
                    insert_range(&mut self.lower, &f.first, &f.last);
                }
            }
            if (self.l0.len() as u64) < settings.compaction_trigger.max(1) {
                return;
            }
            let bytes = self.l0.iter().map(|f| f.bytes).sum();
            self.running = Some(Compaction {
                files: self.l0.len(),
                done_at: clock + settings.compaction_time(bytes),
            });
        }
    }
}

/// Adds `first..=last` to disjoint `ranges`, merging what it overlaps.
fn insert_range(ranges: &mut BTreeMap<Vec<u8>, Vec<u8>>, first: &[u8], last: &[u8]) {
    let mut start = first.to_vec();
    let mut end = last.to_vec();
    let overlapping: Vec<Vec<u8>> = ranges
        .range::<[u8], _>((Bound::Unbounded, Bound::Included(last)))
        .rev()
        .take_while(|(_, e)| e.as_slice() >= first)
        .map(|(s, _)| s.clone())
        .collect();
    for s in overlapping {
        if let Some(e) = ranges.remove(&s) {
            start = start.min(s);
            end = end.max(e);
        }
    }
    ranges.insert(start, end);
}

/// A store's two data column families.
#[derive(Debug, Default)]
pub struct StoreLsm {
    pub default: CfLsm,
    pub write: CfLsm,
}

impl StoreLsm {
    /// The model of column family `cf` (`default` or `write`).
    pub fn cf(&mut self, cf: &str) -> Option<&mut CfLsm> {
        match cf {
            crate::storage::CF_DEFAULT => Some(&mut self.default),
            crate::storage::CF_WRITE => Some(&mut self.write),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow() -> LsmSettings {
        LsmSettings {
            compaction_bytes_per_sec: 100,
            ..LsmSettings::default()
        }
    }

    #[test]
    fn disjoint_ssts_go_below_l0_and_overlapping_ones_to_l0() {
        let s = slow();
        let t = Instant::now();
        let mut cf = CfLsm::default();
        assert_eq!(cf.ingest(b"a", b"c", 10, t, &s), Placement::Lower);
        assert_eq!(cf.ingest(b"d", b"f", 10, t, &s), Placement::Lower);
        // Within the bounds of data already there, though no key is shared.
        assert_eq!(cf.ingest(b"b1", b"e5", 10, t, &s), Placement::L0);
        // Between the lower ranges, but overlapping the L0 file.
        assert_eq!(cf.ingest(b"c5", b"c6", 10, t, &s), Placement::L0);
        assert_eq!(cf.ingest(b"g", b"h", 10, t, &s), Placement::Lower);
        // Touching an inclusive end is an overlap.
        assert_eq!(cf.ingest(b"h", b"i", 10, t, &s), Placement::L0);
        assert_eq!(cf.l0_files(t, &s), 3);
    }

    #[test]
    fn l0_compacts_from_the_trigger_taking_time_by_bytes() {
        let s = slow();
        let t = Instant::now();
        let mut cf = CfLsm::default();
        cf.ingest(b"a", b"z", 100, t, &s);
        for _ in 0..3 {
            assert_eq!(cf.ingest(b"a", b"z", 100, t, &s), Placement::L0);
        }
        assert_eq!(cf.l0_files(t, &s), 3);
        // The fourth L0 file starts a compaction of 400 bytes: 4 s.
        cf.ingest(b"b", b"c", 100, t, &s);
        // Files arriving meanwhile wait for the next compaction.
        cf.ingest(b"b", b"c", 100, t + Duration::from_secs(1), &s);
        assert_eq!(cf.l0_files(t + Duration::from_millis(3999), &s), 5);
        assert_eq!(cf.l0_files(t + Duration::from_secs(4), &s), 1);
        assert_eq!(cf.compactions(), 1);
        // The compacted data is below L0 now: new overlaps still go to L0.
        assert_eq!(
            cf.ingest(b"m", b"n", 100, t + Duration::from_secs(5), &s),
            Placement::L0
        );
        assert_eq!(
            cf.ingest(b"zz", b"zz", 100, t + Duration::from_secs(5), &s),
            Placement::Lower
        );
    }

    #[test]
    fn chained_compactions_start_when_the_previous_one_ends() {
        let s = slow();
        let t = Instant::now();
        let mut cf = CfLsm::default();
        cf.ingest(b"a", b"z", 100, t, &s);
        for _ in 0..4 {
            cf.ingest(b"a", b"z", 100, t, &s); // compaction 1: t .. t+4s
        }
        for _ in 0..4 {
            cf.ingest(b"a", b"z", 100, t + Duration::from_secs(1), &s);
        }
        // Compaction 2 starts at t+4s with 4 files: done at t+8s.
        assert_eq!(cf.l0_files(t + Duration::from_secs(7), &s), 4);
        assert_eq!(cf.l0_files(t + Duration::from_secs(8), &s), 0);
        assert_eq!(cf.compactions(), 2);
    }

    #[test]
    fn stall_threshold_is_tikvs() {
        let s = LsmSettings::default();
        assert!(!s.ingest_may_stall(10, 0));
        assert!(s.ingest_may_stall(11, 0));
        assert!(s.ingest_may_stall(9, 2), "in-flight ingests count");
        let tight = LsmSettings {
            stop_writes_trigger: 4,
            ..s
        };
        assert!(
            !tight.ingest_may_stall(3, 0),
            "below the compaction trigger"
        );
        assert!(tight.ingest_may_stall(4, 0));
    }

    #[test]
    fn merging_ranges_keeps_them_disjoint() {
        let mut r = BTreeMap::new();
        insert_range(&mut r, b"c", b"d");
        insert_range(&mut r, b"f", b"g");
        insert_range(&mut r, b"a", b"b");
        insert_range(&mut r, b"cc", b"ff");
        let got: Vec<_> = r.into_iter().collect();
        assert_eq!(
            got,
            vec![
                (b"a".to_vec(), b"b".to_vec()),
                (b"c".to_vec(), b"g".to_vec())
            ]
        );
    }
}
