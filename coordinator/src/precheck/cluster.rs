//! Cluster checks: PD answers, every TiKV store runs a version Squall
//! speaks to, stores are up, heartbeating and accept connections from this
//! machine, and every region has a
//! leader on a live store (an import writes to every peer of every region
//! it touches and ingests on the leader).

use std::collections::HashMap;
use std::time::Duration;

use squall_client::{ClientOptions, PdClient};
use squall_proto::metapb;

use super::report::{CheckResult, PrecheckReport};
use super::{CHECK_CLUSTER, CHECK_REGIONS, CHECK_STORES, CHECK_VERSIONS};

/// Oldest TiKV Squall supports: `DuplicateDetect` (TiKV 5.2) and
/// `MultiIngest` (5.1), as Lightning's local backend with duplicate
/// detection requires.
pub const MIN_TIKV: (u64, u64, u64) = (5, 2, 0);
/// First TiKV major version Squall does not know (Lightning also refuses
/// versions past the next major).
pub const MAX_TIKV_MAJOR: u64 = 9;
/// A store whose last heartbeat is older than this is not healthy (TiKV
/// heartbeats every 10 s; PD calls a store Disconnected after 20 s).
pub const HEARTBEAT_LIMIT: Duration = Duration::from_secs(60);
/// Regions asked of PD per ScanRegions page.
const REGION_PAGE: i32 = 1024;
/// Names listed in a failed check's detail.
const LISTED: usize = 5;

/// Connects to PD and checks stores and regions; the client if PD answered.
pub async fn check_cluster(
    pd_addrs: &[String],
    opts: &ClientOptions,
    report: &mut PrecheckReport,
) -> Option<PdClient> {
    let pd = match PdClient::connect(pd_addrs, opts.clone()).await {
        Ok(pd) => pd,
        Err(e) => {
            report.push(CheckResult::fail(
                CHECK_CLUSTER,
                format!("PD at {}: {e}", pd_addrs.join(",")),
                "check tidb.pd-addr (--pd): PD's client URLs, reachable from this machine",
            ));
            for name in [CHECK_VERSIONS, CHECK_STORES, CHECK_REGIONS] {
                report.push(CheckResult::skipped(name, "PD did not answer"));
            }
            return None;
        }
    };
    report.push(CheckResult::pass(
        CHECK_CLUSTER,
        format!(
            "PD leader {} (cluster {})",
            pd.leader_url(),
            pd.cluster_id()
        ),
    ));
    let stores = match pd.get_all_stores().await {
        Ok(stores) => stores,
        Err(e) => {
            report.push(CheckResult::fail(
                CHECK_VERSIONS,
                format!("PD GetAllStores: {e}"),
                "check that PD is healthy (pd-ctl health)",
            ));
            for name in [CHECK_STORES, CHECK_REGIONS] {
                report.push(CheckResult::skipped(name, "no store list from PD"));
            }
            return Some(pd);
        }
    };
    report.push(check_versions(&stores));
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let unreachable = unreachable_stores(&stores, opts.connect_timeout).await;
    let healthy = healthy_stores(&stores, now_ns, &unreachable);
    report.push(check_stores(&stores, &healthy, &unreachable, now_ns));
    report.push(check_regions(&pd, &healthy).await);
    Some(pd)
}

fn is_tiflash(store: &metapb::Store) -> bool {
    store
        .labels
        .iter()
        .any(|l| l.key == "engine" && l.value == "tiflash")
}

/// `v8.5.0`, `5.2.1-alpha`, `7.1.0+abc` → (major, minor, patch).
pub fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

fn check_versions(stores: &[metapb::Store]) -> CheckResult {
    let mut bad = Vec::new();
    let mut seen = Vec::new();
    for store in stores.iter().filter(|s| !is_tiflash(s)) {
        match parse_version(&store.version) {
            Some(v) if v >= MIN_TIKV && v.0 < MAX_TIKV_MAJOR => {
                let text = format!("{}.{}.{}", v.0, v.1, v.2);
                if !seen.contains(&text) {
                    seen.push(text);
                }
            }
            Some(_) => bad.push(format!(
                "store {} ({}) runs TiKV {}",
                store.id, store.address, store.version
            )),
            None => bad.push(format!(
                "store {} ({}) reports no readable version ({:?})",
                store.id, store.address, store.version
            )),
        }
    }
    let (major, minor, patch) = MIN_TIKV;
    if !bad.is_empty() {
        return CheckResult::fail(
            CHECK_VERSIONS,
            listed(&bad),
            format!(
                "Squall needs TiKV {major}.{minor}.{patch} or newer, below {MAX_TIKV_MAJOR}.0.0: \
                 upgrade the cluster (tiup cluster upgrade)"
            ),
        );
    }
    if seen.is_empty() {
        return CheckResult::fail(
            CHECK_VERSIONS,
            "PD lists no TiKV store",
            "start the TiKV stores, or point tidb.pd-addr at the right cluster",
        );
    }
    CheckResult::pass(
        CHECK_VERSIONS,
        format!(
            "{} TiKV stores, version {}",
            stores.iter().filter(|s| !is_tiflash(s)).count(),
            seen.join(", ")
        ),
    )
}

