//! ImportSST.Ingest / MultiIngest: on the leader, check the region and the
//! staged files, then ingest every SST of the request into RocksDB
//! (`default` before `write`, so a visible write record never points at a
//! missing value). Each peer's staged copy is consumed, as each TiKV peer
//! ingests its own copy when it applies the command; a staged file can thus
//! be ingested once, and a repeat gets StaleCommand like TiKV.
//!
//! Before that, TiKV's write-stall check, on the store's L0 model (see
//! `store::lsm`) rather than on the sim's shared RocksDB; every ingested file
//! is then accounted on each store that ingested it (`accounting`).

use std::path::{Path, PathBuf};

use rocksdb::IngestExternalFileOptions;
use squall_proto::import_sstpb::{IngestResponse, SstMeta};
use squall_proto::kvrpcpb::Context;
use squall_proto::{errorpb, metapb};
use tonic::Status;

use super::accounting;
use super::staging::{staged_path, SstStats};
use crate::cluster::ClusterState;
use crate::faults::Rpc;
use crate::region::RegionMeta;
use crate::storage::{CF_DEFAULT, CF_WRITE};
use crate::store::check::{check_context, current_regions, EpochCheck};
use crate::store::{errors, Refusal, StoreService};
use crate::util::lock;

pub async fn ingest(
    svc: &StoreService,
    rpc: Rpc,
    ctx: Context,
    ssts: Vec<SstMeta>,
) -> Result<IngestResponse, Status> {
    let first_key = ssts
        .first()
        .and_then(|s| s.range.as_ref())
        .map(|r| r.start.clone());
    match svc.admit(rpc, ctx.region_id, first_key.as_deref()).await {
        Ok(_) => {}
        Err(Refusal::Status(s)) => return Err(s),
        Err(Refusal::Region(e)) => return Ok(IngestResponse { error: Some(e) }),
        Err(Refusal::Import(m)) => {
            return Ok(IngestResponse {
                error: Some(errors::other(m)),
            })
        }
    }
    let svc = svc.clone();
    let result = tokio::task::spawn_blocking(move || ingest_blocking(&svc, &ctx, &ssts))
        .await
        .map_err(|e| Status::internal(format!("ingest task failed: {e}")))?;
    Ok(IngestResponse {
        error: result.err(),
    })
}

fn ingest_blocking(
    svc: &StoreService,
    ctx: &Context,
    ssts: &[SstMeta],
) -> Result<(), errorpb::Error> {
    let latched = {
        // TiKV checks the stall and latches the files under one guard, so
        // concurrent ingests see each other as in flight.
        let _admission = lock(&svc.store.admission);
        check_write_stall(svc)?;
        let paths = paths_on(&svc.store.staging, ssts)?;
        svc.store.latch(&paths).then_some(paths)
    };
    let Some(paths) = latched else {
        return Err(errors::other("ingest file conflict".into()));
    };
    let result = apply(svc, ctx, ssts, &paths);
    svc.store.unlatch(&paths);
    result
}

/// TiKV's `check_write_stall` (`src/import/ingest.rs`): outside import mode,
/// ServerIsBusy when `ingest_maybe_slowdown_writes` says the write CF's L0
/// plus the write-CF SSTs being ingested may stall writes. In import mode
/// TiKV skips the check (and raises the L0 triggers to 2^30 anyway), so the
/// sim does too; its model keeps compacting in both modes. Like TiKV's, the
/// answer carries no `backoff_ms`: the client picks its own wait. The check
/// runs on the store that received the ingest (the leader) only, as TiKV's.
fn check_write_stall(svc: &StoreService) -> Result<(), errorpb::Error> {
    let cluster = &svc.cluster;
    if svc
        .store
        .in_import_mode(cluster.settings.import_mode_timeout)
    {
        return Ok(());
    }
    let settings = &cluster.settings.lsm;
    let inflight = svc.store.latched_in_cf(CF_WRITE);
    let mut account = lock(&svc.store.account);
    let l0 = account
        .lsm
        .write
        .l0_files(std::time::Instant::now(), settings);
    if settings.ingest_may_stall(l0, inflight) {
        account.busy += 1;
        tracing::warn!(
            store = svc.store.id,
            l0,
            inflight,
            "SST ingest is experiencing slowdowns"
        );
        return Err(errors::server_is_busy(errors::INGEST_BUSY));
    }
    Ok(())
}

fn paths_on(dir: &Path, ssts: &[SstMeta]) -> Result<Vec<PathBuf>, errorpb::Error> {
    ssts.iter()
        .map(|s| staged_path(dir, s, &s.cf_name))
        .collect::<Result<_, _>>()
        .map_err(errors::other)
}

