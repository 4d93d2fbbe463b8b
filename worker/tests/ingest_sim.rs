//! Region ingest against tikv-sim: a few thousand KVs into a 3-store
//! cluster, read back with KvScan at the commit ts, with and without
//! injected region errors and concurrent splits. Every run must end exact.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use squall_client::keys::min_end;
use squall_client::{
    ClientOptions, ImportClient, ImportModeKeeper, PdClient, RegionAction, RetryPolicy,
};
use squall_worker::ingest::{ingest_engine, IngestConfig, IngestError, MemKvs, SortedKvs};
use tikv_sim::{SimConfig, SimHandle};

const TABLE_ID: i64 = 42;

/// TiDB's record key `t{table}_r{handle}` (comparable big-endian ints).
fn record_key(handle: i64) -> Vec<u8> {
    let mut key = b"t".to_vec();
    key.extend_from_slice(&((TABLE_ID as u64) ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(b"_r");
    key.extend_from_slice(&((handle as u64) ^ (1 << 63)).to_be_bytes());
    key
}

/// `n` rows; every 7th value is longer than 255 bytes, so it goes to the
/// `default` CF and the Write answer carries two SSTs.
fn dataset(n: i64) -> MemKvs {
    (0..n)
        .map(|h| {
            let len = if h % 7 == 0 {
                300
            } else {
                20 + (h % 40) as usize
            };
            let value: Vec<u8> = (0..len).map(|i| (h as usize * 31 + i) as u8).collect();
            (record_key(h), value)
        })
        .collect()
}

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial: Duration::from_millis(5),
        max_interval: Duration::from_millis(100),
        ..RetryPolicy::default()
    }
}

/// Small regions so a few thousand KVs make many ranges and splits.
fn small_regions() -> IngestConfig {
    IngestConfig {
        region_split_size: 16 << 10,
        region_split_keys: 300,
        send_kv_pairs: 64,
        send_kv_bytes: 4 << 10,
        range_concurrency: 4,
        retry: fast_retry(30),
        scatter_wait: Duration::from_secs(2),
        scatter_poll: Duration::from_millis(20),
        ..IngestConfig::default()
    }
}

async fn start_sim(dir: &tempfile::TempDir, faults: &[&str]) -> SimHandle {
    let mut cfg = SimConfig::new(dir.path());
    cfg.scatter_duration = Duration::from_millis(50);
    cfg.seed = 7;
    for spec in faults {
        cfg.initial_faults
            .push(spec.parse().expect("valid fault spec"));
    }
    tikv_sim::start(cfg).await.expect("sim starts")
}

async fn connect(sim: &SimHandle) -> ImportClient {
    let opts = ClientOptions {
        retry: fast_retry(30),
        ..ClientOptions::for_test()
    };
    let pd = PdClient::connect(&[sim.pd_addr.to_string()], opts)
        .await
        .expect("PD answers");
    ImportClient::new(pd)
}

