//! The `ImportSST.Write` client stream: one SST meta, then write batches.
//!
//! The RPC runs in its own task fed by a small bounded channel, so a caller
//! can feed several peers' streams batch by batch with memory bounded by the
//! channel depth. When the store ends the stream early (it rejected the
//! meta), the next `send` fetches and returns the store's answer.
//!
//! Messages travel already encoded ([`EncodedWrite`]): a batch goes to every
//! replica of a region, and encoding it once instead of cloning and encoding
//! it per peer cut the import's CPU by about a fifth (3 replicas; see
//! BENCHMARKS.md). The bytes on the wire are the same protobuf
//! `WriteRequest`s.

use std::time::Duration;

use bytes::{BufMut as _, Bytes};
use prost::Message as _;
use squall_proto::import_sstpb::{
    self, write_request::Chunk, SstMeta, WriteBatch, WriteRequest, WriteResponse,
};
use squall_proto::kvrpcpb;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

use super::ImportClient;
use crate::error::ClientError;

/// Batches queued per stream before `send` waits for the store.
const STREAM_DEPTH: usize = 2;

/// An open Write stream to one store.
pub struct WriteStream {
    store_id: u64,
    addr: String,
    timeout: Duration,
    tx: Option<mpsc::Sender<EncodedWrite>>,
    call: Option<JoinHandle<Result<tonic::Response<WriteResponse>, tonic::Status>>>,
}

impl ImportClient {
    /// Opens a Write stream to `store_id` and sends `meta` (uuid, region id,
    /// epoch, range) as its first message.
    pub async fn open_write(
        &self,
        store_id: u64,
        context: kvrpcpb::Context,
        meta: SstMeta,
    ) -> Result<WriteStream, ClientError> {
        let (addr, channel) = self.channel(store_id).await?;
        let (tx, rx) = mpsc::channel(STREAM_DEPTH);
        let first = EncodedWrite::encode(&WriteRequest {
            chunk: Some(Chunk::Meta(meta)),
            context: Some(context),
        });
        // Cannot block: the channel is empty and has room.
        tx.send(first).await.map_err(|_| ClientError::Protocol {
            what: "Write",
            reason: "stream closed at open".into(),
        })?;
        let max_decoding = self.options().max_decoding_message_size;
        let call = tokio::spawn(call_write(channel, max_decoding, ReceiverStream::new(rx)));
        Ok(WriteStream {
            store_id,
            addr,
            timeout: self.options().rpc_timeout,
            tx: Some(tx),
            call: Some(call),
        })
    }

    /// Writes `batches` to `store_id` in one stream; returns the SST metas the
    /// store built. A convenience over [`ImportClient::open_write`].
    pub async fn write(
        &self,
        store_id: u64,
        context: kvrpcpb::Context,
        meta: SstMeta,
        batches: Vec<WriteBatch>,
    ) -> Result<Vec<SstMeta>, ClientError> {
        let result = async {
            let mut stream = self.open_write(store_id, context, meta).await?;
            for batch in batches {
                stream.send(EncodedWrite::batch(batch)).await?;
            }
            stream.finish().await
        }
        .await;
        if let Err(err) = &result {
            self.report_failure(store_id, err);
        }
        result
    }
}

impl WriteStream {
    /// The store this stream writes to.
    pub fn store_id(&self) -> u64 {
        self.store_id
    }

    /// The store's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends one encoded batch; waits at most the RPC timeout for the store
    /// to take it.
    pub async fn send(&mut self, msg: EncodedWrite) -> Result<(), ClientError> {
        let Some(tx) = self.tx.as_ref() else {
            return Err(ClientError::Protocol {
                what: "Write",
                reason: "send after the stream failed".into(),
            });
        };
        match tokio::time::timeout(self.timeout, tx.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            // The RPC task dropped the stream: the store answered early.
            Ok(Err(_)) => Err(self.early_answer().await),
            Err(_) => Err(ClientError::Timeout {
                method: "Write",
                addr: self.addr.clone(),
                after: self.timeout,
            }),
        }
    }

    /// Ends the stream and returns the SST metas the store built (the
    /// `default` CF file first, then `write`).
    pub async fn finish(mut self) -> Result<Vec<SstMeta>, ClientError> {
        self.tx = None;
        let resp = self.await_call().await?;
        match resp.error {
            Some(err) => Err(ClientError::write_rejected(self.store_id, err)),
            None => Ok(resp.metas),
        }
    }

