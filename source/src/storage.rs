//! Where source files live: an `object_store` (the local filesystem now; S3
//! and GCS are other `ObjectStore`s), seen through blocking calls because the
//! parsers read `std::io::Read`. Paths are relative to the source directory,
//! `/`-separated and unescaped (object_store percent-encodes characters such
//! as backquotes and double quotes in its own paths).

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use bytes::Bytes;
use futures::executor::block_on;
use futures::stream::{BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::{Path as StorePath, PathPart};
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore};

use crate::error::{ErrorKind, SourceError};

/// One listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub path: String,
    pub size: u64,
}

#[derive(Clone)]
pub struct SourceStore {
    store: Arc<dyn ObjectStore>,
    /// For messages: the directory or URL.
    root: String,
    /// Local directory: files are opened with `std::fs`, because
    /// `LocalFileSystem` cannot open names it percent-encodes (backquotes,
    /// double quotes), which Dumpling writes for exotic table names.
    local: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for SourceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SourceStore({})", self.root)
    }
}

impl SourceStore {
    /// A store over `data-source-dir`: a local path or a `file://` URL.
    pub fn open(data_source_dir: &str) -> Result<Self, SourceError> {
        let dir = data_source_dir
            .strip_prefix("file://")
            .unwrap_or(data_source_dir);
        if dir.contains("://") {
            return Err(SourceError::new(
                ErrorKind::Unsupported,
                "",
                format!("data-source-dir {data_source_dir:?}: only local directories are supported so far"),
            ));
        }
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
            local: Some(std::path::PathBuf::from(dir)),
            ..Self::with_store(Arc::new(fs), dir)
        })
    }

    /// Any object store (tests, S3 later).
    pub fn with_store(store: Arc<dyn ObjectStore>, root: &str) -> Self {
        Self {
            store,
            root: root.to_string(),
            local: None,
        }
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    /// Every file under the root, sorted by path.
    pub fn list(&self) -> Result<Vec<ListedFile>, SourceError> {
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
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn location(path: &str) -> StorePath {
        StorePath::from_iter(
            path.split('/')
                .filter(|p| !p.is_empty())
                .map(PathPart::from),
        )
    }

    /// A reader of the file from byte `start` on.
    pub fn reader(&self, path: &str, start: u64) -> Result<Box<dyn Read + Send>, SourceError> {
        if let Some(root) = &self.local {
            let full = path
                .split('/')
                .filter(|p| !p.is_empty() && *p != "..")
                .fold(root.clone(), |acc, p| acc.join(p));
            let mut file = std::fs::File::open(&full).map_err(|e| SourceError::io(path, e))?;
            file.seek(SeekFrom::Start(start))
                .map_err(|e| SourceError::io(path, e))?;
            return Ok(Box::new(file));
        }
        let loc = Self::location(path);
        let opts = GetOptions {
            range: (start > 0).then_some(GetRange::Offset(start)),
            ..GetOptions::default()
        };
        let got =
            block_on(self.store.get_opts(&loc, opts)).map_err(|e| SourceError::io(path, e))?;
        match got.payload {
            GetResultPayload::File(mut file, _) => {
                file.seek(SeekFrom::Start(start))
                    .map_err(|e| SourceError::io(path, e))?;
                Ok(Box::new(file))
            }
            GetResultPayload::Stream(stream) => Ok(Box::new(StreamReader {
                stream,
                chunk: Bytes::new(),
                pos: 0,
            })),
        }
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

/// Blocking `Read` over an object store byte stream (remote stores).
struct StreamReader {
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
    pos: usize,
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.chunk.len() {
            match block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(b)) => {
                    self.chunk = b;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
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

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("x%60f%22n.sql"), "x`f\"n.sql");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a%2"), "a%2");
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
}
