//! [`LocalCheckpointStore`]: the embedded-mode checkpoint store, a directory
//! with one file per key.
//!
//! Crash safety comes from the write protocol, not from luck: a value is
//! written to `<name>.tmp`, fsynced, renamed over `<name>`, and the directory
//! is fsynced. A `kill -9` at any instant therefore leaves either the old or
//! the new file, never a torn one; leftover `.tmp` files are removed on open.
//! The whole store is cached in memory (a job holds a few records per table
//! and engine), so reads never touch the disk.
//!
//! One process owns a directory at a time; two importers sharing one
//! checkpoint directory is a usage error this store does not detect.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::store::{
    validate_key, CasOutcome, CheckpointError, CheckpointStore, Revision, Versioned,
};

const MAGIC: &str = "SQCKPT1";
const TMP_SUFFIX: &str = ".tmp";
/// Holds the highest revision ever issued, so revisions keep growing after a
/// delete of the newest key and a restart.
const HIGH_WATER_FILE: &str = "revision";
/// File names longer than this use a hash (most file systems stop at 255).
const MAX_PLAIN_NAME: usize = 180;

#[derive(Clone)]
pub struct LocalCheckpointStore {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    state: Mutex<State>,
}

struct State {
    entries: BTreeMap<String, Entry>,
    file_names: HashSet<String>,
    last_revision: u64,
}

struct Entry {
    file: String,
    value: Vec<u8>,
    revision: Revision,
}

impl LocalCheckpointStore {
    /// Opens (creating if needed) the store in `dir` and loads every record.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CheckpointError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, "create directory", e))?;
        let state = load_dir(&dir)?;
        Ok(Self {
            inner: Arc::new(Inner {
                dir,
                state: Mutex::new(state),
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Runs `op` on the locked state in the blocking pool (it does file I/O).
    async fn with_state<T, F>(&self, op: F) -> Result<T, CheckpointError>
    where
        T: Send + 'static,
        F: FnOnce(&Path, &mut State) -> Result<T, CheckpointError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-applied write:
            // memory is updated only after the file is in place.
            let mut state = inner.state.lock().unwrap_or_else(|p| p.into_inner());
            op(&inner.dir, &mut state)
        })
        .await
        .map_err(|e| CheckpointError::Unavailable {
            reason: format!("store task failed: {e}"),
        })?
    }
}

#[async_trait]
impl CheckpointStore for LocalCheckpointStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, CheckpointError> {
        validate_key(key)?;
        let state = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        Ok(state.entries.get(key).map(|e| Versioned {
            value: e.value.clone(),
            revision: e.revision,
        }))
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<Revision, CheckpointError> {
        validate_key(key)?;
        let key = key.to_string();
        self.with_state(move |dir, state| write_entry(dir, state, key, value))
            .await
    }

    async fn cas(
        &self,
        key: &str,
        expected: Option<Revision>,
        value: Vec<u8>,
    ) -> Result<CasOutcome, CheckpointError> {
        validate_key(key)?;
        let key = key.to_string();
        self.with_state(move |dir, state| {
            let current = state.entries.get(&key).map(|e| e.revision);
            if current != expected {
                let current = state.entries.get(&key).map(|e| Versioned {
                    value: e.value.clone(),
                    revision: e.revision,
                });
                return Ok(CasOutcome::Conflict { current });
            }
            write_entry(dir, state, key, value).map(CasOutcome::Swapped)
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Versioned)>, CheckpointError> {
        let state = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        Ok(state
            .entries
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, e)| {
                (
                    k.clone(),
                    Versioned {
                        value: e.value.clone(),
                        revision: e.revision,
                    },
                )
            })
            .collect())
    }

    async fn list_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Versioned)>, CheckpointError> {
        use std::ops::Bound;
        let state = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        // A key after `after` that is still under `prefix`; `after` below
        // the prefix starts at the prefix.
        let from = match after {
            Some(a) if a >= prefix => Bound::Excluded(a.to_string()),
            _ => Bound::Included(prefix.to_string()),
        };
        Ok(state
            .entries
            .range((from, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, e)| {
                (
                    k.clone(),
                    Versioned {
                        value: e.value.clone(),
                        revision: e.revision,
                    },
                )
            })
            .collect())
    }

