//! The local engine directory of one range build, and the sweep of those
//! killed builds left behind.
//!
//! Two builds of one range can run on one node at once (a redelivery while
//! the first delivery still builds, two worker processes sharing a
//! `sorted-kv-dir`), so a directory is named by its build, not by its
//! range: `index-backfill-<pid>-r<n>-<commit ts>.o<os pid>-<start>-<k>`,
//! where `<os pid>` and `<start>` (the process's start time in clock ticks
//! since boot, from `/proc/<pid>/stat`) name the process and `<k>` counts
//! its builds. A killed build cannot remove its directory; the next build
//! on the node removes every `index-backfill-*` directory whose owner is
//! gone: no process with that pid, or one started at another time (the pid
//! was reused). A directory whose owner lives, or cannot be told (no
//! `/proc`, a name this scheme did not write), is left alone: it may be
//! another build's.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use squall_worker::engine::{EngineError, LocalEngine};

const PREFIX: &str = "index-backfill-";

/// Builds started by this process (the directory names' last part).
static BUILDS: AtomicU64 = AtomicU64::new(0);

/// This process as directory names say it: `<os pid>-<start time>`.
fn owner() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| {
        let pid = std::process::id();
        format!("{pid}-{}", start_time(pid).unwrap_or(0))
    })
}

/// A process's start time (clock ticks after boot), `None` without one.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ...`: comm may hold spaces and parentheses, the
    // fields after its last `)` do not; starttime is field 22 (state is 3).
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// A new directory name for a build of range `n` of physical table `pid`
/// at `commit_ts`, unique on this node.
pub fn engine_id(pid: i64, n: usize, commit_ts: u64) -> String {
    let k = BUILDS.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}{pid}-r{n}-{commit_ts}.o{}-{k}", owner())
}

/// Whether the owner named in a directory name is a process that is gone.
/// `None` when the name says no owner (written before names had one).
fn owner_gone(name: &str) -> Option<bool> {
    let owner = name.strip_prefix(PREFIX)?.rsplit_once(".o")?.1;
    let mut parts = owner.splitn(3, '-');
    let pid: u32 = parts.next()?.parse().ok()?;
    let started: u64 = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u64>().ok()?;
    if !Path::new("/proc/self/stat").exists() {
        // Cannot tell a live owner from a dead one: keep it.
        return Some(false);
    }
    Some(start_time(pid) != Some(started))
}

/// Removes the directories of builds whose process is gone; the number
/// removed. The range's own directory of an older release (no owner in
/// its name, `legacy`) goes too, as that release removed it.
pub fn sweep(root: &Path, legacy: &str) -> Result<usize, EngineError> {
    LocalEngine::remove_dir(root, legacy)?;
    let Ok(entries) = std::fs::read_dir(root) else {
        // No root yet: nothing left behind.
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if owner_gone(name) == Some(true) {
            tracing::info!(dir = %root.join(name).display(),
                "removing the local engine of an index backfill build whose process is gone");
            LocalEngine::remove_dir(root, name)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The name the range's directory had before names carried their build.
pub fn legacy_id(pid: i64, n: usize, commit_ts: u64) -> String {
    format!("{PREFIX}{pid}-r{n}-{commit_ts}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_builds_of_one_range_get_two_directories() {
        let (a, b) = (engine_id(5, 3, 99), engine_id(5, 3, 99));
        assert_ne!(a, b);
        assert!(a.starts_with("index-backfill-5-r3-99.o"), "{a}");
        assert_eq!(owner_gone(&a), Some(false), "this process lives");
        assert_eq!(owner_gone(&legacy_id(5, 3, 99)), None);
    }

    #[test]
    fn the_sweep_removes_dead_builds_only() {
        let root = tempfile::tempdir().expect("test setup");
        let mine = engine_id(1, 0, 7);
        // A pid above Linux's pid_max (2^22): no such process.
        let dead = format!("{PREFIX}1-r1-7.o4999999-12-0");
        // This process under another start time: the pid was reused.
        let reused = format!("{PREFIX}1-r2-7.o{}-1-0", std::process::id());
        let other = "engine-3".to_string();
        // `squall index backfill`'s checkpoint store lives beside them.
        let store = format!("{PREFIX}checkpoint");
        let legacy = legacy_id(1, 4, 7);
        for d in [&mine, &dead, &reused, &other, &store, &legacy] {
            std::fs::create_dir_all(root.path().join(d)).expect("test setup");
        }
        let removed = sweep(root.path(), &legacy).expect("sweep");
        assert_eq!(removed, 2);
        assert!(
            root.path().join(&mine).exists(),
            "a live build's dir is kept"
        );
        assert!(root.path().join(&other).exists());
        assert!(root.path().join(&store).exists());
        for gone in [&dead, &reused, &legacy] {
            assert!(!root.path().join(gone).exists(), "{gone}");
        }
    }
}
