//! DuplicateDetect against tikv-sim, through the kvproto clients: exactly
//! the planted duplicates come back, a newer Delete is a key error, and
//! large answers arrive in batches of at most 4096 pairs.

use squall_proto::import_sstpb::import_sst_client::ImportSstClient;
use squall_proto::import_sstpb::{DuplicateDetectRequest, DuplicateDetectResponse, Pair};
use squall_tests::kvproto::{context, delete, import, put, store_clients, Pd};
use squall_tests::sim::{pd_addr, start_sim};
use tonic::transport::Channel;

async fn detect(
    pd: &mut Pd,
    start: &[u8],
    end: &[u8],
    min_commit_ts: u64,
    key_only: bool,
) -> Vec<DuplicateDetectResponse> {
    let (region, leader) = pd.region_of(start).await;
    let (_, mut client): (_, ImportSstClient<Channel>) =
        store_clients(&pd.store_addr(leader.store_id).await).await;
    let req = DuplicateDetectRequest {
        context: Some(context(&region, &leader)),
        start_key: start.to_vec(),
        end_key: end.to_vec(),
        key_only,
        min_commit_ts,
    };
    let mut stream = client
        .duplicate_detect(req)
        .await
        .expect("DuplicateDetect")
        .into_inner();
    let mut out = Vec::new();
    while let Some(resp) = stream.message().await.expect("stream message") {
        out.push(resp);
    }
    out
}

fn triples(resps: &[DuplicateDetectResponse]) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
    resps
        .iter()
        .flat_map(|r| &r.pairs)
        .map(|p| (p.key.clone(), p.value.clone(), p.commit_ts))
        .collect()
}

fn t(key: &str, value: &str, ts: u64) -> (Vec<u8>, Vec<u8>, u64) {
    (key.as_bytes().to_vec(), value.as_bytes().to_vec(), ts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_exactly_the_planted_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let before = pd.tso().await;
    let existing = pd.tso().await;
    import(&mut pd, vec![put(b"r0", b"old")], existing)
        .await
        .expect("existing row");
    let min_commit_ts = pd.tso().await;
    let ts_a = pd.tso().await;
    let engine_a = ["r0", "r1", "r2", "r3", "r4"]
        .iter()
        .map(|k| put(k.as_bytes(), format!("a-{k}").as_bytes()))
        .collect();
    import(&mut pd, engine_a, ts_a).await.expect("engine a");
    let ts_b = pd.tso().await;
    let engine_b = ["r2", "r4", "r9"]
        .iter()
        .map(|k| put(k.as_bytes(), format!("b-{k}").as_bytes()))
        .collect();
    import(&mut pd, engine_b, ts_b).await.expect("engine b");

    let got = triples(&detect(&mut pd, b"r", b"s", min_commit_ts, false).await);
    let want = vec![
        // r0 existed before the import: the imported row conflicts with it.
        t("r0", "a-r0", ts_a),
        t("r0", "old", existing),
        t("r2", "b-r2", ts_b),
        t("r2", "a-r2", ts_a),
        t("r4", "b-r4", ts_b),
        t("r4", "a-r4", ts_a),
    ];
    assert_eq!(got, want);

    // Only the range asked for; everything below `before` counts as imported.
    let got = triples(&detect(&mut pd, b"r1", b"r3", before, false).await);
    assert_eq!(got, vec![t("r2", "b-r2", ts_b), t("r2", "a-r2", ts_a)]);

    // A Delete newer than min_commit_ts ends the stream with a key error.
    let ts_c = pd.tso().await;
    import(&mut pd, vec![delete(b"r2")], ts_c)
        .await
        .expect("deletion");
    let resps = detect(&mut pd, b"r", b"s", min_commit_ts, false).await;
    let last = resps.last().expect("a response");
    let message = last
        .key_error
        .as_ref()
        .map(|e| e.message.clone())
        .expect("key error");
    assert!(
        message.contains("Delete") && message.contains(&ts_c.to_string()),
        "{message}"
    );
    // After the deletion, checking from its ts on reports nothing.
    assert!(triples(&detect(&mut pd, b"r", b"s", ts_c, false).await).is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_answers_come_in_bounded_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let min = pd.tso().await;
    let keys: Vec<Vec<u8>> = (0..2500)
        .map(|i| format!("dup{i:05}").into_bytes())
        .collect();
    for ts_value in ["x", "y"] {
        let ts = pd.tso().await;
        let pairs: Vec<Pair> = keys.iter().map(|k| put(k, ts_value.as_bytes())).collect();
        import(&mut pd, pairs, ts).await.expect("import");
    }
    let resps = detect(&mut pd, b"dup", b"duq", min, false).await;
    let sizes: Vec<usize> = resps.iter().map(|r| r.pairs.len()).collect();
    assert_eq!(sizes, vec![4096, 5000 - 4096]);
    let key_only = detect(&mut pd, b"dup", b"duq", min, true).await;
    let pairs = triples(&key_only);
    // As in TiKV, key-only answers omit the newest version and all values.
    assert_eq!(pairs.len(), 2500);
    assert!(pairs.iter().all(|(_, v, _)| v.is_empty()));
    sim.shutdown().await;
}