    async fn delete(&self, key: &str) -> Result<bool, CheckpointError> {
        validate_key(key)?;
        let key = key.to_string();
        self.with_state(move |dir, state| {
            let Some(entry) = state.entries.get(&key) else {
                return Ok(false);
            };
            let file = entry.file.clone();
            // Persist the high-water mark first so a restart never reissues the
            // deleted key's revision.
            let revision = state.last_revision + 1;
            write_atomic(dir, HIGH_WATER_FILE, revision.to_string().as_bytes())?;
            let path = dir.join(&file);
            fs::remove_file(&path).map_err(|e| io_err(&path, "remove", e))?;
            sync_dir(dir)?;
            state.last_revision = revision;
            state.entries.remove(&key);
            state.file_names.remove(&file);
            Ok(true)
        })
        .await
    }
}

fn write_entry(
    dir: &Path,
    state: &mut State,
    key: String,
    value: Vec<u8>,
) -> Result<Revision, CheckpointError> {
    let revision = Revision(state.last_revision + 1);
    let file = match state.entries.get(&key) {
        Some(e) => e.file.clone(),
        None => file_name_for(&key, &state.file_names),
    };
    write_atomic(dir, &file, &encode_record(&key, revision, &value))?;
    state.last_revision = revision.0;
    state.file_names.insert(file.clone());
    state.entries.insert(
        key,
        Entry {
            file,
            value,
            revision,
        },
    );
    Ok(revision)
}

/// `k-<percent-encoded key>`, or `h-<fnv64>-<n>` when that would be too long.
fn file_name_for(key: &str, taken: &HashSet<String>) -> String {
    let mut plain = String::from("k-");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
            plain.push(b as char);
        } else {
            plain.push_str(&format!("%{b:02X}"));
        }
    }
    if plain.len() <= MAX_PLAIN_NAME {
        return plain;
    }
    let hash = fnv64(key.as_bytes());
    (0u32..)
        .map(|n| format!("h-{hash:016x}-{n}"))
        .find(|name| !taken.contains(name))
        .unwrap_or_else(|| format!("h-{hash:016x}-x"))
}

fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn encode_record(key: &str, revision: Revision, value: &[u8]) -> Vec<u8> {
    let mut out = format!("{MAGIC} {} {} {}\n", revision.0, key.len(), value.len()).into_bytes();
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(value);
    out
}

fn decode_record(path: &Path, bytes: &[u8]) -> Result<(String, Versioned), CheckpointError> {
    let corrupt = |reason: &str| CheckpointError::Corrupt {
        path: path.display().to_string(),
        reason: reason.to_string(),
    };
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| corrupt("no header line"))?;
    let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| corrupt("header is not UTF-8"))?;
    let fields: Vec<&str> = header.split(' ').collect();
    let [magic, rev, klen, vlen] = fields.as_slice() else {
        return Err(corrupt("header has the wrong number of fields"));
    };
    if *magic != MAGIC {
        return Err(corrupt("bad magic"));
    }
    let num = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| corrupt("header number does not parse"))
    };
    let (rev, klen, vlen) = (num(rev)?, num(klen)? as usize, num(vlen)? as usize);
    let body = &bytes[nl + 1..];
    if body.len() != klen + vlen {
        return Err(corrupt("length does not match the header"));
    }
    let key = std::str::from_utf8(&body[..klen]).map_err(|_| corrupt("key is not UTF-8"))?;
    Ok((
        key.to_string(),
        Versioned {
            value: body[klen..].to_vec(),
            revision: Revision(rev),
        },
    ))
}

