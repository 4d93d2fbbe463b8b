//! Starting an in-process tikv-sim for a test.

use std::path::Path;

use tikv_sim::{SimConfig, SimHandle};

/// A 3-store sim on free ports of 127.0.0.1, data under `dir`.
pub async fn start_sim(dir: &Path) -> SimHandle {
    start_sim_with(SimConfig::new(dir)).await
}

pub async fn start_sim_with(cfg: SimConfig) -> SimHandle {
    tikv_sim::start(cfg).await.expect("tikv-sim starts")
}

/// PD's address as clients dial it.
pub fn pd_addr(sim: &SimHandle) -> String {
    sim.pd_addr.to_string()
}

/// Splits the region holding each of `keys` at it, one after another,
/// until `stop`; returns how many splits were made (tests that split
/// regions under a running import or backfill). Errors (a key on a
/// region's edge, a stale epoch) are skipped: the next key goes on.
pub async fn keep_splitting(
    pd_addr: String,
    keys: Vec<Vec<u8>>,
    stop: tokio_util::sync::CancellationToken,
) -> u64 {
    let options = squall_client::ClientOptions::for_test();
    let pd = squall_client::PdClient::connect(&[pd_addr], options)
        .await
        .expect("PD of the sim");
    let client = squall_client::ImportClient::new(pd.clone());
    let mut made = 0;
    for key in keys.iter().cycle() {
        if stop.is_cancelled() {
            break;
        }
        let Ok(region) = pd.get_region(key).await else {
            continue;
        };
        if region.start.as_slice() < key.as_slice()
            && (region.end.is_empty() || key.as_slice() < region.end.as_slice())
            && client
                .split_region(&region, vec![key.clone()])
                .await
                .is_ok()
        {
            made += 1;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    made
}
