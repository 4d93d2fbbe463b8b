//! PD's GC safepoints on tikv-sim, through the real `pdpb` API, and the
//! coordinator's `GcSafepointKeeper` on top of them:
//! * a service safepoint holds GC rounds back until its TTL ends, and a
//!   registration below the current minimum is refused;
//! * GC removes the older of two versions of a key once it passes both
//!   (what makes duplicate detection blind without a safepoint);
//! * the keeper renews its safepoint past the TTL, removes it on `finish`
//!   and on drop, and refuses to start when GC already passed the job.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use squall_client::{ClientOptions, PdClient};
use squall_coordinator::gc_safepoint::{service_id, GcSafepointKeeper};
use squall_tests::kvproto::{self, Pd};
use squall_tests::sim::start_sim;
use tikv_sim::{SimHandle, WriteKind};

async fn pd(sim: &SimHandle) -> PdClient {
    PdClient::connect(&[sim.pd_addr.to_string()], ClientOptions::for_test())
        .await
        .unwrap()
}

fn services(sim: &SimHandle) -> Vec<(String, u64)> {
    sim.gc_status()
        .unwrap()
        .service_safe_points
        .into_iter()
        .map(|s| (s.service_id, s.safe_point))
        .collect()
}

/// Polls `cond` every 20 ms for up to `within`.
async fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_safepoints_hold_gc_back_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim(dir.path()).await;
    let pd = pd(&sim).await;
    let t = pd.tso().await.unwrap();

    let answer = pd.update_service_gc_safe_point("br", 1, t).await.unwrap();
    // gc_worker starts at 0 on a new cluster: it is the minimum.
    assert_eq!(answer.min_service_id, "gc_worker");
    assert_eq!(answer.min_safe_point, 0);
    let round = sim.run_gc(Some(t + 1_000_000)).await.unwrap();
    assert_eq!(round.gc_safe_point, t, "held at the service safepoint");
    assert_eq!(round.held_by.as_deref(), Some("br"));
    assert_eq!(pd.gc_safe_point().await.unwrap(), t);

    // Below the minimum (now gc_worker's t + 1_000_000 or br's t): refused.
    let refused = pd
        .update_service_gc_safe_point("late", 60, t - 1)
        .await
        .unwrap();
    assert_eq!(refused.min_safe_point, t);
    assert!(!services(&sim).iter().any(|(id, _)| id == "late"));

    // After br's 1 s TTL, nothing holds GC back.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let round = sim.run_gc(Some(t + 1_000_000)).await.unwrap();
    assert_eq!(round.gc_safe_point, t + 1_000_000);
    assert_eq!(round.held_by, None);
    assert!(!services(&sim).iter().any(|(id, _)| id == "br"));

    // TTL 0 removes; gc_worker's entry cannot be removed.
    pd.update_service_gc_safe_point("cdc", 60, t + 2_000_000)
        .await
        .unwrap();
    assert!(services(&sim).iter().any(|(id, _)| id == "cdc"));
    pd.update_service_gc_safe_point("cdc", 0, 0).await.unwrap();
    assert!(!services(&sim).iter().any(|(id, _)| id == "cdc"));
    let err = pd
        .update_service_gc_safe_point("gc_worker", 0, 0)
        .await
        .expect_err("PD refuses to remove gc_worker");
    assert!(err.to_string().contains("gc_worker"), "{err}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_collects_the_older_of_two_ingested_versions() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim(dir.path()).await;
    let pd = pd(&sim).await;
    let mut raw = Pd::connect(&sim.pd_addr.to_string()).await.unwrap();
    let t1 = pd.tso().await.unwrap();
    kvproto::import(&mut raw, vec![kvproto::put(b"tk", b"first")], t1)
        .await
        .unwrap();
    let t2 = pd.tso().await.unwrap();
    kvproto::import(&mut raw, vec![kvproto::put(b"tk", b"second")], t2)
        .await
        .unwrap();
    assert_eq!(sim.dump_versions(b"tk", b"tl").unwrap().len(), 2);

    // A safepoint between the two versions keeps both.
    let held = pd
        .update_service_gc_safe_point("job", 60, t1)
        .await
        .unwrap();
    assert!(held.min_safe_point <= t1);
    let now = t2 + (1 << 30);
    sim.run_gc(Some(now)).await.unwrap();
    assert_eq!(sim.dump_versions(b"tk", b"tl").unwrap().len(), 2);

    // Without it, the next round passes both and keeps only the newer.
    pd.update_service_gc_safe_point("job", 0, 0).await.unwrap();
    let round = sim.run_gc(Some(t2 + 1)).await.unwrap();
    assert_eq!(round.gc_safe_point, t2 + 1);
    let left = sim.dump_versions(b"tk", b"tl").unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].commit_ts, t2);
    assert_eq!(left[0].kind, WriteKind::Put);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keeper_renews_removes_and_refuses_a_passed_start() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim(dir.path()).await;
    let pd = pd(&sim).await;
    let start_ts = pd.tso().await.unwrap();
    let ours = service_id("jtest");

    // A 1 s TTL renewed every ~333 ms outlives its TTL.
    let keeper = GcSafepointKeeper::start(&pd, "jtest", start_ts, Duration::from_secs(1), false)
        .await
        .unwrap()
        .expect("registered");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(services(&sim).contains(&(ours.clone(), start_ts)));
    let round = sim.run_gc(Some(start_ts + 1_000_000)).await.unwrap();
    assert_eq!(round.gc_safe_point, start_ts);
    assert!(keeper.lost().is_none());
    keeper.finish().await.unwrap();
    assert!(!services(&sim).iter().any(|(id, _)| *id == ours));

    // Dropped without finish (an early error): removed from a spawned task.
    let later = pd.tso().await.unwrap();
    let keeper = GcSafepointKeeper::start(&pd, "jtest", later, Duration::from_secs(60), false)
        .await
        .unwrap()
        .expect("registered");
    assert!(services(&sim).iter().any(|(id, _)| *id == ours));
    drop(keeper);
    assert!(
        eventually(Duration::from_secs(5), || !services(&sim)
            .iter()
            .any(|(id, _)| *id == ours))
        .await,
        "a dropped keeper removes its safepoint"
    );

    // TTL 0 in the config: nothing registered.
    assert!(
        GcSafepointKeeper::start(&pd, "jtest", later, Duration::ZERO, false)
            .await
            .unwrap()
            .is_none()
    );

    // GC already passed the job's start ts (a job resumed after a long stop).
    sim.run_gc(Some(later + 10)).await.unwrap();
    let err = GcSafepointKeeper::start(&pd, "jtest", later, Duration::from_secs(60), false)
        .await
        .err()
        .expect("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("GC has passed") && msg.contains(&later.to_string()),
        "{msg}"
    );
    // A new job (no ts used but its start ts) registers at a fresh ts.
    let keeper = GcSafepointKeeper::start(&pd, "jnew", later, Duration::from_secs(60), true)
        .await
        .unwrap()
        .expect("registered");
    let held = keeper.safe_point();
    assert!(held > later + 10, "{held} is above GC's {}", later + 10);
    assert!(services(&sim).contains(&(service_id("jnew"), held)));
    keeper.finish().await.unwrap();
    sim.shutdown().await;
}