/// Stores this machine cannot open a TCP connection to within `timeout`,
/// with the reason. Workers write to every peer of a region directly, so a
/// store PD lists but nobody can reach fails an import; PD itself notices
/// only after its heartbeats stop (20 s to call it Disconnected).
async fn unreachable_stores(stores: &[metapb::Store], timeout: Duration) -> HashMap<u64, String> {
    let mut out = HashMap::new();
    for store in stores {
        let addr = squall_client::service_address(store);
        let probe = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr.clone()));
        let why = match probe.await {
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => format!("cannot connect to {addr}: {e}"),
            Err(_) => format!("no answer from {addr} within {timeout:?}"),
        };
        out.insert(store.id, why);
    }
    out
}

/// Stores that are Up, reachable and with a recent heartbeat, by id.
fn healthy_stores(
    stores: &[metapb::Store],
    now_ns: i64,
    unreachable: &HashMap<u64, String>,
) -> HashMap<u64, String> {
    let limit = HEARTBEAT_LIMIT.as_nanos() as i64;
    stores
        .iter()
        .filter(|s| s.state == metapb::StoreState::Up as i32)
        .filter(|s| now_ns.saturating_sub(s.last_heartbeat) <= limit)
        .filter(|s| !unreachable.contains_key(&s.id))
        .map(|s| (s.id, s.address.clone()))
        .collect()
}

fn check_stores(
    stores: &[metapb::Store],
    healthy: &HashMap<u64, String>,
    unreachable: &HashMap<u64, String>,
    now_ns: i64,
) -> CheckResult {
    let bad: Vec<String> = stores
        .iter()
        .filter(|s| !healthy.contains_key(&s.id))
        .map(|s| {
            let state = metapb::StoreState::try_from(s.state)
                .map_or_else(|_| format!("state {}", s.state), |st| format!("{st:?}"));
            let age = now_ns.saturating_sub(s.last_heartbeat) / 1_000_000_000;
            let reach = unreachable
                .get(&s.id)
                .map_or_else(String::new, |why| format!(", {why}"));
            format!(
                "store {} ({}): {state}, last heartbeat {age} s ago{reach}",
                s.id, s.address
            )
        })
        .collect();
    if bad.is_empty() {
        CheckResult::pass(CHECK_STORES, format!("{} stores up", stores.len()))
    } else {
        CheckResult::fail(
            CHECK_STORES,
            listed(&bad),
            "bring the stores back up and reachable from the importing machines (or let PD \
             remove them: pd-ctl store delete); an import writes to every peer of the regions \
             it fills",
        )
    }
}

async fn check_regions(pd: &PdClient, healthy: &HashMap<u64, String>) -> CheckResult {
    let regions = match pd.scan_regions(&[], &[], REGION_PAGE).await {
        Ok(regions) => regions,
        Err(e) => {
            return CheckResult::fail(
                CHECK_REGIONS,
                format!("PD ScanRegions: {e}"),
                "check that PD is healthy (pd-ctl health)",
            )
        }
    };
    let mut bad = Vec::new();
    for r in &regions {
        let id = r.region.id;
        match &r.leader {
            None => bad.push(format!("region {id} has no leader")),
            Some(l) if !healthy.contains_key(&l.store_id) => bad.push(format!(
                "region {id}'s leader is on store {}, which is not up",
                l.store_id
            )),
            Some(_) => {}
        }
        if let Some(p) = r
            .region
            .peers
            .iter()
            .find(|p| !healthy.contains_key(&p.store_id))
        {
            bad.push(format!(
                "region {id} has a peer on store {}, which is not up",
                p.store_id
            ));
        }
    }
    if bad.is_empty() {
        CheckResult::pass(
            CHECK_REGIONS,
            format!("{} regions, each led from a live store", regions.len()),
        )
    } else {
        CheckResult::fail(
            CHECK_REGIONS,
            listed(&bad),
            "wait for PD to elect leaders and replace peers on lost stores (pd-ctl region \
             check miss-peer / down-peer), then run again",
        )
    }
}

fn listed(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > LISTED {
        out.push_str(&format!(" (and {} more)", items.len() - LISTED));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_like_tikv_reports_them() {
        assert_eq!(parse_version("8.5.0"), Some((8, 5, 0)));
        assert_eq!(parse_version("v5.2.1-alpha"), Some((5, 2, 1)));
        assert_eq!(parse_version("7.1.0+abc"), Some((7, 1, 0)));
        assert_eq!(parse_version("nightly"), None);
        assert!(parse_version("5.1.9").is_some_and(|v| v < MIN_TIKV));
    }

    #[test]
    fn old_and_future_stores_fail_the_version_check() {
        let store = |id, version: &str| metapb::Store {
            id,
            version: version.into(),
            address: format!("s{id}:20160"),
            ..Default::default()
        };
        let ok = check_versions(&[store(1, "8.5.0"), store(2, "v6.5.3")]);
        assert_eq!(ok.status, super::super::CheckStatus::Pass, "{ok:?}");
        let old = check_versions(&[store(1, "4.0.16"), store(2, "8.5.0")]);
        assert_eq!(old.status, super::super::CheckStatus::Fail);
        assert!(old.detail.contains("store 1") && old.detail.contains("4.0.16"));
        let future = check_versions(&[store(1, "9.0.0")]);
        assert_eq!(future.status, super::super::CheckStatus::Fail);
    }
}
