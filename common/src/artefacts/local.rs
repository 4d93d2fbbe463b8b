//! [`LocalArtefactStore`]: artefacts as files under one directory, key =
//! relative path. Embedded mode roots it at the job's output directory, so
//! an engine's local duplicates are `<output>/duplicates/t<t>-e<e>.jsonl`,
//! where people and earlier versions expect them.
//!
//! Writes go to a dot-named temporary file in the target's directory, are
//! fsynced, renamed over the target, and the directory is fsynced: a crash
//! leaves the old file or the new one. Dot names are not valid keys, so a
//! listing never shows a temporary file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::store::{validate_key, validate_prefix, ArtefactError, ArtefactStore};

#[derive(Debug, Clone)]
pub struct LocalArtefactStore {
    root: PathBuf,
}

impl LocalArtefactStore {
    /// A store under `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds `key`.
    pub fn path_of(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Runs a file operation on the blocking pool.
    async fn blocking<T, F>(&self, key: &str, f: F) -> Result<T, ArtefactError>
    where
        T: Send + 'static,
        F: FnOnce(Files) -> Result<T, ArtefactError> + Send + 'static,
    {
        let files = Files {
            root: self.root.clone(),
            store: self.location(),
            key: key.to_string(),
        };
        let what = files.clone();
        tokio::task::spawn_blocking(move || f(files))
            .await
            .map_err(|e| what.err("run", &what.root, io::Error::other(e.to_string())))?
    }
}

#[async_trait]
impl ArtefactStore for LocalArtefactStore {
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), ArtefactError> {
        validate_key(key)?;
        self.blocking(key, move |f| f.replace_with(|out| out.write_all(&value)))
            .await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), ArtefactError> {
        validate_key(key)?;
        let source = path.to_path_buf();
        self.blocking(key, move |f| {
            if f.is_target(&source)? {
                // Written in place (embedded mode): already where it belongs.
                return Ok(());
            }
            if f.link_in(&source)? {
                return Ok(());
            }
            let mut from = File::open(&source).map_err(|e| f.err("open", &source, e))?;
            f.replace_with(|out| io::copy(&mut from, out).map(drop))
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArtefactError> {
        validate_key(key)?;
        self.blocking(key, |f| {
            let path = f.target();
            match fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(f.err("read", &path, e)),
            }
        })
        .await
    }

    async fn get_to_file(&self, key: &str, path: &Path) -> Result<bool, ArtefactError> {
        validate_key(key)?;
        let dest = path.to_path_buf();
        self.blocking(key, move |f| {
            let source = f.target();
            let mut from = match File::open(&source) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(f.err("open", &source, e)),
            };
            if let Some(dir) = dest.parent() {
                fs::create_dir_all(dir).map_err(|e| f.err("create", dir, e))?;
            }
            // On the same file system the value is linked, not copied (an
            // engine range's run, gigabytes): the store never writes a file
            // in place (puts replace by rename), so sharing it is safe.
            match fs::remove_file(&dest) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(f.err("replace", &dest, e)),
            }
            if fs::hard_link(&source, &dest).is_ok() {
                return Ok(true);
            }
            let mut to = File::create(&dest).map_err(|e| f.err("create", &dest, e))?;
            io::copy(&mut from, &mut to).map_err(|e| f.err("copy to", &dest, e))?;
            Ok(true)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, ArtefactError> {
        validate_key(key)?;
        self.blocking(key, |f| {
            let path = f.target();
            match fs::remove_file(&path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(f.err("remove", &path, e)),
            }
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ArtefactError> {
        validate_prefix(prefix)?;
        let wanted = prefix.to_string();
        self.blocking(prefix, move |f| {
            // Only the directory the prefix names completely can hold matches.
            let dir = wanted.rsplit_once('/').map_or("", |(dir, _)| dir);
            let mut keys = Vec::new();
            f.walk(dir, &mut keys)?;
            keys.retain(|k| k.starts_with(&wanted));
            keys.sort();
            Ok(keys)
        })
        .await
    }

    fn local_path(&self, key: &str) -> Option<PathBuf> {
        validate_key(key).ok().map(|()| self.path_of(key))
    }

    fn location(&self) -> String {
        format!("directory {}", self.root.display())
    }
}

/// One call's view of the store, moved into the blocking pool.
#[derive(Clone)]
struct Files {
    root: PathBuf,
    store: String,
    key: String,
}

impl Files {
    fn target(&self) -> PathBuf {
        self.root.join(&self.key)
    }

    fn err(&self, op: &'static str, path: &Path, source: io::Error) -> ArtefactError {
        ArtefactError::Io {
            store: self.store.clone(),
            key: self.key.clone(),
            op,
            path: path.display().to_string(),
            source,
        }
    }

    /// Whether `source` is the key's own file.
    fn is_target(&self, source: &Path) -> Result<bool, ArtefactError> {
        let canonical = |p: &Path| match p.canonicalize() {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err("resolve", p, e)),
        };
        let Some(from) = canonical(source)? else {
            return Err(self.err("open", source, io::Error::from(io::ErrorKind::NotFound)));
        };
        Ok(canonical(&self.target())? == Some(from))
    }

    /// Makes `source` the key's file by a hard link (no copy of a run
    /// file's gigabytes) when both are on one file system; `false` when
    /// they are not, or links are refused: then the caller copies. The
    /// caller keeps its name and may remove it, never write to it.
    fn link_in(&self, source: &Path) -> Result<bool, ArtefactError> {
        let target = self.target();
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| self.err("create", &dir, e))?;
        let tmp = dir.join(temp_name(&target));
        if fs::hard_link(source, &tmp).is_err() {
            return Ok(false);
        }
        // Durable before it is visible, as a copied value is.
        let linked = File::open(&tmp)
            .and_then(|file| file.sync_all())
            .map_err(|e| self.err("fsync", &tmp, e))
            .and_then(|()| fs::rename(&tmp, &target).map_err(|e| self.err("rename", &tmp, e)));
        if linked.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        linked?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.err("fsync", &dir, e))?;
        Ok(true)
    }

    /// Writes the key's file through a temporary file and a rename.
    fn replace_with(
        &self,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> Result<(), ArtefactError> {
        let target = self.target();
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| self.err("create", &dir, e))?;
        let tmp = dir.join(temp_name(&target));
        let written = File::create(&tmp)
            .and_then(|mut out| {
                fill(&mut out)?;
                out.sync_all()
            })
            .map_err(|e| self.err("write", &tmp, e))
            .and_then(|()| fs::rename(&tmp, &target).map_err(|e| self.err("rename", &tmp, e)));
        if written.is_err() {
            // Best effort: a leftover temp file is invisible to readers.
            let _ = fs::remove_file(&tmp);
        }
        written?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.err("fsync", &dir, e))
    }

    /// Appends every key under `dir` (relative to the root) to `out`.
    fn walk(&self, dir: &str, out: &mut Vec<String>) -> Result<(), ArtefactError> {
        let path = self.root.join(dir);
        let entries = match fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok(()),
            Err(e) => return Err(self.err("list", &path, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| self.err("list", &path, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue; // not UTF-8: not a key this store wrote
            };
            if name.starts_with('.') {
                continue; // a temporary file
            }
            let key = match dir {
                "" => name,
                dir => format!("{dir}/{name}"),
            };
            let kind = entry.file_type().map_err(|e| self.err("list", &path, e))?;
            if kind.is_dir() {
                self.walk(&key, out)?;
            } else if kind.is_file() {
                out.push(key);
            }
        }
        Ok(())
    }
}

/// `.<name>.<pid>-<n>.tmp`, unique per process and call.
fn temp_name(target: &Path) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artefacts::keys;

    crate::artefact_store_test_suite!(local_suite, {
        let dir = tempfile::tempdir().expect("temp dir");
        (LocalArtefactStore::new(dir.path()), dir)
    });

    #[tokio::test]
    async fn duplicates_land_at_todays_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalArtefactStore::new(dir.path());
        let key = keys::local_duplicates(7, 3);
        store.put(&key, b"line\n".to_vec()).await.expect("put");
        let path = crate::duplicates_file::duplicates_path(dir.path(), 7, 3);
        assert_eq!(fs::read(&path).expect("the file"), b"line\n");
        let names: Vec<_> = fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec!["t7-e3.jsonl"], "no temporary file is left");
    }

    #[tokio::test]
    async fn a_file_already_in_place_is_kept_as_is() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalArtefactStore::new(dir.path());
        let key = keys::local_duplicates(1, 0);
        let path = store.path_of(&key);
        fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        fs::write(&path, b"written by the worker\n").expect("write");
        store.put_file(&key, &path).await.expect("put in place");
        assert_eq!(
            store.get(&key).await.expect("get"),
            Some(b"written by the worker\n".to_vec())
        );
        let missing = dir.path().join("nope");
        let err = store.put_file("x", &missing).await.expect_err("no source");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
