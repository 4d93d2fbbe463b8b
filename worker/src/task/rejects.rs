//! Rows skipped for bad values: the `lightning.max-error` budget shared by
//! the job, and the JSON-lines file each engine writes them to
//! (`<output>/errors/t<table>-e<engine>.jsonl`, rewritten by every attempt so
//! a re-run does not duplicate lines).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// How many rows the whole job may skip. Engines take from it as they skip
/// rows and give back what a failed attempt took, so retries do not spend
/// the budget twice.
#[derive(Debug)]
pub struct ErrorBudget {
    limit: u64,
    used: AtomicU64,
}

impl ErrorBudget {
    /// `already_used`: rows skipped by engines that finished before a restart.
    pub fn new(limit: u64, already_used: u64) -> Self {
        Self {
            limit,
            used: AtomicU64::new(already_used),
        }
    }

    /// Takes one row from the budget; false when it is spent.
    pub fn take(&self) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                (u < self.limit).then_some(u + 1)
            })
            .is_ok()
    }

    pub fn give_back(&self, n: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                Some(u.saturating_sub(n))
            });
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }
}

/// One skipped row, as written to the error file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    pub table: String,
    pub file: String,
    pub offset: u64,
    pub line: u64,
    /// Column name (or field number) when the problem is one value.
    pub column: Option<String>,
    /// `data` (the row cannot be parsed), `type` (a value does not convert),
    /// `encode` (the row cannot be encoded).
    pub kind: &'static str,
    pub reason: String,
}

/// The error file of one engine attempt, created on the first reject.
pub struct RejectLog {
    path: PathBuf,
    file: Mutex<Option<BufWriter<File>>>,
    written: AtomicU64,
}

impl RejectLog {
    /// Removes what an earlier attempt wrote; the file is created lazily.
    pub fn new(path: PathBuf) -> std::io::Result<Arc<Self>> {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(Arc::new(Self {
            path,
            file: Mutex::new(None),
            written: AtomicU64::new(0),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn count(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    pub fn write(&self, reject: &Reject) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(reject).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            *guard = Some(BufWriter::new(File::create(&self.path)?));
        }
        if let Some(f) = guard.as_mut() {
            f.write_all(&line)?;
        }
        self.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Flushes and fsyncs, so a recorded engine result never points at lines
    /// that a crash lost.
    pub fn finish(&self) -> std::io::Result<()> {
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = guard.as_mut() {
            f.flush()?;
            f.get_ref().sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_stops_at_its_limit_and_takes_back() {
        let b = ErrorBudget::new(2, 1);
        assert!(b.take());
        assert!(!b.take());
        b.give_back(2);
        assert_eq!(b.used(), 0);
        assert!(b.take() && b.take() && !b.take());
        assert!(!ErrorBudget::new(0, 0).take());
    }

    #[test]
    fn log_is_created_lazily_and_replaced_per_attempt() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("errors/t1-e0.jsonl");
        let log = RejectLog::new(path.clone()).expect("new log");
        log.finish().expect("nothing to flush");
        assert!(!path.exists());
        let r = Reject {
            table: "`db`.`t`".into(),
            file: "db.t.csv".into(),
            offset: 10,
            line: 2,
            column: Some("a".into()),
            kind: "type",
            reason: "bad".into(),
        };
        log.write(&r).expect("write");
        log.finish().expect("flush");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.contains("\"offset\":10") && text.ends_with('\n'),
            "{text}"
        );
        let again = RejectLog::new(path.clone()).expect("second attempt");
        assert!(!path.exists() && again.count() == 0);
    }
}
