//! Reads a job's pairs from the source on the blocking pool and cuts them
//! into `WriteBatch`es, encoded there (off the async runtime), stopping at
//! the stream cap. Memory is bounded by the channel depth times the batch
//! size.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::Stream;
use squall_client::{put_batch, EncodedWrite};
use tokio::sync::mpsc;

use super::error::IngestError;
use super::source::{SortedKvs, SourceError};

/// Batches buffered between the reader and the streams.
const DEPTH: usize = 2;

/// Limits of one Write stream and of its messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchLimits {
    pub pairs: usize,
    pub bytes: usize,
    pub stream_keys: u64,
    pub stream_bytes: u64,
}

/// What the reader sends.
pub(crate) enum Chunk {
    /// The next batch, its pairs and their key + value bytes.
    Batch {
        batch: EncodedWrite,
        kvs: u64,
        bytes: u64,
    },
    /// No more batches. `next` is the first key left out when the stream cap
    /// was reached, `None` when the whole span was read.
    End { next: Option<Vec<u8>> },
}

/// Starts reading `[start, end)` of `source`; the reader stops early when the
/// receiver is dropped.
pub(crate) fn read_batches<S: SortedKvs>(
    source: Arc<S>,
    (start, end): (Vec<u8>, Vec<u8>),
    commit_ts: u64,
    limits: BatchLimits,
) -> mpsc::Receiver<Result<Chunk, SourceError>> {
    let (tx, rx) = mpsc::channel(DEPTH);
    tokio::task::spawn_blocking(move || {
        let outcome = read(&*source, &start, &end, commit_ts, limits, &tx);
        // A closed receiver means the job was abandoned: nothing to report.
        let _ = match outcome {
            Ok(Some(next)) => tx.blocking_send(Ok(Chunk::End { next })),
            Ok(None) => Ok(()),
            Err(err) => tx.blocking_send(Err(err)),
        };
    });
    rx
}

/// The batches of one job as the stream `write_and_ingest` sends, counting
/// what went by and keeping where the stream cap stopped the reader.
pub(crate) struct JobBatches {
    rx: mpsc::Receiver<Result<Chunk, SourceError>>,
    /// Pairs and key + value bytes handed out so far.
    pub kvs: u64,
    pub bytes: u64,
    /// The first key left out at the stream cap (set at the end).
    pub next: Option<Vec<u8>>,
    ended: bool,
}

impl JobBatches {
    pub(crate) fn new(rx: mpsc::Receiver<Result<Chunk, SourceError>>) -> Self {
        Self {
            rx,
            kvs: 0,
            bytes: 0,
            next: None,
            ended: false,
        }
    }
}

impl Stream for JobBatches {
    type Item = Result<EncodedWrite, IngestError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let item = match ready!(self.rx.poll_recv(cx)) {
            Some(Ok(Chunk::Batch { batch, kvs, bytes })) => {
                self.kvs += kvs;
                self.bytes += bytes;
                return Poll::Ready(Some(Ok(batch)));
            }
            Some(Ok(Chunk::End { next })) => {
                self.next = next;
                None
            }
            Some(Err(err)) => Some(Err(IngestError::source(
                "reading a region job's pairs",
                err,
            ))),
            None => Some(Err(IngestError::Task(
                "the engine reader stopped without finishing".into(),
            ))),
        };
        self.ended = true;
        Poll::Ready(item)
    }
}

/// Returns `Ok(None)` when the receiver went away, else the `End` payload.
fn read<S: SortedKvs>(
    source: &S,
    start: &[u8],
    end: &[u8],
    commit_ts: u64,
    limits: BatchLimits,
    tx: &mpsc::Sender<Result<Chunk, SourceError>>,
) -> Result<Option<Option<Vec<u8>>>, SourceError> {
    let (mut pairs, mut size) = (Vec::new(), 0usize);
    let (mut stream_keys, mut stream_bytes) = (0u64, 0u64);
    let flush = |pairs: &mut Vec<(Vec<u8>, Vec<u8>)>, size: &mut usize| {
        let (kvs, bytes) = (pairs.len() as u64, *size as u64);
        *size = 0;
        let batch = EncodedWrite::batch(put_batch(commit_ts, std::mem::take(pairs)));
        tx.blocking_send(Ok(Chunk::Batch { batch, kvs, bytes }))
            .is_ok()
    };
    for item in source.iter(start, end) {
        let (key, value) = item?;
        if stream_keys >= limits.stream_keys || stream_bytes >= limits.stream_bytes {
            if !pairs.is_empty() && !flush(&mut pairs, &mut size) {
                return Ok(None);
            }
            return Ok(Some(Some(key)));
        }
        let kv_size = key.len() + value.len();
        stream_keys += 1;
        stream_bytes += kv_size as u64;
        size += kv_size;
        pairs.push((key, value));
        if (pairs.len() >= limits.pairs || size >= limits.bytes) && !flush(&mut pairs, &mut size) {
            return Ok(None);
        }
    }
    if !pairs.is_empty() && !flush(&mut pairs, &mut size) {
        return Ok(None);
    }
    Ok(Some(None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::source::MemKvs;

    fn limits(pairs: usize, bytes: usize, stream_keys: u64) -> BatchLimits {
        BatchLimits {
            pairs,
            bytes,
            stream_keys,
            stream_bytes: u64::MAX,
        }
    }

    async fn collect(
        mut rx: mpsc::Receiver<Result<Chunk, SourceError>>,
    ) -> (Vec<usize>, Option<Vec<u8>>) {
        let mut sizes = Vec::new();
        while let Some(item) = rx.recv().await {
            match item.expect("in-memory source") {
                Chunk::Batch { batch, kvs, .. } => {
                    let batch = batch.decode_batch().expect("an encoded batch");
                    assert_eq!(kvs, batch.pairs.len() as u64);
                    assert!(batch
                        .pairs
                        .iter()
                        .all(|p| batch.commit_ts == 7 && !p.key.is_empty()));
                    sizes.push(batch.pairs.len());
                }
                Chunk::End { next } => return (sizes, next),
            }
        }
        panic!("reader ended without End");
    }

    fn source(n: u32) -> Arc<MemKvs> {
        Arc::new(
            (0..n)
                .map(|i| (format!("k{i:03}").into_bytes(), vec![0u8; 6]))
                .collect(),
        )
    }

    #[tokio::test]
    async fn batches_by_count_and_bytes() {
        let rx = read_batches(
            source(10),
            (vec![], vec![]),
            7,
            limits(4, usize::MAX, u64::MAX),
        );
        assert_eq!(collect(rx).await, (vec![4, 4, 2], None));
        // 10 bytes a pair: 25 bytes per batch means a flush every 3 pairs.
        let rx = read_batches(source(10), (vec![], vec![]), 7, limits(100, 25, u64::MAX));
        assert_eq!(collect(rx).await, (vec![3, 3, 3, 1], None));
    }

    #[tokio::test]
    async fn stops_at_the_stream_cap_and_names_the_next_key() {
        let rx = read_batches(
            source(10),
            (b"k002".to_vec(), vec![]),
            7,
            limits(4, usize::MAX, 5),
        );
        assert_eq!(collect(rx).await, (vec![4, 1], Some(b"k007".to_vec())));
        let rx = read_batches(
            source(10),
            (b"k005".to_vec(), b"k007".to_vec()),
            7,
            limits(4, usize::MAX, 5),
        );
        assert_eq!(collect(rx).await, (vec![2], None));
    }
}
