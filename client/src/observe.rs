//! A hook for metrics: the client tells an observer, installed once per
//! process (the worker's Prometheus registry), about each retry, by the kind
//! of error that caused it, and about each region's Write + MultiIngest and
//! how long it took. Without an observer nothing is counted and each event
//! costs one atomic load; the client itself knows nothing of Prometheus.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::error::{ClientError, RegionError, WriteRejection};

/// What the process wants to hear about. Called inline on hot paths: keep
/// it to an atomic add or two.
pub trait ClientObserver: Send + Sync {
    /// A failed call is about to be tried again (see [`retry_kind`]).
    fn retried(&self, kind: &'static str);
    /// One region's pairs were written to its peers and ingested.
    fn region_ingested(&self, elapsed: Duration);
}

static OBSERVER: OnceLock<Arc<dyn ClientObserver>> = OnceLock::new();

/// Installs the process's observer; `false` if one was installed before
/// (the first stays: one process, one registry).
pub fn set_observer(observer: Arc<dyn ClientObserver>) -> bool {
    OBSERVER.set(observer).is_ok()
}

pub(crate) fn retried(err: &ClientError) {
    if let Some(o) = OBSERVER.get() {
        o.retried(retry_kind(err));
    }
}

pub(crate) fn region_ingested(elapsed: Duration) {
    if let Some(o) = OBSERVER.get() {
        o.region_ingested(elapsed);
    }
}

/// A short, stable label for what went wrong, e.g. `not_leader`,
/// `server_is_busy`, `unavailable`, `timeout`: the region errors one by
/// one, gRPC failures by code, the rest by variant.
pub fn retry_kind(err: &ClientError) -> &'static str {
    match err {
        ClientError::Rpc { status, .. } => match status.code() {
            tonic::Code::Unavailable => "unavailable",
            tonic::Code::DeadlineExceeded => "deadline_exceeded",
            tonic::Code::ResourceExhausted => "resource_exhausted",
            tonic::Code::Aborted => "aborted",
            tonic::Code::Cancelled => "cancelled",
            _ => "grpc_other",
        },
        ClientError::Timeout { .. } => "timeout",
        ClientError::NoPdLeader { .. } => "no_pd_leader",
        ClientError::Pd { .. } => "pd_error",
        ClientError::Region { error, .. } => match error {
            RegionError::NotLeader { .. } => "not_leader",
            RegionError::EpochNotMatch { .. } => "epoch_not_match",
            RegionError::ServerIsBusy { .. } => "server_is_busy",
            RegionError::StaleCommand => "stale_command",
            RegionError::RegionNotFound { .. } => "region_not_found",
            RegionError::KeyNotInRegion { .. } => "key_not_in_region",
            RegionError::StoreNotMatch { .. } => "store_not_match",
            RegionError::RaftEntryTooLarge { .. } => "raft_entry_too_large",
            RegionError::Other { .. } => "region_other",
        },
        ClientError::WriteRejected { kind, .. } => match kind {
            WriteRejection::AheadOfLocal => "write_ahead_of_local",
            WriteRejection::StalerThanLocal => "write_staler_than_local",
            WriteRejection::Other => "write_rejected",
        },
        ClientError::NoRegion { .. } => "no_region",
        ClientError::RegionsNotContinuous { .. } => "regions_not_continuous",
        ClientError::BadAddress { .. }
        | ClientError::KeyError { .. }
        | ClientError::BadRegionKey { .. }
        | ClientError::StoreNotFound { .. }
        | ClientError::NoPeers { .. }
        | ClientError::Protocol { .. } => "other",
        ClientError::TlsConfig { .. } | ClientError::TlsHandshake { .. } => "tls",
        ClientError::Http { .. } => "pd_http",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_region_errors_and_grpc_codes() {
        let busy = ClientError::Region {
            method: "MultiIngest",
            region_id: 2,
            error: RegionError::ServerIsBusy {
                reason: "stall".into(),
                backoff_ms: 0,
            },
        };
        assert_eq!(retry_kind(&busy), "server_is_busy");
        let down = ClientError::rpc("Write", "s1", tonic::Status::unavailable("refused"));
        assert_eq!(retry_kind(&down), "unavailable");
        let late = ClientError::Timeout {
            method: "Tso",
            addr: "pd".into(),
            after: Duration::from_secs(1),
        };
        assert_eq!(retry_kind(&late), "timeout");
    }
}
