//! Import mode and MultiIngest.

use futures::future::join_all;
use squall_proto::import_sstpb::{self, SwitchMode};
use squall_proto::{kvrpcpb, metapb};

use super::ImportClient;
use crate::error::ClientError;

impl ImportClient {
    /// Switches one store to `mode`.
    pub async fn switch_mode(&self, store_id: u64, mode: SwitchMode) -> Result<(), ClientError> {
        let stub = |ch| {
            let mut c = self.import_stub(ch);
            async move {
                c.switch_mode(import_sstpb::SwitchModeRequest {
                    mode: mode as i32,
                    ranges: vec![],
                })
                .await
            }
        };
        self.unary(store_id, "SwitchMode", stub).await.map(|_| ())
    }

    /// Switches every TiKV store (TiFlash has no import mode) to `mode`.
    /// Every store is tried; the first failure is returned after all ran.
    pub async fn switch_mode_all(&self, mode: SwitchMode) -> Result<(), ClientError> {
        let stores = self.pd().get_all_stores().await?;
        let calls = stores
            .iter()
            .filter(|s| !is_tiflash(s))
            .map(|s| async move { (s.id, self.switch_mode(s.id, mode).await) });
        let mut first_err = None;
        for (store_id, result) in join_all(calls).await {
            if let Err(err) = result {
                tracing::warn!(store_id, mode = mode.as_str_name(), error = %err, "switch mode failed");
                first_err.get_or_insert(err);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Ingests `ssts` (the leader's Write answer) on the region leader in one
    /// atomic MultiIngest. Sent **once**: an ingest can report an error and
    /// still have happened, so the answer to any failure is a new Write with
    /// a new uuid, never the same SSTs again (tikv#9496).
    pub async fn multi_ingest(
        &self,
        store_id: u64,
        context: kvrpcpb::Context,
        ssts: Vec<import_sstpb::SstMeta>,
    ) -> Result<(), ClientError> {
        let region_id = context.region_id;
        let req = import_sstpb::MultiIngestRequest {
            context: Some(context),
            ssts,
        };
        let stub = |ch| {
            let mut c = self.import_stub(ch);
            let req = req.clone();
            async move { c.multi_ingest(req).await }
        };
        let resp = self.unary_once(store_id, "MultiIngest", &stub).await?;
        match resp.error {
            Some(err) => Err(ClientError::region("MultiIngest", region_id, err)),
            None => Ok(()),
        }
    }
}

fn is_tiflash(store: &metapb::Store) -> bool {
    store
        .labels
        .iter()
        .any(|l| l.key == "engine" && l.value == "tiflash")
}
