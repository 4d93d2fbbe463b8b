//! Where source files live: an `object_store` (the local filesystem, or S3
//! for an `s3://` URL, see [`s3`]), seen through blocking calls because the
//! parsers read `std::io::Read`. Paths are relative to the source directory
//! and `/`-separated. Local names are unescaped (object_store percent-encodes
//! characters such as backquotes and double quotes in its own local paths);
//! remote keys are used as the store lists them.

mod remote;
mod s3;

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use futures::executor::block_on;
use futures::stream::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::ObjectStore;

use crate::error::{ErrorKind, SourceError};
use remote::RemoteReader;

/// One listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub path: String,
    pub size: u64,
}

#[derive(Clone)]
pub struct SourceStore {
    store: Arc<dyn ObjectStore>,
    /// For messages and logs: the directory, or the URL without credentials.
    root: String,
    /// A local directory: files are opened with `std::fs`, because
    /// `LocalFileSystem` cannot open names it percent-encodes (backquotes,
    /// double quotes), which Dumpling writes for exotic table names.
    /// `None`: a remote store, read in ranged requests ([`RemoteReader`]).
    local: Option<PathBuf>,
}

impl std::fmt::Debug for SourceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SourceStore({})", self.root)
    }
}

/// Whether `data-source-dir` is a URL of a remote store (`s3://…`) rather
/// than a local directory (a path or a `file://` URL). A URL is never a path:
/// it must not be made absolute or canonicalized.
pub fn is_remote(data_source_dir: &str) -> bool {
    match data_source_dir.split_once("://") {
        Some((scheme, _)) => !scheme.eq_ignore_ascii_case("file") && !scheme.contains('/'),
        None => false,
    }
}

/// `data-source-dir` as it may be logged, stored in a checkpoint or shown:
/// a URL without its credentials (`access-key`, `secret-access-key`,
/// `session-token`), its other parameters sorted, so it also names the job;
/// a local directory unchanged.
pub fn redacted(data_source_dir: &str) -> String {
    if is_remote(data_source_dir) {
        s3::redact(data_source_dir)
    } else {
        data_source_dir.to_string()
    }
}

impl SourceStore {
    /// A store over `data-source-dir`: a local path, a `file://` URL, or an
    /// `s3://bucket/prefix` URL (see [`s3`] for its settings).
    pub fn open(data_source_dir: &str) -> Result<Self, SourceError> {
        if is_remote(data_source_dir) {
            return Self::open_remote(data_source_dir);
        }
        let dir = data_source_dir
            .strip_prefix("file://")
            .unwrap_or(data_source_dir);
        if dir.is_empty() {
            return Err(SourceError::new(
                ErrorKind::Routing,
                "",
                "mydumper.data-source-dir is empty",
            ));
        }
        let fs = LocalFileSystem::new_with_prefix(dir).map_err(|e| {
            SourceError::new(
                ErrorKind::Io,
                "",
                format!("cannot open source directory {dir:?}: {e}"),
            )
        })?;
        Ok(Self {
            store: Arc::new(fs),
            root: dir.to_string(),
            local: Some(PathBuf::from(dir)),
        })
    }

    fn open_remote(url: &str) -> Result<Self, SourceError> {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        if !scheme.eq_ignore_ascii_case("s3") {
            return Err(SourceError::new(
                ErrorKind::Unsupported,
                "",
                format!(
                    "data-source-dir {}: the {scheme}:// scheme is not supported \
                     (use a local directory or s3://bucket/prefix)",
                    redacted(url)
                ),
            ));
        }
        let (store, root) = s3::open(url)?;
        Ok(Self::with_store(store, &root))
    }

    /// Any object store, read as a remote one (tests, other clouds later).
    /// `root` names it in messages and must hold no credentials.
    pub fn with_store(store: Arc<dyn ObjectStore>, root: &str) -> Self {
        Self {
            store,
            root: root.to_string(),
            local: None,
        }
    }

