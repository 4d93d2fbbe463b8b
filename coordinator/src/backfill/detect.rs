//! Unique conflicts across ranges. Each range's local engine finds two rows
//! of that range holding one unique entry; two rows in different ranges
//! write that entry at their ranges' different commit ts, so after every
//! range is ingested `ImportSST.DuplicateDetect` over each unique index's
//! range (with the plan's `start_ts` as `min_commit_ts`) reports the key
//! with both versions. A version at or below `start_ts` is the index as it
//! was before this backfill (a rebuild over existing entries) and is not a
//! conflict; neither are two new versions naming one handle. The caller
//! reads both rows back to name them ([`super::conflict_rows`]).

use std::collections::BTreeMap;

use squall_client::{walk_regions, ClientError, ImportClient, RegionPiece};
use squall_codec::key::table_index_range;
use squall_codec::{decode_handle_from_index_value, Handle};

use super::conflict_rows::FoundConflict;
use super::target::IndexTarget;
use crate::error::CoordinatorError;

/// `(key, value, commit_ts)` of every reported version.
type Versions = Vec<(Vec<u8>, Vec<u8>, u64)>;

/// Conflicts between ranges of the physical tables `pids`.
pub async fn cross_range_conflicts(
    client: &ImportClient,
    target: &IndexTarget,
    pids: &[i64],
    start_ts: u64,
    concurrency: usize,
) -> Result<Vec<FoundConflict>, CoordinatorError> {
    let unique: Vec<&squall_common::schema::IndexInfo> = target
        .indexes
        .iter()
        .filter(|ix| ix.unique || ix.primary)
        .collect();
    let ranges: Vec<(Vec<u8>, Vec<u8>)> = pids
        .iter()
        .flat_map(|&pid| unique.iter().map(move |ix| table_index_range(pid, ix.id)))
        .collect();
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    let found = walk_regions(
        client,
        "DuplicateDetect (index backfill)",
        ranges,
        concurrency,
        |piece| detect_piece(client, piece, start_ts),
    )
    .await?;
    let mut by_key: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
    for (key, value, ts) in found.into_iter().flatten() {
        if ts > start_ts {
            by_key.entry(key).or_default().push(value);
        }
    }
    let mut out = Vec::new();
    for (key, versions) in by_key {
        // In handle order, not commit-ts order: ranges take their commit ts
        // concurrently, and the same conflict should read the same each run.
        let mut handles: Vec<Result<Handle, String>> = versions
            .iter()
            .map(|value| decode_handle_from_index_value(value).map_err(|e| e.to_string()))
            .collect();
        handles.sort();
        handles.dedup();
        for other in handles.iter().skip(1) {
            out.push(FoundConflict {
                key: key.clone(),
                handles: [handles[0].clone(), other.clone()],
            });
        }
    }
    Ok(out)
}

/// The conflicting versions DuplicateDetect reports in one region piece (a
/// broken stream fails the piece: the walk scans it again).
async fn detect_piece(
    client: &ImportClient,
    piece: RegionPiece,
    min_commit_ts: u64,
) -> Result<Versions, ClientError> {
    let region = &piece.region;
    let peer = region.target_peer()?;
    let mut stream = client
        .duplicate_detect(
            peer.store_id,
            region.context(&peer),
            &piece.start,
            &piece.end,
            min_commit_ts,
            false,
        )
        .await?;
    let mut out = Vec::new();
    loop {
        match stream.next().await {
            Ok(Some(batch)) => keep_conflicting(batch, min_commit_ts, &mut out),
            Ok(None) => return Ok(out),
            Err(err) => {
                client.report_failure(peer.store_id, &err);
                return Err(err);
            }
        }
    }
}

/// Keeps the versions of the keys whose versions above `min_commit_ts`
/// hold two values (two handles). A rebuild over existing entries has every
/// key reported (its old and new version): those are dropped here, batch by
/// batch, so memory holds only conflicts. A key's versions are never split
/// across responses.
fn keep_conflicting(
    batch: Vec<squall_proto::import_sstpb::KvPair>,
    min_commit_ts: u64,
    out: &mut Versions,
) {
    let mut i = 0;
    while i < batch.len() {
        let mut j = i;
        while j < batch.len() && batch[j].key == batch[i].key {
            j += 1;
        }
        let newer: Vec<&squall_proto::import_sstpb::KvPair> = batch[i..j]
            .iter()
            .filter(|p| p.commit_ts > min_commit_ts)
            .collect();
        if newer.iter().any(|p| p.value != newer[0].value) {
            out.extend(
                newer
                    .into_iter()
                    .map(|p| (p.key.clone(), p.value.clone(), p.commit_ts)),
            );
        }
        i = j;
    }
}
