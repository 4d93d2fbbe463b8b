//! An in-process tikv-sim and the cluster-side helpers the end-to-end
//! conflict tests need: TSO, ingest of a real local engine (the worker's
//! `LocalEngine` + region ingest, local duplicates recorded by the worker's
//! own duplicate pass), and read-back with KvScan.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use squall_client::keys::next_key;
use squall_client::{ClientOptions, ImportClient, PdClient, RetryPolicy};
use squall_common::checkpoint::ChunkSpec;
use squall_common::config::ImporterConfig;
use squall_worker::engine::LocalEngine;
use squall_worker::ingest::{ingest_engine, IngestConfig, MemKvs};
use squall_worker::task::engine_kvs::EngineKvs;
use squall_worker::task::{duplicates, row_tag};
use tikv_sim::{SimConfig, SimHandle};

use crate::duplicate::context::EngineSource;
use crate::duplicate::worker_files::duplicates_path;

/// A source row's tag and the KVs it encodes to.
pub type TaggedRow = (u64, Vec<(Vec<u8>, Vec<u8>)>);

pub struct Fixture {
    /// Most KVs per region when ingesting (small: many regions).
    pub split_keys: u64,
    pub sim: SimHandle,
    pub client: ImportClient,
    pub dir: tempfile::TempDir,
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 12,
        initial: Duration::from_millis(5),
        max_interval: Duration::from_millis(100),
        ..RetryPolicy::default()
    }
}

fn ingest_config(split_keys: u64) -> IngestConfig {
    // Small regions: the tables span many regions, so detection runs in
    // parallel over them and region errors hit only some.
    IngestConfig {
        region_split_keys: split_keys,
        retry: fast_retry(),
        scatter_wait: Duration::from_secs(5),
        scatter_poll: Duration::from_millis(50),
        ..IngestConfig::default()
    }
}

impl Fixture {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sim = tikv_sim::start(SimConfig::new(dir.path().join("sim")))
            .await
            .expect("tikv-sim starts");
        let opts = ClientOptions {
            retry: fast_retry(),
            ..ClientOptions::for_test()
        };
        let pd = PdClient::connect(&[sim.pd_addr.to_string()], opts)
            .await
            .expect("PD answers");
        Self {
            split_keys: 60,
            client: ImportClient::new(pd),
            sim,
            dir,
        }
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    pub async fn tso(&self) -> u64 {
        self.client.pd().tso().await.expect("TSO")
    }

    /// Puts `kvs` at `ts` (rows that were in the table before the import).
    pub async fn put(&self, kvs: BTreeMap<Vec<u8>, Vec<u8>>, ts: u64) {
        ingest_engine(
            &self.client,
            Arc::new(MemKvs::new(kvs)),
            ts,
            &ingest_config(self.split_keys),
            None,
        )
        .await
        .expect("ingest");
    }

    /// Encodes nothing itself: `rows` are `(row tag, KVs)` in source order.
    /// Builds a real local engine, ingests its first copies at `ts`, and
    /// lets the worker's duplicate pass write its report under `output`.
    /// Returns the engine as the plan knows it and the ingested KVs.
    pub async fn engine(
        &self,
        output: &Path,
        table_id: i64,
        engine_id: u32,
        ordinal: u32,
        ts: u64,
        rows: &[TaggedRow],
    ) -> (EngineSource, BTreeMap<Vec<u8>, Vec<u8>>) {
        let cfg = ImporterConfig {
            sorted_kv_dir: self.path("sorted").display().to_string(),
            ..ImporterConfig::default()
        };
        let engine = LocalEngine::open(
            &self.path("sorted"),
            &format!("t{table_id}-e{engine_id}"),
            &cfg,
        )
        .expect("open engine");
        let mut writer = engine.writer().expect("writer");
        for (tag, kvs) in rows {
            for (k, v) in kvs {
                writer.append(k, v, *tag).expect("append");
            }
        }
        writer.close().expect("close writer");
        engine.finish_writes().expect("finish");
        let chunk = chunk_spec(ordinal);
        let out = duplicates_path(output, table_id, engine_id);
        let (e2, chunks) = (engine.clone(), vec![chunk.clone()]);
        tokio::task::spawn_blocking(move || {
            duplicates::collect(&e2, &chunks, "t", &out).map_err(|e| e.to_string())
        })
        .await
        .expect("joins")
        .expect("duplicate pass");
        ingest_engine(
            &self.client,
            Arc::new(EngineKvs(engine.clone())),
            ts,
            &ingest_config(self.split_keys),
            None,
        )
        .await
        .expect("ingest engine");
        let mut first: BTreeMap<Vec<u8>, (u64, Vec<u8>)> = BTreeMap::new();
        for (tag, kvs) in rows {
            for (k, v) in kvs {
                let slot = first.entry(k.clone()).or_insert((*tag, v.clone()));
                if *tag < slot.0 {
                    *slot = (*tag, v.clone());
                }
            }
        }
        let ingested = first.into_iter().map(|(k, (_, v))| (k, v)).collect();
        (
            EngineSource {
                engine_id,
                commit_ts: ts,
                chunks: vec![chunk],
            },
            ingested,
        )
    }

    /// Every visible KV of raw `[start, end)` at `ts`, region by region.
    pub async fn scan(&self, start: &[u8], end: &[u8], ts: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut cursor = start.to_vec();
        while cursor.as_slice() < end {
            let region = self.client.pd().get_region(&cursor).await.expect("region");
            let region_end = if region.end.is_empty() || region.end.as_slice() > end {
                end.to_vec()
            } else {
                region.end.clone()
            };
            loop {
                let page = self
                    .client
                    .kv_scan(&region, &cursor, &region_end, 256, ts)
                    .await
                    .expect("KvScan");
                let full = page.len() == 256;
                if let Some((last, _)) = page.last() {
                    cursor = next_key(last);
                }
                out.extend(page);
                if !full {
                    break;
                }
            }
            cursor = region_end;
        }
        out
    }

    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}

/// The chunk an engine's rows come from: `db.t.<ordinal>.csv`.
pub fn chunk_spec(ordinal: u32) -> ChunkSpec {
    crate::duplicate::context::test_chunk(ordinal)
}

/// The worker's tag of the `i`-th row of chunk `ordinal` (rows 10 bytes apart).
pub fn tag(ordinal: u32, i: usize) -> u64 {
    row_tag::pack(ordinal, i as u64 * 10)
}