/// Every pair of raw `[start, end)` at `ts`, region by region, following
/// region errors (the read path must be as exact as the write path).
async fn read_back(
    client: &ImportClient,
    start: &[u8],
    end: &[u8],
    ts: u64,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut cursor = start.to_vec();
    let mut failures = 0;
    while cursor.as_slice() < end {
        let region = client
            .pd()
            .get_region(&cursor)
            .await
            .expect("region of cursor");
        let stop = min_end(end, &region.end).to_vec();
        match client.kv_scan(&region, &cursor, &stop, 256, ts).await {
            Ok(page) if page.len() == 256 => {
                let last = page.last().map(|(k, _)| k.clone()).expect("full page");
                out.extend(page);
                cursor = squall_client::keys::next_key(&last);
            }
            Ok(page) => {
                out.extend(page);
                cursor = stop;
            }
            Err(err) => {
                failures += 1;
                assert!(
                    failures < 50 && err.region_error().is_some(),
                    "read back failed: {err}"
                );
                if let Some(RegionAction::Backoff(_)) = err.region_error().map(|e| e.action()) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    out
}

async fn assert_exact(client: &ImportClient, source: &MemKvs, ts: u64) {
    let got = read_back(client, &record_key(i64::MIN), &record_key(i64::MAX), ts).await;
    assert_eq!(got.len(), source.map().len(), "pair count");
    assert!(got == *source.map(), "values differ from the source");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ingests_a_few_thousand_kvs_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &[]).await;
    let client = connect(&sim).await;
    let source = Arc::new(dataset(3000));
    let ts = client.pd().tso().await.expect("tso");
    let keeper = ImportModeKeeper::start(client.clone(), Duration::from_secs(60))
        .await
        .expect("import mode");
    assert!(
        sim.stores().iter().all(|s| s.import_mode),
        "all stores in import mode"
    );

    let progressed = Arc::new(AtomicU64::new(0));
    let seen = progressed.clone();
    let progress = Arc::new(move |bytes| {
        seen.fetch_add(bytes, Ordering::Relaxed);
    });
    let cfg = small_regions();
    let summary = ingest_engine(&client, source.clone(), ts, &cfg, Some(progress))
        .await
        .expect("ingest");
    keeper.finish().await.expect("back to normal");
    assert!(
        sim.stores().iter().all(|s| !s.import_mode),
        "all stores back in normal mode"
    );

    let bytes: u64 = source
        .map()
        .iter()
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum();
    assert_eq!(summary.kvs, 3000);
    assert_eq!(summary.bytes, bytes);
    assert_eq!(progressed.load(Ordering::Relaxed), bytes);
    let expected_ranges = source
        .ranges(cfg.region_split_size, cfg.region_split_keys)
        .expect("ranges");
    assert_eq!(summary.ranges, expected_ranges.len() as u64);
    assert!(summary.ranges > 5 && summary.split_keys > 5, "{summary:?}");
    assert!(
        sim.regions().len() as u64 > summary.ranges,
        "regions were split at range boundaries"
    );
    assert_exact(&client, &source, ts).await;
    // Nothing is visible before the commit ts.
    let before = read_back(
        &client,
        &record_key(i64::MIN),
        &record_key(i64::MAX),
        ts - 1,
    )
    .await;
    assert!(before.is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ends_exact_with_five_percent_of_each_region_error() {
    let faults = [
        "rpc=MultiIngest,error=NotLeader,rate=0.05",
        "rpc=MultiIngest,error=EpochNotMatch,rate=0.05",
        "rpc=MultiIngest,error=ServerIsBusy,rate=0.05",
        "rpc=MultiIngest,error=StaleCommand,rate=0.05",
        "rpc=MultiIngest,error=RegionNotFound,rate=0.05",
        "rpc=MultiIngest,error=Unavailable,rate=0.05",
        "rpc=Write,error=RequestTooNew,rate=0.05",
        "rpc=Write,error=RequestTooOld,rate=0.05",
        "rpc=Write,error=ServerIsBusy,rate=0.05",
        "rpc=Write,drop_stream_after=3,rate=0.05",
        "rpc=SplitRegion,error=NotLeader,rate=0.05",
        "rpc=SplitRegion,error=EpochNotMatch,rate=0.05",
        "rpc=SplitRegion,error=ServerIsBusy,rate=0.05",
        "rpc=ScanRegions,error=Unavailable,rate=0.05",
        "rpc=GetStore,error=Unavailable,rate=0.05",
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &faults).await;
    let client = connect(&sim).await;
    let source = Arc::new(dataset(3000));
    let ts = client.pd().tso().await.expect("tso");
    let summary = ingest_engine(&client, source.clone(), ts, &small_regions(), None)
        .await
        .expect("ingest despite faults");
    assert_eq!(summary.kvs, 3000);
    assert!(
        summary.retries > 0,
        "faults were hit and retried: {summary:?}"
    );
    sim.faults().clear();
    assert_exact(&client, &source, ts).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_splits_cause_epoch_changes_and_still_end_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &[]).await;
    let client = connect(&sim).await;
    let source = Arc::new(dataset(3000));
    let ts = client.pd().tso().await.expect("tso");
    let splitter_client = client.clone();
    let splitter = tokio::spawn(async move {
        let mut splits = 0;
        for h in (5..3000).step_by(37) {
            let key = record_key(h);
            let Ok(region) = splitter_client.pd().get_region(&key).await else {
                continue;
            };
            if region.strictly_contains(&key)
                && splitter_client
                    .split_region(&region, vec![key])
                    .await
                    .is_ok()
            {
                splits += 1;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        splits
    });
    // One big range at a time, so jobs run while regions split under them.
    let cfg = IngestConfig {
        region_split_size: 1 << 30,
        region_split_keys: 1 << 30,
        range_concurrency: 1,
        ..small_regions()
    };
    let summary = ingest_engine(&client, source.clone(), ts, &cfg, None)
        .await
        .expect("ingest during splits");
    let splits = splitter.await.expect("splitter");
    assert!(splits > 10, "the splitter split regions ({splits})");
    assert_eq!(summary.kvs, 3000);
    assert_exact(&client, &source, ts).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ingesting_twice_at_the_same_ts_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &[]).await;
    let client = connect(&sim).await;
    let source = Arc::new(dataset(500));
    let ts = client.pd().tso().await.expect("tso");
    for _ in 0..2 {
        ingest_engine(&client, source.clone(), ts, &small_regions(), None)
            .await
            .expect("ingest");
    }
    let versions = sim
        .dump_versions(&record_key(i64::MIN), &record_key(i64::MAX))
        .expect("dump");
    assert_eq!(versions.len(), 500, "one version per key");
    assert!(versions.iter().all(|v| v.commit_ts == ts));
    assert_exact(&client, &source, ts).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_range_that_keeps_failing_fails_the_ingest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &["rpc=MultiIngest,error=ServerIsBusy,rate=1"]).await;
    let client = connect(&sim).await;
    let source = Arc::new(dataset(200));
    let ts = client.pd().tso().await.expect("tso");
    let cfg = IngestConfig {
        retry: fast_retry(4),
        ..small_regions()
    };
    let err = ingest_engine(&client, source, ts, &cfg, None)
        .await
        .expect_err("every ingest is refused");
    assert!(
        matches!(err, IngestError::RangeFailed { attempts: 4, .. }),
        "{err}"
    );
    let zero = ingest_engine(&client, Arc::new(dataset(10)), 0, &cfg, None)
        .await
        .expect_err("ts 0");
    assert!(matches!(zero, IngestError::ZeroCommitTs));
    sim.shutdown().await;
}

/// A source whose size estimate is wrong: it reports one range for all
/// keys, so region jobs hit the stream cap and must split and go on.
struct OneRange(MemKvs);

impl SortedKvs for OneRange {
    fn ranges(
        &self,
        _: u64,
        _: u64,
    ) -> Result<Vec<squall_worker::ingest::KeyRange>, squall_worker::ingest::SourceError> {
        self.0.ranges(u64::MAX, u64::MAX)
    }
    fn first_and_last(
        &self,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>, squall_worker::ingest::SourceError> {
        self.0.first_and_last(start, end)
    }
    fn iter<'a>(&'a self, start: &[u8], end: &[u8]) -> squall_worker::ingest::PairIter<'a> {
        self.0.iter(start, end)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_size_estimate_is_cut_at_the_stream_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &[]).await;
    let client = connect(&sim).await;
    let data = dataset(2000);
    let source = Arc::new(OneRange(data.clone()));
    let ts = client.pd().tso().await.expect("tso");
    let regions_before = sim.regions().len();
    let summary = ingest_engine(&client, source, ts, &small_regions(), None)
        .await
        .expect("ingest");
    assert_eq!((summary.ranges, summary.kvs), (1, 2000));
    // 300 keys a region → a 400-key stream cap → at least 5 jobs and splits.
    assert!(summary.regions >= 5, "{summary:?}");
    assert!(
        sim.regions().len() >= regions_before + 4,
        "the rest was split off each time"
    );
    assert_exact(&client, &data, ts).await;
    sim.shutdown().await;
}
