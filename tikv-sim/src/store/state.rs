//! Per-store state: address, up/down, import mode, staged SSTs and the
//! count of SSTs it ingested.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::util::lock;

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

    pub fn unlatch(&self, paths: &[PathBuf]) {
        let mut held = lock(&self.latch);
        for p in paths {
            held.remove(p);
        }
    }
}
