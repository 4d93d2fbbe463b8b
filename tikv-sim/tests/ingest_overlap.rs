//! The ingest accounting and TiKV's write-stall check, through the real
//! gRPC API (Write to every peer, MultiIngest on the leader) and the admin
//! HTTP API: disjoint SSTs never overlap nor stall; SSTs overlapping data
//! already in a store go to its L0 model, past TiKV's threshold ingests
//! answer ServerIsBusy (not in import mode), and they succeed again once
//! the model has compacted L0.

use std::time::{Duration, Instant};

use squall_proto::errorpb;
use squall_proto::import_sstpb::import_sst_client::ImportSstClient;
use squall_proto::import_sstpb::{
    self, pair, write_request, MultiIngestRequest, SstMeta, SwitchMode, SwitchModeRequest,
    WriteBatch, WriteRequest,
};
use squall_proto::kvrpcpb::Context;
use squall_proto::metapb;
use squall_proto::pdpb::{self, pd_client::PdClient};
use tikv_sim::admin::report::{fetch_ingests, reset_ingests, IngestReport};
use tikv_sim::keys::encode_bytes;
use tikv_sim::{LsmSettings, SimConfig, SimHandle};
use tonic::transport::Channel;

async fn channel(addr: &str) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("address")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .expect("connects")
}

struct Pd {
    client: PdClient<Channel>,
    header: Option<pdpb::RequestHeader>,
}

impl Pd {
    async fn connect(sim: &SimHandle) -> Self {
        let mut client = PdClient::new(channel(&sim.pd_addr.to_string()).await);
        let members = client
            .get_members(pdpb::GetMembersRequest::default())
            .await
            .expect("GetMembers")
            .into_inner();
        let cluster_id = members.header.expect("header").cluster_id;
        Pd {
            client,
            header: Some(pdpb::RequestHeader {
                cluster_id,
                sender_id: 0,
            }),
        }
    }

    async fn region_of(&mut self, raw: &[u8]) -> (metapb::Region, metapb::Peer) {
        let req = pdpb::GetRegionRequest {
            header: self.header,
            region_key: encode_bytes(raw),
            need_buckets: false,
        };
        let resp = self
            .client
            .get_region(req)
            .await
            .expect("GetRegion")
            .into_inner();
        (resp.region.expect("region"), resp.leader.expect("leader"))
    }

    async fn import_client(&mut self, store_id: u64) -> ImportSstClient<Channel> {
        let req = pdpb::GetStoreRequest {
            header: self.header,
            store_id,
        };
        let store = self
            .client
            .get_store(req)
            .await
            .expect("GetStore")
            .into_inner()
            .store
            .expect("store");
        ImportSstClient::new(channel(&store.address).await)
    }
}

fn put(key: &[u8], value: &[u8]) -> import_sstpb::Pair {
    import_sstpb::Pair {
        key: key.to_vec(),
        value: value.to_vec(),
        op: pair::Op::Put.into(),
    }
}

/// Writes sorted `pairs` to every peer of their region and MultiIngests the
/// leader's SSTs on the leader, as Lightning does; the ingest's region
/// error, if any.
async fn write_and_ingest(
    pd: &mut Pd,
    pairs: Vec<import_sstpb::Pair>,
    commit_ts: u64,
) -> Option<errorpb::Error> {
    let first = pairs.first().expect("pairs").key.clone();
    let last = pairs.last().expect("pairs").key.clone();
    let (region, leader) = pd.region_of(&first).await;
    let meta = SstMeta {
        uuid: uuid::Uuid::new_v4().as_bytes().to_vec(),
        region_id: region.id,
        region_epoch: region.region_epoch,
        range: Some(import_sstpb::Range {
            start: encode_bytes(&first),
            end: encode_bytes(&last),
        }),
        ..Default::default()
    };
    let mut leader_metas = Vec::new();
    for peer in &region.peers {
        let mut client = pd.import_client(peer.store_id).await;
        let msgs = vec![
            WriteRequest {
                chunk: Some(write_request::Chunk::Meta(meta.clone())),
                context: None,
            },
            WriteRequest {
                chunk: Some(write_request::Chunk::Batch(WriteBatch {
                    commit_ts,
                    pairs: pairs.clone(),
                })),
                context: None,
            },
        ];
        let resp = client
            .write(tokio_stream::iter(msgs))
            .await
            .expect("Write")
            .into_inner();
        assert_eq!(resp.error, None, "Write to store {}", peer.store_id);
        if peer.store_id == leader.store_id {
            leader_metas = resp.metas;
        }
    }
    let req = MultiIngestRequest {
        context: Some(Context {
            region_id: region.id,
            region_epoch: region.region_epoch,
            peer: Some(leader),
            ..Default::default()
        }),
        ssts: leader_metas,
    };
    let mut client = pd.import_client(leader.store_id).await;
    client
        .multi_ingest(req)
        .await
        .expect("MultiIngest")
        .into_inner()
        .error
}

