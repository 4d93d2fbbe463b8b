//! A full disk under a worker's local engines (issue 14). Recognised in any
//! task error — the kernel's ENOSPC as an `io::Error`, or RocksDB's text of
//! it — then measured and turned into [`TaskError::DiskFull`]: the
//! directory, the bytes free there, the bytes the engine needs. The failed
//! attempt's engine directory is removed first, so that what it wrote is
//! free again for whatever runs next. A cluster worker answers that error
//! by handing the task back to the queue and taking no more tasks until
//! the directory has the room ([`crate::node`]); embedded mode retries it
//! like any other disk error.

use std::path::{Path, PathBuf};

use super::error::TaskError;
use crate::engine::{dir_size, LocalEngine};

/// What the kernel (`strerror(ENOSPC)`) and RocksDB (which passes it on in
/// its message) say.
pub const NO_SPACE: &str = "No space left on device";

/// Sorted-run bytes per source byte, as the coordinator's disk precheck
/// estimates them (record and index KVs, keys repeated, before compaction).
const KV_EXPANSION: u64 = 2;

/// Whether `error` (or anything it wraps) is a full disk.
pub fn is_disk_full(error: &TaskError) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::StorageFull
                || io.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error())
            {
                return true;
            }
        }
        cur = e.source();
    }
    // RocksDB errors are text only; the text keeps the OS's words.
    error.to_string().contains(NO_SPACE)
}

/// Bytes available to this (unprivileged) process on the file system that
/// holds `dir`, or its nearest existing ancestor.
pub fn available_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut at = dir;
    while !at.exists() {
        match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => at = parent,
            _ => break,
        }
    }
    let stat = rustix::fs::statvfs(at).map_err(std::io::Error::from)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// The room an engine of `source_bytes` needs, knowing that an attempt
/// filled the disk after writing `written` bytes: the precheck's estimate,
/// and at least twice what did not fit in (so the worker waits for more
/// than the room it failed with, not for the room its own cleanup freed).
pub fn room_needed(source_bytes: u64, written: u64) -> u64 {
    source_bytes
        .saturating_mul(KV_EXPANSION)
        .max(written.saturating_mul(2))
}

/// Turns a full-disk `error` of engine `engine_id` (under `root`) into
/// [`TaskError::DiskFull`] after removing what the attempt left (a blocking
/// call: it walks and deletes the engine directory).
pub fn explain(root: &Path, engine_id: &str, source_bytes: u64, error: TaskError) -> TaskError {
    let engine_dir = root.join(engine_id);
    let written = dir_size(&engine_dir).unwrap_or(0);
    if let Err(e) = LocalEngine::remove_dir(root, engine_id) {
        tracing::warn!(error = %e, "could not remove the engine that filled the disk");
    }
    let free = match available_bytes(root) {
        Ok(free) => free,
        Err(e) => {
            tracing::warn!(dir = %root.display(), error = %e, "cannot read the free space");
            0
        }
    };
    TaskError::DiskFull {
        dir: PathBuf::from(root),
        free,
        needed: room_needed(source_bytes, written),
        error: Box::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_recognised_as_io_error_and_as_rocksdb_text() {
        let io = std::io::Error::from_raw_os_error(rustix::io::Errno::NOSPC.raw_os_error());
        assert!(is_disk_full(&TaskError::io("write", Path::new("/x/y"), io)));
        let rocks = TaskError::Blocking(format!(
            "IO error: {NO_SPACE}: While appending to file: /x/000012.sst: {NO_SPACE}"
        ));
        assert!(is_disk_full(&rocks));
        let other = std::io::Error::from_raw_os_error(rustix::io::Errno::ACCESS.raw_os_error());
        assert!(!is_disk_full(&TaskError::io(
            "write",
            Path::new("/x"),
            other
        )));
    }

    #[test]
    fn the_room_needed_is_more_than_what_did_not_fit() {
        assert_eq!(room_needed(1 << 20, 0), 2 << 20);
        assert_eq!(room_needed(1 << 20, 3 << 20), 6 << 20);
    }

    #[test]
    fn explain_removes_the_engine_and_measures_the_disk() {
        let root = tempfile::tempdir().expect("a temp dir");
        let engine = root.path().join("j-1-t1-e0");
        std::fs::create_dir_all(&engine).expect("mkdir");
        std::fs::write(engine.join("000001.sst"), vec![0u8; 4096]).expect("write");
        let io = std::io::Error::from_raw_os_error(rustix::io::Errno::NOSPC.raw_os_error());
        let e = explain(
            root.path(),
            "j-1-t1-e0",
            1000,
            TaskError::io("write", &engine, io),
        );
        assert!(!engine.exists(), "the failed attempt's engine is removed");
        let TaskError::DiskFull { needed, free, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*needed, 8192);
        assert!(*free > 0);
        let said = e.to_string();
        assert!(said.contains(&root.path().display().to_string()), "{said}");
        assert!(said.contains(NO_SPACE), "{said}");
        assert!(e.is_retryable());
    }
}
