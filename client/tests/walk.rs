//! The region walk and `write_and_ingest` against tikv-sim with injected
//! region errors: every key is written and read back exactly once, pieces
//! finished in part resume where they stopped, and a piece that keeps
//! failing ends the walk with its attempt count.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use squall_client::keys::next_key;
use squall_client::{
    put_batch, write_and_ingest, ClientOptions, ImportClient, PdClient, RegionPiece, RegionWalk,
    RetryPolicy, Visit, WalkError, WriteIngestError,
};
use tikv_sim::{SimConfig, SimHandle};

const KEYS: u32 = 600;

async fn start_sim(dir: &tempfile::TempDir) -> SimHandle {
    let mut cfg = SimConfig::new(dir.path());
    cfg.scatter_duration = Duration::from_millis(100);
    tikv_sim::start(cfg).await.expect("sim starts")
}

fn retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial: Duration::from_millis(5),
        max_interval: Duration::from_millis(50),
        ..RetryPolicy::default()
    }
}

async fn connect(sim: &SimHandle) -> ImportClient {
    let opts = ClientOptions {
        retry: retry(30),
        ..ClientOptions::for_test()
    };
    let pd = PdClient::connect(&[sim.pd_addr.to_string()], opts)
        .await
        .expect("PD answers");
    ImportClient::new(pd)
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

fn all_keys() -> Vec<Vec<u8>> {
    (0..KEYS).map(key).collect()
}

/// Splits the key space every `step` keys.
async fn split_every(client: &ImportClient, step: u32) {
    let keys: Vec<Vec<u8>> = (1..KEYS / step).map(|i| key(i * step)).collect();
    let region = client.pd().get_region(b"").await.expect("first region");
    client.split_region(&region, keys).await.expect("split");
}

/// Writes every key through the walk, one SST per region piece.
async fn write_all(client: &ImportClient, ts: u64) -> u64 {
    let keys = all_keys();
    let span = vec![(keys[0].clone(), next_key(&keys[keys.len() - 1]))];
    let walked = RegionWalk::new(client, "test write")
        .concurrency(3)
        .retry_if(|_| true)
        .run(span, |piece| {
            let inside: Vec<_> = keys
                .iter()
                .filter(|k| piece.region.contains(k) && **k >= piece.start)
                .map(|k| (k.clone(), k.clone()))
                .collect();
            async move {
                let (Some(first), Some(last)) = (inside.first(), inside.last()) else {
                    return Ok::<_, Infallible>(Visit::Done(0));
                };
                let range = (first.0.clone(), last.0.clone());
                let n = inside.len() as u64;
                let batches = inside.chunks(50).map(|c| Ok(put_batch(ts, c.to_vec())));
                let mut batches = futures::stream::iter(batches.collect::<Vec<_>>());
                let written = write_and_ingest::<_, _, Infallible>(
                    client,
                    &piece.region,
                    (&range.0, &range.1),
                    &mut batches,
                )
                .await;
                Ok(match written {
                    Ok(()) => Visit::Done(n),
                    Err(WriteIngestError::Client(err)) => Visit::Failed(err),
                    Err(WriteIngestError::Batches(never)) => match never {},
                })
            }
        })
        .await
        .expect("every region written");
    walked.values.iter().sum()
}

/// Reads `[start, end)` with pages of `page` pairs, each call reading one
/// page and handing the rest of its piece back as `Partial`.
async fn read_paged(client: &ImportClient, ts: u64, page: u32) -> (Vec<Vec<u8>>, u64) {
    let calls = AtomicU64::new(0);
    let walked = RegionWalk::new(client, "test scan")
        .concurrency(2)
        .run(
            vec![(b"key".to_vec(), b"kez".to_vec())],
            |piece: RegionPiece| {
                calls.fetch_add(1, Ordering::Relaxed);
                async move {
                    let pairs = match client
                        .kv_scan(&piece.region, &piece.start, &piece.end, page, ts)
                        .await
                    {
                        Ok(pairs) => pairs,
                        Err(err) => return Ok::<_, Infallible>(Visit::Failed(err)),
                    };
                    let keys: Vec<Vec<u8>> = pairs.into_iter().map(|(k, _)| k).collect();
                    Ok(match keys.last() {
                        Some(last) if keys.len() as u32 == page => Visit::Partial {
                            resume: next_key(last),
                            value: keys,
                            failure: None,
                        },
                        _ => Visit::Done(keys),
                    })
                }
            },
        )
        .await
        .expect("every region read");
    let keys = walked.values.into_iter().flatten().collect();
    (keys, calls.load(Ordering::Relaxed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walks_write_and_read_every_key_once_through_region_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir).await;
    let client = connect(&sim).await;
    split_every(&client, 100).await;
    let faults = sim.faults();
    for spec in [
        "rpc=Write,error=EpochNotMatch,rate=0.3,count=3",
        "rpc=MultiIngest,error=NotLeader,rate=0.3,count=3",
        "rpc=MultiIngest,error=ServerIsBusy,rate=0.3,count=2",
        "rpc=KvScan,error=NotLeader,rate=0.3,count=4",
        "rpc=KvScan,error=EpochNotMatch,rate=0.3,count=4",
        "rpc=ScanRegions,error=Unavailable,rate=0.2,count=2",
    ] {
        faults.inject_spec(spec).expect("valid fault");
    }
    let ts = client.pd().tso().await.expect("tso");
    assert_eq!(write_all(&client, ts).await, u64::from(KEYS));
    let read_ts = client.pd().tso().await.expect("tso");
    let (mut keys, calls) = read_paged(&client, read_ts, 7).await;
    let fired: u64 = faults.list().iter().map(|f| f.fired).sum();
    assert!(fired > 0, "no fault fired: {:?}", faults.list());
    assert_eq!(keys.len(), KEYS as usize, "each key read once");
    keys.sort();
    assert_eq!(keys, all_keys());
    // Six regions of 100 keys at 7 a page: the walk resumed each piece.
    assert!(calls >= 6 * 15, "{calls} calls");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_piece_that_keeps_failing_ends_the_walk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir).await;
    let client = &connect(&sim).await;
    split_every(client, 300).await;
    sim.faults()
        .inject_spec("rpc=KvScan,error=ServerIsBusy,rate=1")
        .expect("valid fault");
    let ts = client.pd().tso().await.expect("tso");
    let err = RegionWalk::new(client, "test scan")
        .policy(retry(3))
        .run(vec![(key(0), key(KEYS))], |piece| async move {
            Ok::<_, Infallible>(
                match client
                    .kv_scan(&piece.region, &piece.start, &piece.end, 10, ts)
                    .await
                {
                    Ok(_) => Visit::Done(()),
                    Err(err) => Visit::Failed(err),
                },
            )
        })
        .await
        .expect_err("every scan is refused");
    // The call cannot fail (`Infallible`): the piece did.
    let WalkError::Piece(failed) = err;
    assert_eq!((failed.range, failed.attempts), (0, 3));
    assert!(failed.source.region_error().is_some(), "{}", failed.source);
    // A non-retryable failure ends the walk at once.
    let once = RegionWalk::new(client, "test scan")
        .policy(retry(3))
        .run(vec![(key(0), key(1))], |_piece| async {
            Ok::<Visit<()>, Infallible>(Visit::Failed(squall_client::ClientError::StoreNotFound {
                store_id: 9,
            }))
        })
        .await;
    let WalkError::Piece(failed) = once.expect_err("fails");
    assert_eq!(failed.attempts, 1);
    sim.shutdown().await;
}