async fn switch_mode(pd: &mut Pd, store_id: u64, mode: SwitchMode) {
    let mut client = pd.import_client(store_id).await;
    client
        .switch_mode(SwitchModeRequest {
            mode: mode.into(),
            ..Default::default()
        })
        .await
        .expect("SwitchMode");
}

fn key(i: u32) -> Vec<u8> {
    format!("t_{i:04}").into_bytes()
}

/// Waits until `done` holds for the sim's report (polled), at most `limit`.
async fn wait_for(
    sim: &SimHandle,
    limit: Duration,
    what: &str,
    done: impl Fn(&IngestReport) -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        let report = sim.ingest_report();
        if done(&report) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}: {:?}",
            report.stores
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disjoint_ssts_do_not_overlap_nor_stall() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = tikv_sim::start(SimConfig::new(dir.path()))
        .await
        .expect("sim starts");
    let mut pd = Pd::connect(&sim).await;
    let (_, leader) = pd.region_of(b"t_").await;
    // 15 SSTs of 10 keys each, in normal mode: past the stall threshold in
    // number, but none overlaps another, so none goes to L0.
    let long = vec![b'v'; 300];
    for sst in 0..15u32 {
        let pairs = (0..10)
            .map(|i| {
                let value: &[u8] = if i == 0 { &long } else { b"short" };
                put(&key(sst * 10 + i), value)
            })
            .collect();
        let err = write_and_ingest(&mut pd, pairs, 100 + u64::from(sst)).await;
        assert_eq!(err, None, "ingest {sst}");
    }
    let report = fetch_ingests(sim.admin_addr).await.expect("GET /ingests");
    assert_eq!(report.stores.len(), 3);
    for store in &report.stores {
        assert_eq!(
            (store.ingested_ssts, store.overlapping_ssts, store.l0_files),
            (30, 0, 0),
            "store {}: a write and a default CF file per ingest",
            store.store_id
        );
        assert_eq!(store.busy_answers, 0);
    }
    assert_eq!(report.ssts.len(), 90, "each peer's copy is listed");
    let leader_writes: Vec<_> = report
        .ssts
        .iter()
        .filter(|s| s.store_id == leader.store_id && s.cf == "write")
        .collect();
    assert_eq!(leader_writes.len(), 15);
    for (i, sst) in (0u32..).zip(&leader_writes) {
        assert_eq!(
            (sst.start_key.clone(), sst.end_key.clone()),
            (key(i * 10), key(i * 10 + 9))
        );
        assert_eq!(sst.kvs, 10);
        assert!(!sst.overlapping && sst.bytes > 0);
    }
    let defaults = report.ssts.iter().filter(|s| s.cf == "default");
    assert!(defaults
        .clone()
        .all(|s| s.kvs == 1 && s.start_key == s.end_key));
    assert_eq!(defaults.count(), 45);
    // One region's row range holds exactly one write-CF SST per store.
    assert_eq!(
        report.intersecting(2, "write", &key(20), &key(30)).count(),
        1
    );
    let json: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&report).expect("serializes")).expect("json");
    assert_eq!(json["ssts"][0]["start_key"], hex::encode(key(0)));
    let stores = sim.stores();
    assert!(stores
        .iter()
        .all(|s| s.ingested_ssts == 30 && s.overlapping_ssts == 0));

    // Reset clears the list and counters but not the model: an SST over
    // keys already ingested overlaps.
    reset_ingests(sim.admin_addr)
        .await
        .expect("POST /ingests/reset");
    let report = fetch_ingests(sim.admin_addr).await.expect("GET /ingests");
    assert!(report.ssts.is_empty());
    assert!(report.stores.iter().all(|s| s.ingested_ssts == 0));
    let err = write_and_ingest(&mut pd, vec![put(&key(5), b"x"), put(&key(25), b"y")], 200).await;
    assert_eq!(err, None);
    let report = sim.ingest_report();
    assert!(
        report
            .stores
            .iter()
            .all(|s| (s.ingested_ssts, s.overlapping_ssts, s.l0_files) == (1, 1, 1)),
        "{:?}",
        report.stores
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_ssts_stall_ingest_until_l0_compacts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = SimConfig::new(dir.path());
    // TiKV's triggers; a compaction slow enough (about 1 KiB SSTs) that L0
    // fills before the first one ends.
    let lsm = LsmSettings {
        compaction_bytes_per_sec: 800,
        ..LsmSettings::default()
    };
    cfg.lsm = lsm;
    let sim = tikv_sim::start(cfg).await.expect("sim starts");
    let mut pd = Pd::connect(&sim).await;
    let (_, leader) = pd.region_of(b"t_").await;
    let overlapping = |ts: u64| vec![put(&key(1), b"a"), put(&key(9), format!("{ts}").as_bytes())];

    let mut ts = 100;
    let busy = loop {
        ts += 1;
        if let Some(err) = write_and_ingest(&mut pd, overlapping(ts), ts).await {
            break err;
        }
        assert!(
            ts < 140,
            "no ServerIsBusy after {} overlapping ingests",
            ts - 100
        );
    };
    let reason = busy.server_is_busy.as_ref().map(|b| b.reason.clone());
    assert_eq!(
        reason.as_deref(),
        Some("too many sst files are ingesting"),
        "{busy:?}"
    );
    // TiKV's write-stall answer carries no backoff hint.
    assert_eq!(busy.server_is_busy.map(|b| b.backoff_ms), Some(0));
    let report = sim.ingest_report();
    let on_leader = report.store(leader.store_id).expect("leader store").clone();
    assert!(on_leader.l0_files > 10, "{on_leader:?}");
    assert_eq!(on_leader.busy_answers, 1);
    assert_eq!(
        on_leader.overlapping_ssts,
        on_leader.ingested_ssts - 1,
        "all but the first SST overlapped"
    );
    for s in report
        .stores
        .iter()
        .filter(|s| s.store_id != leader.store_id)
    {
        assert_eq!(s.busy_answers, 0, "TiKV checks on the leader only");
        assert_eq!(s.overlapping_ssts, on_leader.overlapping_ssts);
    }

    // Import mode skips the check, as in TiKV.
    switch_mode(&mut pd, leader.store_id, SwitchMode::Import).await;
    ts += 1;
    assert_eq!(write_and_ingest(&mut pd, overlapping(ts), ts).await, None);
    switch_mode(&mut pd, leader.store_id, SwitchMode::Normal).await;

    // Once the model has compacted L0 below the threshold, ingest works.
    wait_for(&sim, Duration::from_secs(90), "L0 compacted", |r| {
        r.store(leader.store_id).is_some_and(|s| s.l0_files <= 10)
    })
    .await;
    ts += 1;
    assert_eq!(write_and_ingest(&mut pd, overlapping(ts), ts).await, None);
    let report = sim.ingest_report();
    let on_leader = report.store(leader.store_id).expect("leader store");
    assert!(on_leader.l0_compactions >= 1, "{on_leader:?}");
    assert_eq!(on_leader.busy_answers, 1);
    sim.shutdown().await;
}