    /// The directory, or the URL without credentials.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Every file under the root, sorted by path.
    pub fn list(&self) -> Result<Vec<ListedFile>, SourceError> {
        let mut out = match &self.local {
            Some(_) => self.list_local()?,
            None => remote::list(&self.store, &self.root)?,
        };
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn list_local(&self) -> Result<Vec<ListedFile>, SourceError> {
        let mut out = Vec::new();
        let mut stream = self.store.list(None);
        while let Some(item) = block_on(stream.next()) {
            let meta = item.map_err(|e| SourceError::io("", e))?;
            let path = meta
                .location
                .parts()
                .map(|p| percent_decode(p.as_ref()))
                .collect::<Vec<_>>()
                .join("/");
            out.push(ListedFile {
                path,
                size: meta.size,
            });
        }
        Ok(out)
    }

    /// A reader of the file from byte `start` on.
    pub fn reader(&self, path: &str, start: u64) -> Result<Box<dyn Read + Send>, SourceError> {
        let Some(root) = &self.local else {
            let location = StorePath::parse(path).map_err(|e| {
                SourceError::new(ErrorKind::Io, path, format!("{}: bad key: {e}", self.root))
            })?;
            let mut reader = RemoteReader::open(Arc::clone(&self.store), location, &self.root)?;
            reader
                .seek(SeekFrom::Start(start))
                .map_err(|e| SourceError::io(path, e))?;
            return Ok(Box::new(reader));
        };
        let full = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != "..")
            .fold(root.clone(), |acc, p| acc.join(p));
        let mut file = std::fs::File::open(&full).map_err(|e| SourceError::io(path, e))?;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| SourceError::io(path, e))?;
        Ok(Box::new(file))
    }

    /// The whole file, refusing files over `limit` bytes (schema files).
    pub fn read_all(&self, path: &str, limit: u64) -> Result<Vec<u8>, SourceError> {
        let mut out = Vec::new();
        self.reader(path, 0)?
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| SourceError::io(path, e))?;
        if out.len() as u64 > limit {
            return Err(SourceError::new(
                ErrorKind::Io,
                path,
                format!("file is larger than {limit} bytes"),
            ));
        }
        Ok(out)
    }
}

/// Undoes object_store's percent-encoding of a path segment.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::PutPayload;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("x%60f%22n.sql"), "x`f\"n.sql");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a%2"), "a%2");
    }

    #[test]
    fn tells_urls_from_paths() {
        assert!(is_remote("s3://bucket/dump"));
        assert!(is_remote("gcs://bucket"));
        assert!(!is_remote("/data/dump"));
        assert!(!is_remote("file:///data/dump"));
        assert!(!is_remote("relative/a://b"));
    }

    #[test]
    fn refuses_other_schemes_naming_the_url() {
        let err = SourceStore::open("gcs://bucket/dump").expect_err("gcs");
        assert_eq!(err.kind, ErrorKind::Unsupported);
        assert!(err.to_string().contains("gcs://bucket/dump"), "{err}");
    }

    #[test]
    fn lists_and_reads_exotic_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = "x`f\"n.exotic`table``name.sql";
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub").join(name), b"hello world").expect("write");
        let store = SourceStore::open(dir.path().to_str().expect("utf8")).expect("store");
        let files = store.list().expect("list");
        let want = format!("sub/{name}");
        assert_eq!(
            files,
            vec![ListedFile {
                path: want.clone(),
                size: 11
            }]
        );
        let mut s = String::new();
        store
            .reader(&want, 6)
            .expect("open")
            .read_to_string(&mut s)
            .expect("read");
        assert_eq!(s, "world");
    }

    #[test]
    fn remote_store_lists_raw_keys_and_reads_from_offsets() {
        let mem = Arc::new(InMemory::new());
        let key = "db.x`y.000000000.csv";
        let data: Vec<u8> = (0..3000u32).flat_map(|i| i.to_le_bytes()).collect();
        let location = StorePath::parse(key).expect("key");
        block_on(mem.put(&location, PutPayload::from(data.clone()))).expect("put");
        let store = SourceStore::with_store(mem, "memory://test");
        let files = store.list().expect("list");
        assert_eq!(
            files,
            vec![ListedFile {
                path: key.into(),
                size: data.len() as u64
            }]
        );
        let mut tail = Vec::new();
        store
            .reader(key, 4001)
            .expect("open")
            .read_to_end(&mut tail)
            .expect("read");
        assert_eq!(tail, data[4001..]);
        let err = store.reader("missing.csv", 0).err().expect("missing");
        assert!(err.to_string().contains("memory://test"), "{err}");
    }
}
