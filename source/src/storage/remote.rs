//! Blocking access to a remote object store. The parsers are synchronous and
//! run on plain or blocking-pool threads, while HTTP clients (reqwest under
//! `AmazonS3`) need a tokio runtime: every remote call is spawned on one
//! process-wide runtime of our own and waited for with
//! `futures::executor::block_on`, which works on any thread, inside another
//! runtime's blocking pool too (a `Runtime::block_on` there would panic).
//!
//! [`RemoteReader`] reads an object in ranged GETs of [`BLOCK`] bytes, the
//! next one fetched while the current one is parsed. Bounded requests rather
//! than one stream per chunk: each request is done in well under the client's
//! request timeout whatever the parser's pace, and a failed one is retried by
//! itself (object_store's retry) instead of failing the whole chunk.

use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectMeta, ObjectStore};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use super::ListedFile;
use crate::error::{ErrorKind, SourceError};

/// Bytes per ranged GET. Two are held per open reader (the one being parsed
/// and the one prefetched): with `region-concurrency` readers that is 8 MiB
/// each, while 4 MiB keeps the per-request overhead (one round trip, about a
/// millisecond in-region) under a percent at S3's per-connection throughput.
pub(crate) const BLOCK: u64 = 4 << 20;

/// HTTP worker threads: requests are I/O bound, and the parsers, not the
/// runtime, use the CPU.
const RUNTIME_THREADS: usize = 2;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

fn runtime() -> Result<&'static Runtime, SourceError> {
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_THREADS)
            .thread_name("squall-storage")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    rt.as_ref().map_err(|e| {
        SourceError::new(
            ErrorKind::Io,
            "",
            format!("cannot start the object storage runtime: {e}"),
        )
    })
}

fn spawn<T: Send + 'static>(
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<JoinHandle<T>, SourceError> {
    Ok(runtime()?.spawn(fut))
}

/// Waits for a spawned call; a panicked or cancelled task is an error.
fn join<T>(task: JoinHandle<T>) -> io::Result<T> {
    futures::executor::block_on(task)
        .map_err(|e| io::Error::other(format!("object storage task failed: {e}")))
}

/// What to check for a failed call: the error text decides (object_store
/// wraps S3's answer, and list errors carry no typed status).
pub(crate) fn hint(err: &str) -> &'static str {
    let has = |needles: &[&str]| needles.iter().any(|n| err.contains(n));
    if has(&[
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "AccessDenied",
        "403 Forbidden",
        "401 Unauthorized",
        "credential",
    ]) {
        "check the credentials (access-key/secret-access-key in the URL, or \
         AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    } else if has(&["NoSuchBucket", "NoSuchKey", "404 Not Found", "not found"]) {
        "check the bucket name and the prefix in the URL"
    } else {
        "check the endpoint (reachable from this node?), the bucket and the credentials"
    }
}

/// One line naming the store, the key and what to check.
fn describe(root: &str, what: &str, err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    format!("{root}: {what}: {text}; {}", hint(&text))
}

/// Every object under the store's root.
pub(crate) fn list(
    store: &Arc<dyn ObjectStore>,
    root: &str,
) -> Result<Vec<ListedFile>, SourceError> {
    let store = Arc::clone(store);
    let task = spawn(async move { store.list(None).try_collect::<Vec<ObjectMeta>>().await })?;
    let metas = join(task)
        .map_err(|e| SourceError::new(ErrorKind::Io, "", describe(root, "listing", &e)))?
        .map_err(|e| SourceError::new(ErrorKind::Io, "", describe(root, "listing", &e)))?;
    Ok(metas
        .into_iter()
        .map(|m| ListedFile {
            path: m.location.as_ref().to_string(),
            size: m.size,
        })
        .collect())
}

/// A ranged block fetch in flight.
struct Fetch {
    start: u64,
    task: JoinHandle<object_store::Result<Bytes>>,
}

/// Blocking `Read + Seek` over one remote object.
pub(crate) struct RemoteReader {
    store: Arc<dyn ObjectStore>,
    location: StorePath,
    /// For messages: the store's URL without credentials.
    root: String,
    size: u64,
    pos: u64,
    block: Bytes,
    block_start: u64,
    ahead: Option<Fetch>,
}

