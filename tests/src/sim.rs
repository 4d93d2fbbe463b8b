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
