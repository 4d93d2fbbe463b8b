//! Per-store state: address, up/down, import mode, staged SSTs, the count
//! of SSTs it ingested and its ingest accounting (L0 model and counters).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use squall_proto::import_sstpb::SstMeta;

use super::lsm::StoreLsm;
use crate::import::staging::{staged_path, SstStats};
use crate::util::lock;

/// What `GET /ingests` counts for a store; the counters (not the model)
/// are cleared by `POST /ingests/reset`.
#[derive(Debug, Default)]
pub struct IngestAccount {
    pub lsm: StoreLsm,
    pub ingested: u64,
    pub overlapping: u64,
    pub busy: u64,
}

pub struct StoreState {
    pub id: u64,
    /// Where the store's gRPC server listens.
    pub addr: SocketAddr,
    /// What PD tells clients to dial.
    pub advertise: String,
    /// Where SSTs written to this store wait for ingest.
    pub staging: PathBuf,
    pub started_at: i64,
    up: AtomicBool,
    ingested: AtomicU64,
    import_since: Mutex<Option<Instant>>,
    /// Staged files being ingested right now (TiKV's ingest latch).
    latch: Mutex<HashSet<PathBuf>>,
    /// Held while an ingest checks for a write stall and latches its files,
    /// as TiKV's `ingest_admission_guard`, so in-flight counts are exact.
    pub admission: Mutex<()>,
    /// What each staged file holds, by path (lost on restart).
    staged: Mutex<HashMap<PathBuf, SstStats>>,
    pub account: Mutex<IngestAccount>,
}

impl StoreState {
    pub fn new(id: u64, addr: SocketAddr, advertise: String, staging: PathBuf) -> Self {
        StoreState {
            id,
            addr,
            advertise,
            staging,
            started_at: crate::util::unix_millis() / 1000,
            up: AtomicBool::new(false),
            ingested: AtomicU64::new(0),
            import_since: Mutex::new(None),
            latch: Mutex::new(HashSet::new()),
            admission: Mutex::new(()),
            staged: Mutex::new(HashMap::new()),
            account: Mutex::new(IngestAccount::default()),
        }
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    pub fn ingested(&self) -> u64 {
        self.ingested.load(Ordering::Relaxed)
    }

    pub fn count_ingested(&self, n: u64) {
        self.ingested.fetch_add(n, Ordering::Relaxed);
    }

    /// Import mode holds until switched back or not renewed for `timeout`
    /// (TiKV's `import-mode-timeout`).
    pub fn in_import_mode(&self, timeout: Duration) -> bool {
        lock(&self.import_since).is_some_and(|since| since.elapsed() < timeout)
    }

    pub fn set_import_mode(&self, on: bool) {
        *lock(&self.import_since) = on.then(Instant::now);
    }

    /// Claims all `paths` for one ingest; false (claiming none) if another
    /// ingest holds any of them.
    pub fn latch(&self, paths: &[PathBuf]) -> bool {
        let mut held = lock(&self.latch);
        if paths.iter().any(|p| held.contains(p)) {
            return false;
        }
        held.extend(paths.iter().cloned());
        true
    }

    /// Latched files of column family `cf` (TiKV's in-flight ingests).
    pub fn latched_in_cf(&self, cf: &str) -> u64 {
        let suffix = format!("_{cf}.sst");
        lock(&self.latch)
            .iter()
            .filter(|p| p.to_string_lossy().ends_with(&suffix))
            .count() as u64
    }

    /// Notes what the file staged for `meta` (with `cf_name`) holds.
    pub fn remember_staged(&self, meta: &SstMeta, stats: SstStats) {
        if let Ok(path) = staged_path(&self.staging, meta, &meta.cf_name) {
            lock(&self.staged).insert(path, stats);
        }
    }

    pub fn staged_stats(&self, path: &Path) -> Option<SstStats> {
        lock(&self.staged).get(path).cloned()
    }

    pub fn forget_staged(&self, path: &Path) {
        lock(&self.staged).remove(path);
    }

    /// Forgets files that are gone (collected as garbage).
    pub fn prune_staged(&self) {
        lock(&self.staged).retain(|p, _| p.exists());
    }

    pub fn unlatch(&self, paths: &[PathBuf]) {
        let mut held = lock(&self.latch);
        for p in paths {
            held.remove(p);
        }
    }
}