impl RemoteReader {
    /// Opens the object (one HEAD for its size).
    pub(crate) fn open(
        store: Arc<dyn ObjectStore>,
        location: StorePath,
        root: &str,
    ) -> Result<Self, SourceError> {
        let (head_store, head_loc) = (Arc::clone(&store), location.clone());
        let task = spawn(async move { head_store.head(&head_loc).await })?;
        let key = location.as_ref().to_string();
        let fail = |e: &dyn std::fmt::Display| {
            SourceError::new(
                ErrorKind::Io,
                key.clone(),
                describe(root, &format!("opening {key}"), e),
            )
        };
        let meta = join(task).map_err(|e| fail(&e))?.map_err(|e| fail(&e))?;
        Ok(Self {
            store,
            location,
            root: root.to_string(),
            size: meta.size,
            pos: 0,
            block: Bytes::new(),
            block_start: 0,
            ahead: None,
        })
    }

    fn fetch(&self, start: u64) -> io::Result<Fetch> {
        let (store, loc) = (Arc::clone(&self.store), self.location.clone());
        let end = self.size.min(start + BLOCK);
        let task = spawn(async move { store.get_range(&loc, start..end).await })
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Fetch { start, task })
    }

    /// Makes the block holding `pos` current and prefetches the next one.
    fn load(&mut self) -> io::Result<()> {
        let start = self.pos;
        let fetch = match self.ahead.take() {
            Some(f) if f.start == start => f,
            other => {
                if let Some(stale) = other {
                    stale.task.abort();
                }
                self.fetch(start)?
            }
        };
        let what = format!("reading {} at byte {start}", self.location);
        let bytes =
            join(fetch.task)?.map_err(|e| io::Error::other(describe(&self.root, &what, &e)))?;
        if bytes.is_empty() {
            // The object shrank since its HEAD: stop rather than loop.
            let why = format!(
                "{}: {what}: no bytes (object changed while read?)",
                self.root
            );
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, why));
        }
        self.block_start = start;
        self.block = bytes;
        let next = start + self.block.len() as u64;
        if next < self.size {
            self.ahead = Some(self.fetch(next)?);
        }
        Ok(())
    }
}

impl Read for RemoteReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let block_end = self.block_start + self.block.len() as u64;
        if !(self.block_start..block_end).contains(&self.pos) {
            self.load()?;
        }
        let at = usize::try_from(self.pos - self.block_start).map_err(io::Error::other)?;
        let n = buf.len().min(self.block.len() - at);
        buf[..n].copy_from_slice(&self.block[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RemoteReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: seek before the start of {}", self.root, self.location),
            )
        })?;
        self.pos = target;
        Ok(target)
    }
}

impl Drop for RemoteReader {
    fn drop(&mut self) {
        if let Some(f) = self.ahead.take() {
            f.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::PutPayload;

    fn reader_over(data: &[u8]) -> RemoteReader {
        let mem: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let loc = StorePath::parse("d/f.bin").expect("key");
        let put = mem.put(&loc, PutPayload::from(data.to_vec()));
        futures::executor::block_on(put).expect("put");
        RemoteReader::open(mem, loc, "memory://t").expect("open")
    }

    #[test]
    fn reads_across_blocks_and_seeks_anywhere() {
        let len = (2 * BLOCK + 12345) as usize;
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let mut r = reader_over(&data);
        let mut all = Vec::new();
        r.read_to_end(&mut all).expect("read");
        assert!(all == data, "whole object read back");

        for start in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 12000] {
            assert_eq!(r.seek(SeekFrom::Start(start)).expect("seek"), start);
            let mut got = vec![0u8; 1000];
            let n = r.read(&mut got).expect("read");
            assert!(n > 0, "bytes at {start}");
            assert_eq!(
                got[..n],
                data[start as usize..start as usize + n],
                "at {start}"
            );
        }
        assert_eq!(r.seek(SeekFrom::End(-10)).expect("seek"), len as u64 - 10);
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).expect("read");
        assert_eq!(tail, data[len - 10..]);
        assert!(r.seek(SeekFrom::Current(-(len as i64) - 1)).is_err());
        r.seek(SeekFrom::Start(len as u64 + 5))
            .expect("seek past end");
        assert_eq!(r.read(&mut [0u8; 8]).expect("eof"), 0);
    }

    #[test]
    fn missing_object_names_store_and_key() {
        let mem: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let loc = StorePath::parse("d/none.csv").expect("key");
        let err = RemoteReader::open(mem, loc, "memory://t")
            .err()
            .expect("missing");
        let text = err.to_string();
        assert!(
            text.contains("memory://t") && text.contains("d/none.csv"),
            "{text}"
        );
        assert!(text.contains("check the bucket"), "{text}");
    }

    #[test]
    fn hints_follow_the_error() {
        assert!(hint("403 Forbidden SignatureDoesNotMatch").contains("credentials"));
        assert!(hint("NoSuchBucket").contains("bucket name"));
        assert!(hint("error sending request: connection refused").contains("endpoint"));
    }
}
