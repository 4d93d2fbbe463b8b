//! The ingest accounting behind `GET /ingests`: each store's L0 model (see
//! `store::lsm`), its counters, and the list of every SST file a store
//! ingested. Recorded beside the real RocksDB ingest, never instead of it.

use std::path::Path;
use std::time::Instant;

use squall_proto::import_sstpb::SstMeta;

use super::staging::SstStats;
use crate::admin::report::{IngestReport, IngestedSst, StoreIngests};
use crate::cluster::Cluster;
use crate::keys;
use crate::store::lsm::Placement;
use crate::store::StoreState;
use crate::util::lock;

/// What the staged file of `sst` at `path` on `store` holds: as noted when
/// it was written, else (the sim restarted since) the meta's range, with
/// the pair count unknown.
pub fn staged_stats(store: &StoreState, sst: &SstMeta, path: &Path) -> SstStats {
    if let Some(stats) = store.staged_stats(path) {
        return stats;
    }
    let range = sst.range.clone().unwrap_or_default();
    let raw = |encoded: &[u8]| keys::decode_user_key(encoded).unwrap_or_else(|_| encoded.to_vec());
    SstStats {
        first: raw(&range.start),
        last: raw(&range.end),
        kvs: 0,
        bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
    }
}

/// Records that `store` ingested `sst` (holding `stats`) for its region.
pub fn record(cluster: &Cluster, store: &StoreState, sst: &SstMeta, stats: &SstStats) {
    let placement = {
        let mut account = lock(&store.account);
        let placement = account.lsm.cf(&sst.cf_name).map(|cf| {
            cf.ingest(
                &stats.first,
                &stats.last,
                stats.bytes,
                Instant::now(),
                &cluster.settings.lsm,
            )
        });
        account.ingested += 1;
        if placement == Some(Placement::L0) {
            account.overlapping += 1;
        }
        placement
    };
    lock(&cluster.ingest_log).push(IngestedSst {
        store_id: store.id,
        region_id: sst.region_id,
        cf: sst.cf_name.clone(),
        start_key: stats.first.clone(),
        end_key: stats.last.clone(),
        kvs: stats.kvs,
        bytes: stats.bytes,
        overlapping: placement == Some(Placement::L0),
    });
}

/// The report as of now (finishing the compactions due).
pub fn report(cluster: &Cluster) -> IngestReport {
    IngestReport {
        stores: store_counts(cluster),
        ssts: lock(&cluster.ingest_log).clone(),
    }
}

/// Each store's counts as of now.
pub fn store_counts(cluster: &Cluster) -> Vec<StoreIngests> {
    let now = Instant::now();
    let settings = &cluster.settings.lsm;
    cluster
        .stores
        .iter()
        .map(|s| {
            let mut account = lock(&s.account);
            let l0_files = account.lsm.write.l0_files(now, settings);
            let default_cf_l0_files = account.lsm.default.l0_files(now, settings);
            StoreIngests {
                store_id: s.id,
                ingested_ssts: account.ingested,
                overlapping_ssts: account.overlapping,
                l0_files,
                busy_answers: account.busy,
                default_cf_l0_files,
                l0_compactions: account.lsm.write.compactions() + account.lsm.default.compactions(),
            }
        })
        .collect()
}

/// Clears the SST list and the counters; the L0 models stay as they are.
pub fn reset(cluster: &Cluster) {
    lock(&cluster.ingest_log).clear();
    for s in &cluster.stores {
        let mut account = lock(&s.account);
        account.ingested = 0;
        account.overlapping = 0;
        account.busy = 0;
    }
}