fn apply(
    svc: &StoreService,
    ctx: &Context,
    ssts: &[SstMeta],
    paths: &[PathBuf],
) -> Result<(), errorpb::Error> {
    let cluster = &svc.cluster;
    // Holding the cluster lock orders this ingest with splits and leader
    // moves, as Raft orders commands of one region.
    let state = lock(&cluster.state);
    let hint = hint_range(ssts);
    let region = check_context(
        &state,
        svc.store.id,
        ctx,
        EpochCheck::Version,
        hint.as_ref().map(|(s, e)| (s.as_slice(), e.as_slice())),
    )?;
    if paths.iter().any(|p| !p.exists()) {
        tracing::warn!(
            region = region.id(),
            "sst not exist; the ingest may be a retry of one that succeeded"
        );
        return Err(errors::stale_command(errors::SST_NOT_EXIST));
    }
    for sst in ssts {
        check_sst(&state, &region, sst, &hint)?;
    }
    let mut order: Vec<usize> = (0..ssts.len()).collect();
    order.sort_by_key(|&i| ssts[i].cf_name != CF_DEFAULT);
    // Read before the files move into RocksDB.
    let stats: Vec<SstStats> = ssts
        .iter()
        .zip(paths)
        .map(|(sst, path)| accounting::staged_stats(&svc.store, sst, path))
        .collect();
    for &i in &order {
        ingest_file(svc, &ssts[i].cf_name, &paths[i])
            .map_err(|e| errors::other(format!("[region {}] ingest failed: {e}", region.id())))?;
    }
    svc.store.count_ingested(ssts.len() as u64);
    for &i in &order {
        svc.store.forget_staged(&paths[i]);
        accounting::record(cluster, &svc.store, &ssts[i], &stats[i]);
    }
    consume_follower_copies(svc, &region, ssts, &stats);
    tracing::debug!(region = region.id(), files = ssts.len(), "ingested");
    Ok(())
}

/// The encoded span of all SST ranges (end inclusive, so `+ \0`).
fn hint_range(ssts: &[SstMeta]) -> Option<(Vec<u8>, Vec<u8>)> {
    let ranges: Vec<_> = ssts.iter().filter_map(|s| s.range.as_ref()).collect();
    let start = ranges.iter().map(|r| r.start.clone()).min()?;
    let mut end = ranges.iter().map(|r| r.end.clone()).max()?;
    end.push(0);
    Some((start, end))
}

/// TiKV's `check_sst_for_ingestion`: the SST was written for this region at
/// its current epoch, and its range lies inside the region.
fn check_sst(
    state: &ClusterState,
    region: &RegionMeta,
    sst: &SstMeta,
    hint: &Option<(Vec<u8>, Vec<u8>)>,
) -> Result<(), errorpb::Error> {
    if sst.region_id != region.id() {
        return Err(errors::region_not_found(sst.region_id));
    }
    let sent = sst.region_epoch.unwrap_or_default();
    let current: metapb::RegionEpoch = region.epoch();
    if sent != current {
        let hint = hint.as_ref().map(|(s, e)| (s.as_slice(), e.as_slice()));
        return Err(errors::epoch_not_match(
            format!("{sent:?} != {current:?}"),
            current_regions(state, region, hint),
        ));
    }
    let range = sst.range.clone().unwrap_or_default();
    for key in [&range.start, &range.end] {
        if !region.contains(key) {
            return Err(errors::key_not_in_region(key, &region.region));
        }
    }
    if sst.cf_name != CF_DEFAULT && sst.cf_name != CF_WRITE {
        return Err(errors::other(format!(
            "unknown column family {:?} in SST meta",
            sst.cf_name
        )));
    }
    Ok(())
}

fn ingest_file(svc: &StoreService, cf: &str, path: &Path) -> Result<(), rocksdb::Error> {
    let storage = &svc.cluster.storage;
    let mut opts = IngestExternalFileOptions::default();
    opts.set_move_files(true);
    storage
        .db()
        .ingest_external_file_cf_opts(storage.cf(cf), &opts, vec![path])?;
    // With move_files RocksDB links the file; the staged name must go.
    let _ = std::fs::remove_file(path);
    Ok(())
}

/// Followers apply the same ingest from their own staged copies; the data
/// is shared in the sim, so they only consume, count and account their
/// files (`leader_stats`: what the leader's copies held, the same data).
fn consume_follower_copies(
    svc: &StoreService,
    region: &RegionMeta,
    ssts: &[SstMeta],
    leader_stats: &[SstStats],
) {
    for peer in region
        .region
        .peers
        .iter()
        .filter(|p| p.store_id != svc.store.id)
    {
        let Some(store) = svc.cluster.store(peer.store_id) else {
            continue;
        };
        let Ok(paths) = paths_on(&store.staging, ssts) else {
            continue;
        };
        let mut consumed = 0;
        for ((path, sst), leader_stats) in paths.iter().zip(ssts).zip(leader_stats) {
            let stats = store.staged_stats(path);
            match std::fs::remove_file(path) {
                Ok(()) => {
                    consumed += 1;
                    store.forget_staged(path);
                    let stats = stats.as_ref().unwrap_or(leader_stats);
                    accounting::record(&svc.cluster, store, sst, stats);
                }
                Err(_) => {
                    tracing::warn!(store = store.id, region = region.id(), path = %path.display(), "follower has no staged copy of an ingested SST")
                }
            }
        }
        store.count_ingested(consumed);
    }
}