fn load_dir(dir: &Path) -> Result<State, CheckpointError> {
    let mut state = State {
        entries: BTreeMap::new(),
        file_names: HashSet::new(),
        last_revision: 0,
    };
    let listing = fs::read_dir(dir).map_err(|e| io_err(dir, "list", e))?;
    for item in listing {
        let item = item.map_err(|e| io_err(dir, "list", e))?;
        let name = item.file_name().to_string_lossy().into_owned();
        let path = item.path();
        if name.ends_with(TMP_SUFFIX) {
            // An interrupted write: the rename never happened, so the old
            // file (if any) is the truth.
            fs::remove_file(&path).map_err(|e| io_err(&path, "remove stale temp file", e))?;
        } else if name == HIGH_WATER_FILE {
            let text = read_file(&path)?;
            let rev = String::from_utf8_lossy(&text)
                .trim()
                .parse::<u64>()
                .map_err(|_| CheckpointError::Corrupt {
                    path: path.display().to_string(),
                    reason: "bad revision".into(),
                })?;
            state.last_revision = state.last_revision.max(rev);
        } else if name.starts_with("k-") || name.starts_with("h-") {
            let (key, v) = decode_record(&path, &read_file(&path)?)?;
            state.last_revision = state.last_revision.max(v.revision.0);
            state.file_names.insert(name.clone());
            state.entries.insert(
                key,
                Entry {
                    file: name,
                    value: v.value,
                    revision: v.revision,
                },
            );
        }
    }
    Ok(state)
}

fn read_file(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| io_err(path, "read", e))?;
    Ok(buf)
}

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), CheckpointError> {
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let dest = dir.join(name);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| io_err(&tmp, "create", e))?;
    f.write_all(bytes).map_err(|e| io_err(&tmp, "write", e))?;
    f.sync_all().map_err(|e| io_err(&tmp, "fsync", e))?;
    drop(f);
    fs::rename(&tmp, &dest).map_err(|e| io_err(&dest, "rename", e))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, "fsync directory", e))
}

fn io_err(path: &Path, op: &'static str, source: std::io::Error) -> CheckpointError {
    CheckpointError::Io {
        path: path.display().to_string(),
        op,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::checkpoint_store_test_suite!(local_suite, {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalCheckpointStore::open(dir.path()).expect("open store");
        (store, dir)
    });

    #[tokio::test]
    async fn survives_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let long_key = format!("squall/jobs/{}", "x/".repeat(200));
        let (rev_a, rev_long) = {
            let store = LocalCheckpointStore::open(dir.path()).expect("open");
            let a = store.put("squall/a", b"1".to_vec()).await.expect("put");
            let l = store
                .put(&long_key, b"long".to_vec())
                .await
                .expect("put long");
            store.put("squall/gone", b"x".to_vec()).await.expect("put");
            assert!(store.delete("squall/gone").await.expect("delete"));
            (a, l)
        };
        let store = LocalCheckpointStore::open(dir.path()).expect("reopen");
        let a = store.get("squall/a").await.expect("get").expect("present");
        assert_eq!((a.value.as_slice(), a.revision), (&b"1"[..], rev_a));
        let l = store.get(&long_key).await.expect("get").expect("present");
        assert_eq!((l.value.as_slice(), l.revision), (&b"long"[..], rev_long));
        assert_eq!(store.get("squall/gone").await.expect("get"), None);
        // The delete's revision is remembered, so new writes still go up.
        let next = store.put("squall/b", vec![]).await.expect("put");
        assert!(
            next.0 > rev_long.0 + 1,
            "{next:?} after {rev_long:?} and a delete"
        );
    }

    #[tokio::test]
    async fn stale_temp_files_are_ignored_and_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = LocalCheckpointStore::open(dir.path()).expect("open");
            store.put("k", b"old".to_vec()).await.expect("put");
        }
        // What a kill -9 between write and rename leaves behind.
        fs::write(dir.path().join("k-k.tmp"), b"SQCKPT1 99 1 3\nknew").expect("write tmp");
        let store = LocalCheckpointStore::open(dir.path()).expect("reopen");
        let v = store.get("k").await.expect("get").expect("present");
        assert_eq!(v.value, b"old");
        assert!(!dir.path().join("k-k.tmp").exists());
    }

    #[tokio::test]
    async fn corrupt_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("k-bad"), b"SQCKPT1 1 5 3\nabc").expect("write");
        let err = LocalCheckpointStore::open(dir.path())
            .err()
            .expect("must fail");
        let msg = err.to_string();
        assert!(msg.contains("k-bad") && msg.contains("length"), "{msg}");
    }
}
