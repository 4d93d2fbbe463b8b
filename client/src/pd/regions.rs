//! Region lookups: by key, by id, and paginated scans over a raw key range.
//! Arguments and results are raw keys; encoding happens in `keys`.

use squall_proto::{metapb, pdpb};

use super::PdClient;
use crate::error::{ClientError, PdErrorKind};
use crate::keys::{self, HexKey};
use crate::region::RegionInfo;
use crate::retry::retry;

/// Regions per ScanRegions page (Lightning's value). Default for callers.
pub const SCAN_PAGE: i32 = 128;

impl PdClient {
    /// The region holding raw `key`.
    pub async fn get_region(&self, key: &[u8]) -> Result<RegionInfo, ClientError> {
        let region_key = keys::encode_bytes(key);
        let resp = self
            .call("PD GetRegion", |mut c, header| {
                let region_key = region_key.clone();
                async move {
                    c.get_region(pdpb::GetRegionRequest {
                        header,
                        region_key,
                        need_buckets: false,
                    })
                    .await
                }
            })
            .await?;
        let region = resp.region.ok_or_else(|| ClientError::NoRegion {
            start: HexKey(key).to_string(),
            end: HexKey(&keys::next_key(key)).to_string(),
        })?;
        RegionInfo::new(region, resp.leader)
    }

    /// Region `id`, or `None` when PD does not know it (yet, after a split).
    pub async fn get_region_by_id(&self, id: u64) -> Result<Option<RegionInfo>, ClientError> {
        let resp = self
            .call("PD GetRegionByID", |mut c, header| async move {
                c.get_region_by_id(pdpb::GetRegionByIdRequest {
                    header,
                    region_id: id,
                    need_buckets: false,
                })
                .await
            })
            .await;
        let resp = match resp {
            Ok(resp) => resp,
            Err(ClientError::Pd {
                kind: PdErrorKind::RegionNotFound,
                ..
            }) => return Ok(None),
            Err(err) => return Err(err),
        };
        resp.region
            .map(|r| RegionInfo::new(r, resp.leader))
            .transpose()
    }

    /// Every region overlapping raw `[start, end)` (`end` empty = +∞), in key
    /// order, fetched `page` regions at a time. The result is checked to be
    /// continuous and to cover the whole range; a gap (PD's view changing
    /// under a split) makes the whole scan retry.
    pub async fn scan_regions(
        &self,
        start: &[u8],
        end: &[u8],
        page: i32,
    ) -> Result<Vec<RegionInfo>, ClientError> {
        retry("PD ScanRegions", &self.inner.opts.retry, || {
            self.scan_regions_once(start, end, page.max(1))
        })
        .await
    }

    async fn scan_regions_once(
        &self,
        start: &[u8],
        end: &[u8],
        page: i32,
    ) -> Result<Vec<RegionInfo>, ClientError> {
        let end_key = keys::encode_bound(end);
        let mut out: Vec<RegionInfo> = Vec::new();
        let mut cursor = start.to_vec();
        loop {
            let start_key = keys::encode_bound(&cursor);
            let resp = self
                .call_once("PD ScanRegions", &|mut c, header| {
                    let req = pdpb::ScanRegionsRequest {
                        header,
                        start_key: start_key.clone(),
                        limit: page,
                        end_key: end_key.clone(),
                    };
                    async move { c.scan_regions(req).await }
                })
                .await?;
            let batch = regions_of(resp)?;
            let Some(last) = batch.last() else {
                return Err(ClientError::NoRegion {
                    start: HexKey(&cursor).to_string(),
                    end: HexKey(end).to_string(),
                });
            };
            let last_end = last.end.clone();
            check_continuous(&cursor, out.last(), &batch)?;
            out.extend(batch);
            if last_end.is_empty() || (!end.is_empty() && last_end.as_slice() >= end) {
                return Ok(out);
            }
            cursor = last_end;
        }
    }
}

/// Regions of a ScanRegions answer: `regions` (PD ≥ 5.x) or the older
/// parallel `region_metas` + `leaders` lists.
fn regions_of(resp: pdpb::ScanRegionsResponse) -> Result<Vec<RegionInfo>, ClientError> {
    if !resp.regions.is_empty() {
        return resp
            .regions
            .into_iter()
            .filter_map(|r| r.region.map(|region| (region, r.leader)))
            .map(|(region, leader)| RegionInfo::new(region, leader))
            .collect();
    }
    let mut leaders = resp.leaders.into_iter();
    resp.region_metas
        .into_iter()
        .map(|region: metapb::Region| RegionInfo::new(region, leaders.next()))
        .collect()
}

/// The first region must hold `cursor`; each next one must start where the
/// previous ended.
fn check_continuous(
    cursor: &[u8],
    prev: Option<&RegionInfo>,
    batch: &[RegionInfo],
) -> Result<(), ClientError> {
    let mut expected_start: Option<&[u8]> = prev.map(|r| r.end.as_slice());
    for (i, region) in batch.iter().enumerate() {
        let ok = match expected_start {
            Some(end) => region.start.as_slice() == end,
            None => i > 0 || region.start.as_slice() <= cursor,
        };
        if !ok {
            return Err(ClientError::RegionsNotContinuous {
                prev_end: expected_start
                    .map_or_else(|| HexKey(cursor).to_string(), |e| HexKey(e).to_string()),
                next_start: HexKey(&region.start).to_string(),
            });
        }
        expected_start = Some(region.end.as_slice());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::encode_bound;

    fn meta(id: u64, start: &[u8], end: &[u8]) -> metapb::Region {
        metapb::Region {
            id,
            start_key: encode_bound(start),
            end_key: encode_bound(end),
            ..Default::default()
        }
    }

    fn info(id: u64, start: &[u8], end: &[u8]) -> RegionInfo {
        RegionInfo::new(meta(id, start, end), None).expect("valid")
    }

    #[test]
    fn reads_both_answer_shapes() {
        let new_style = pdpb::ScanRegionsResponse {
            regions: vec![pdpb::Region {
                region: Some(meta(1, b"", b"m")),
                leader: Some(metapb::Peer {
                    id: 7,
                    store_id: 1,
                    ..Default::default()
                }),
                pending_peers: vec![],
            }],
            ..Default::default()
        };
        let got = regions_of(new_style).expect("decodes");
        assert_eq!(got[0].leader.as_ref().map(|p| p.id), Some(7));
        let old_style = pdpb::ScanRegionsResponse {
            region_metas: vec![meta(1, b"", b"m"), meta(2, b"m", b"")],
            leaders: vec![metapb::Peer {
                id: 0,
                ..Default::default()
            }],
            ..Default::default()
        };
        let got = regions_of(old_style).expect("decodes");
        assert_eq!(got.len(), 2);
        assert!(got[0].leader.is_none() && got[1].leader.is_none());
    }

    #[test]
    fn detects_gaps_between_regions() {
        let a = info(1, b"", b"c");
        let b = info(2, b"c", b"f");
        let gap = info(3, b"g", b"");
        assert!(check_continuous(b"a", None, &[a.clone(), b.clone()]).is_ok());
        assert!(check_continuous(b"f", Some(&b), &[info(4, b"f", b"")]).is_ok());
        assert!(matches!(
            check_continuous(b"a", None, &[a, b.clone(), gap]),
            Err(ClientError::RegionsNotContinuous { .. })
        ));
        // The first region must hold the cursor.
        assert!(check_continuous(b"a", None, &[b]).is_err());
    }
}
