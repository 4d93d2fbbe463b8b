//! Free disk for the local engines against what they will hold.
//!
//! The estimate: a worker sorts `lightning.index-concurrency` engines at
//! once, each at most `mydumper.batch-size` of source (and no more than the
//! whole source); their sorted runs take about [`KV_EXPANSION`] times the
//! source bytes (record and index KVs, keys repeated, before RocksDB
//! compacts them). With `tikv-importer.disk-quota` set, engines are
//! imported early when they reach it, so the need is at most the quota.

use std::path::{Path, PathBuf};

use squall_common::TaskConfig;

use super::report::CheckResult;
use super::CHECK_DISK;

/// Sorted-run bytes per source byte (an estimate, see the module doc).
pub const KV_EXPANSION: u64 = 2;

/// Bytes the local engines are expected to need on this machine.
pub fn estimated_need(cfg: &TaskConfig, source_bytes: u64) -> u64 {
    let in_flight = cfg
        .mydumper
        .batch_size
        .0
        .saturating_mul(cfg.lightning.index_concurrency.max(1) as u64)
        .min(source_bytes);
    let need = in_flight.saturating_mul(KV_EXPANSION);
    match cfg.tikv_importer.disk_quota.0 {
        0 => need,
        quota => need.min(quota),
    }
}

/// Bytes available to an unprivileged writer on the file system holding
/// `dir` (or its nearest existing ancestor: the directory is created later).
pub fn available_bytes(dir: &Path) -> std::io::Result<(PathBuf, u64)> {
    let mut at = dir.to_path_buf();
    while !at.exists() {
        match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => at = parent.to_path_buf(),
            _ => {
                at = PathBuf::from(".");
                break;
            }
        }
    }
    let stat = rustix::fs::statvfs(&at).map_err(std::io::Error::from)?;
    Ok((at, stat.f_bavail.saturating_mul(stat.f_frsize)))
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// The check, for engines sorted on this machine (`local`), else skipped.
pub fn check_disk(cfg: &TaskConfig, source_bytes: u64, local: bool) -> CheckResult {
    if !local {
        return CheckResult::skipped(
            CHECK_DISK,
            "engines are sorted on the workers; tikv-importer.disk-quota bounds each worker's disk",
        );
    }
    let dir = Path::new(&cfg.tikv_importer.sorted_kv_dir);
    let need = estimated_need(cfg, source_bytes);
    match available_bytes(dir) {
        Err(e) => CheckResult::fail(
            CHECK_DISK,
            format!("cannot read the free space under {}: {e}", dir.display()),
            "set tikv-importer.sorted-kv-dir to a directory this process can write",
        ),
        Ok((at, free)) if free < need => CheckResult::fail(
            CHECK_DISK,
            format!(
                "{} free under {} but the local engines need about {} ({} engine(s) of up to {} \
                 in flight, x{KV_EXPANSION} for sorted KVs)",
                gib(free),
                at.display(),
                gib(need),
                cfg.lightning.index_concurrency.max(1),
                gib(cfg.mydumper.batch_size.0),
            ),
            "free space there, point tikv-importer.sorted-kv-dir at a bigger disk, lower \
             mydumper.batch-size or lightning.index-concurrency, or set tikv-importer.disk-quota \
             below the free space (engines are then imported early)",
        ),
        Ok((at, free)) => CheckResult::pass(
            CHECK_DISK,
            format!(
                "{} free under {}, local engines need about {}",
                gib(free),
                at.display(),
                gib(need)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use squall_common::config::ByteSize;

    #[test]
    fn the_need_follows_engines_in_flight_and_the_quota() {
        let mut cfg = TaskConfig::default();
        cfg.mydumper.batch_size = ByteSize::gib(1);
        cfg.lightning.index_concurrency = 2;
        assert_eq!(estimated_need(&cfg, 10 << 30), 4 << 30);
        assert_eq!(estimated_need(&cfg, 100 << 20), 200 << 20, "small source");
        cfg.tikv_importer.disk_quota = ByteSize::mib(512);
        assert_eq!(estimated_need(&cfg, 10 << 30), 512 << 20);
    }

    #[test]
    fn free_space_is_read_from_the_nearest_existing_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (at, free) = available_bytes(&dir.path().join("a/b/c")).expect("statvfs");
        assert_eq!(at, dir.path());
        assert!(free > 0);
    }
}
