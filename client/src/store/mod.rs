//! Calls to TiKV stores: the ImportSST service (mode, Write, MultiIngest,
//! DuplicateDetect) and the Tikv service (KV reads, SplitRegion, coprocessor
//! checksum). Stores are found through PD; channels are cached per address.

mod coprocessor;
mod duplicate;
mod import;
mod kv;
mod split;
mod write;

use std::future::Future;
use std::sync::Arc;

use squall_proto::import_sstpb::import_sst_client::ImportSstClient;
use squall_proto::tikvpb::tikv_client::TikvClient;
use tonic::transport::Channel;

use crate::channels::ChannelPool;
use crate::error::ClientError;
use crate::options::ClientOptions;
use crate::pd::PdClient;
use crate::retry::{retry_if, with_timeout};

pub use duplicate::DuplicateStream;
pub use kv::KvPair;
pub use write::{put_batch, EncodedWrite, WriteStream};

/// A cheap-to-clone client for every TiKV store of the cluster.
#[derive(Clone)]
pub struct ImportClient {
    pd: PdClient,
    channels: Arc<ChannelPool>,
}

impl ImportClient {
    /// A client that finds stores through `pd` and shares its options.
    pub fn new(pd: PdClient) -> Self {
        let channels = Arc::new(ChannelPool::new(pd.options().clone()));
        Self { pd, channels }
    }

    pub fn pd(&self) -> &PdClient {
        &self.pd
    }

    pub fn options(&self) -> &ClientOptions {
        self.pd.options()
    }

    /// The address of store `store_id` and a channel to it.
    async fn channel(&self, store_id: u64) -> Result<(String, Channel), ClientError> {
        let addr = self.pd.store_address(store_id).await?;
        let channel = self.channels.get(&addr)?;
        Ok((addr, channel))
    }

    fn import_stub(&self, channel: Channel) -> ImportSstClient<Channel> {
        ImportSstClient::new(channel)
            .max_decoding_message_size(self.options().max_decoding_message_size)
    }

    fn tikv_stub(&self, channel: Channel) -> TikvClient<Channel> {
        TikvClient::new(channel).max_decoding_message_size(self.options().max_decoding_message_size)
    }

    /// Tells the client a call to `store_id` failed with `err`. After a
    /// transport failure the store's address and channels are forgotten, so
    /// the next call asks PD where the store is and dials it again.
    pub fn report_failure(&self, store_id: u64, err: &ClientError) {
        if let (true, Some(addr)) = (err.is_transport(), err.addr()) {
            self.pd.invalidate_store(store_id);
            self.channels.invalidate(addr);
        }
    }

    /// One unary call to a store with a deadline, retried with backoff while
    /// the failure is transient (region errors go back to the caller).
    async fn unary<Resp, F, Fut>(
        &self,
        store_id: u64,
        method: &'static str,
        f: F,
    ) -> Result<Resp, ClientError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        self.unary_within(store_id, method, self.options().rpc_timeout, f)
            .await
    }

    /// [`Self::unary`] with its own deadline per attempt, for calls that
    /// scan a whole region before answering (a coprocessor checksum).
    async fn unary_within<Resp, F, Fut>(
        &self,
        store_id: u64,
        method: &'static str,
        after: std::time::Duration,
        f: F,
    ) -> Result<Resp, ClientError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        retry_if(
            method,
            &self.options().retry,
            ClientError::is_transient,
            || self.attempt(store_id, method, after, &f),
        )
        .await
    }

    /// A single attempt, for calls that must not be repeated blindly.
    async fn unary_once<Resp, F, Fut>(
        &self,
        store_id: u64,
        method: &'static str,
        f: &F,
    ) -> Result<Resp, ClientError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        self.attempt(store_id, method, self.options().rpc_timeout, f)
            .await
    }

    async fn attempt<Resp, F, Fut>(
        &self,
        store_id: u64,
        method: &'static str,
        after: std::time::Duration,
        f: &F,
    ) -> Result<Resp, ClientError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let (addr, channel) = self.channel(store_id).await?;
        let result = with_timeout(method, &addr, after, f(channel)).await;
        if let Err(err) = &result {
            self.report_failure(store_id, err);
        }
        result
    }
}