    async fn early_answer(&mut self) -> ClientError {
        self.tx = None;
        match self.await_call().await {
            Ok(WriteResponse {
                error: Some(err), ..
            }) => ClientError::write_rejected(self.store_id, err),
            Ok(_) => ClientError::Protocol {
                what: "Write",
                reason: "store answered before the stream ended".into(),
            },
            Err(err) => err,
        }
    }

    async fn await_call(&mut self) -> Result<WriteResponse, ClientError> {
        let Some(call) = self.call.take() else {
            return Err(ClientError::Protocol {
                what: "Write",
                reason: "stream already finished".into(),
            });
        };
        let abort = call.abort_handle();
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(Ok(resp))) => Ok(resp.into_inner()),
            Ok(Ok(Err(status))) => Err(ClientError::rpc("Write", &self.addr, status)),
            Ok(Err(join)) => Err(ClientError::Protocol {
                what: "Write",
                reason: format!("stream task failed: {join}"),
            }),
            Err(_) => {
                abort.abort();
                Err(ClientError::Timeout {
                    method: "Write",
                    addr: self.addr.clone(),
                    after: self.timeout,
                })
            }
        }
    }
}

impl Drop for WriteStream {
    fn drop(&mut self) {
        // A stream abandoned mid-way (another peer failed) must not linger.
        if let Some(call) = self.call.take() {
            call.abort();
        }
    }
}

/// One `WriteRequest`, protobuf-encoded; cloning shares the bytes.
#[derive(Debug, Clone)]
pub struct EncodedWrite(Bytes);

impl EncodedWrite {
    /// A batch message (`chunk = batch`, no context), encoded once for every
    /// peer it goes to.
    pub fn batch(batch: WriteBatch) -> Self {
        Self::encode(&WriteRequest {
            chunk: Some(Chunk::Batch(batch)),
            context: None,
        })
    }

    fn encode(req: &WriteRequest) -> Self {
        Self(Bytes::from(req.encode_to_vec()))
    }

    /// The encoded `WriteRequest`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The batch inside, decoded again (tests and diagnostics); `None` for
    /// the meta message.
    pub fn decode_batch(&self) -> Option<WriteBatch> {
        match WriteRequest::decode(self.as_bytes()).ok()?.chunk? {
            Chunk::Batch(batch) => Some(batch),
            Chunk::Meta(_) => None,
        }
    }
}

/// The `ImportSST/Write` call of the generated stub, with a codec that
/// passes pre-encoded requests through.
async fn call_write(
    channel: Channel,
    max_decoding: usize,
    requests: ReceiverStream<EncodedWrite>,
) -> Result<tonic::Response<WriteResponse>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(max_decoding);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unknown(format!("Service was not ready: {e}")))?;
    let mut req = tonic::Request::new(requests);
    req.extensions_mut()
        .insert(tonic::GrpcMethod::new("import_sstpb.ImportSST", "Write"));
    let path = PathAndQuery::from_static("/import_sstpb.ImportSST/Write");
    grpc.client_streaming(req, path, EncodedWriteCodec).await
}

/// Encodes [`EncodedWrite`] by copying its bytes; decodes the response with
/// prost, as the generated stub does.
#[derive(Debug, Clone, Copy, Default)]
struct EncodedWriteCodec;

impl Codec for EncodedWriteCodec {
    type Encode = EncodedWrite;
    type Decode = WriteResponse;
    type Encoder = PassThrough;
    type Decoder = <ProstCodec<WriteRequest, WriteResponse> as Codec>::Decoder;

    fn encoder(&mut self) -> Self::Encoder {
        PassThrough
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<WriteRequest, WriteResponse>::default().decoder()
    }
}

#[derive(Debug, Clone, Copy)]
struct PassThrough;

impl Encoder for PassThrough {
    type Item = EncodedWrite;
    type Error = tonic::Status;

    fn encode(&mut self, item: EncodedWrite, buf: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        buf.put_slice(&item.0);
        Ok(())
    }
}

impl From<WriteBatch> for EncodedWrite {
    fn from(batch: WriteBatch) -> Self {
        Self::batch(batch)
    }
}

/// A batch of put pairs at `commit_ts`.
pub fn put_batch(
    commit_ts: u64,
    pairs: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>,
) -> WriteBatch {
    WriteBatch {
        commit_ts,
        pairs: pairs
            .into_iter()
            .map(|(key, value)| import_sstpb::Pair {
                key,
                value,
                op: import_sstpb::pair::Op::Put as i32,
            })
            .collect(),
    }
}
