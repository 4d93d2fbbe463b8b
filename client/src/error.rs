//! The client's one error enum, the region-error taxonomy and what each case
//! means for a caller: retry the call, back off, move to the new leader,
//! re-plan with the current regions, or re-scan regions from PD.

use std::time::Duration;

use squall_proto::{errorpb, import_sstpb, kvrpcpb, metapb};

use crate::keys::{HexKey, KeyDecodeError};

/// Every failure of a PD or TiKV call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid address {addr:?}: {reason}")]
    BadAddress { addr: String, reason: String },
    #[error("{method} to {addr} failed: {status}")]
    Rpc {
        method: &'static str,
        addr: String,
        status: tonic::Status,
    },
    #[error("{method} to {addr} timed out after {after:?}")]
    Timeout {
        method: &'static str,
        addr: String,
        after: Duration,
    },
    #[error("no PD member answered GetMembers with a leader (tried {addrs:?}; last error: {last_error}); is PD running there, and does the cluster use TLS ([security] ca-path)?")]
    NoPdLeader {
        addrs: Vec<String>,
        last_error: String,
    },
    #[error("TLS to PD/TiKV: {reason} (check [security] ca-path, cert-path and key-path)")]
    TlsConfig { reason: String },
    #[error("TLS handshake with {addr} failed: {reason} (is [security] ca-path the CA that signed the cluster's certificates, and cert-path/key-path a certificate the cluster accepts?)")]
    TlsHandshake { addr: String, reason: String },
    #[error("PD {method} answered {kind:?}: {message}")]
    Pd {
        method: &'static str,
        kind: PdErrorKind,
        message: String,
    },
    #[error("{method} on region {region_id}: {error}")]
    Region {
        method: &'static str,
        region_id: u64,
        error: RegionError,
    },
    #[error("Write to store {store_id} rejected ({kind:?}): {message}")]
    WriteRejected {
        store_id: u64,
        kind: WriteRejection,
        message: String,
    },
    #[error("{method} key error: {message}")]
    KeyError {
        method: &'static str,
        message: String,
    },
    #[error("region {region_id} has a key that is not memcomparable-encoded ({key}): {source}")]
    BadRegionKey {
        region_id: u64,
        key: String,
        #[source]
        source: KeyDecodeError,
    },
    #[error("PD returned no region for [{start}, {end})")]
    NoRegion { start: String, end: String },
    #[error("regions from PD are not continuous: {prev_end} is followed by a region starting at {next_start}")]
    RegionsNotContinuous {
        prev_end: String,
        next_start: String,
    },
    #[error("PD does not know store {store_id}")]
    StoreNotFound { store_id: u64 },
    #[error("region {region_id} has no peers")]
    NoPeers { region_id: u64 },
    #[error("{what} did not answer: {reason}")]
    Protocol { what: &'static str, reason: String },
    /// A call to PD's HTTP API; `status` is `None` when no answer came.
    #[error("{what} ({url}) failed{}: {reason}", .status.map(|s| format!(" with HTTP {s}")).unwrap_or_default())]
    Http {
        what: &'static str,
        url: String,
        status: Option<u16>,
        reason: String,
    },
}

/// PD's `pdpb.ErrorType`, kept as an enum so matches stay exhaustive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdErrorKind {
    Unknown,
    NotBootstrapped,
    StoreTombstone,
    AlreadyBootstrapped,
    IncompatibleVersion,
    RegionNotFound,
    Other(i32),
}

impl PdErrorKind {
    pub(crate) fn from_wire(code: i32) -> Self {
        use squall_proto::pdpb::ErrorType;
        match ErrorType::try_from(code) {
            Ok(ErrorType::Unknown) => Self::Unknown,
            Ok(ErrorType::NotBootstrapped) => Self::NotBootstrapped,
            Ok(ErrorType::StoreTombstone) => Self::StoreTombstone,
            Ok(ErrorType::AlreadyBootstrapped) => Self::AlreadyBootstrapped,
            Ok(ErrorType::IncompatibleVersion) => Self::IncompatibleVersion,
            Ok(ErrorType::RegionNotFound) => Self::RegionNotFound,
            _ => Self::Other(code),
        }
    }
}

/// Why a store refused a `Write` stream (`import_sstpb.Error.message`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteRejection {
    /// The store has not applied the split/merge the request's epoch reflects
    /// yet: write again later with the same region.
    AheadOfLocal,
    /// The region changed (or the store does not know it): re-scan regions.
    StalerThanLocal,
    /// Any other message (disk full, invalid request, ...).
    Other,
}

impl WriteRejection {
    /// Classifies TiKV's message text, the only signal TiKV gives for these.
    pub fn classify(message: &str) -> Self {
        if message.contains("ahead of local region") {
            Self::AheadOfLocal
        } else if message.contains("staler than local region") {
            Self::StalerThanLocal
        } else {
            Self::Other
        }
    }
}

/// A region error (`errorpb.Error`), one variant per cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegionError {
    #[error("not leader of region {region_id} (leader hint: {leader:?})")]
    NotLeader {
        region_id: u64,
        leader: Option<metapb::Peer>,
    },
    #[error("epoch not match ({} current regions)", current_regions.len())]
    EpochNotMatch {
        current_regions: Vec<metapb::Region>,
    },
    #[error("server is busy: {reason} (backoff {backoff_ms} ms)")]
    ServerIsBusy { reason: String, backoff_ms: u64 },
    #[error("stale command")]
    StaleCommand,
    #[error("region {region_id} not found")]
    RegionNotFound { region_id: u64 },
    #[error("key {} not in region {region_id}", HexKey(key))]
    KeyNotInRegion { key: Vec<u8>, region_id: u64 },
    #[error("store not match (request {request_store_id}, actual {actual_store_id})")]
    StoreNotMatch {
        request_store_id: u64,
        actual_store_id: u64,
    },
    #[error("raft entry too large for region {region_id} ({entry_size} bytes)")]
    RaftEntryTooLarge { region_id: u64, entry_size: u64 },
    /// `message` only, e.g. "raft: proposal dropped".
    #[error("{message}")]
    Other { message: String },
}

/// What the caller of a region-scoped RPC does about a [`RegionError`].
#[derive(Debug, Clone, PartialEq)]
pub enum RegionAction {
    /// Send again to this leader (or, with `None`, ask PD who leads now).
    SwitchLeader(Option<metapb::Peer>),
    /// The region split or merged: plan again over these current regions.
    Replan(Vec<metapb::Region>),
    /// The store is overloaded or the command raced: wait, then retry as is.
    Backoff(Option<Duration>),
    /// Region metadata is wrong: scan regions from PD again.
    Rescan,
}

impl RegionError {
    pub fn from_wire(err: errorpb::Error) -> Self {
        if let Some(nl) = err.not_leader {
            // ScanRegions and NotLeader may carry a peer with id 0: no leader.
            let leader = nl.leader.filter(|p| p.id != 0);
            return Self::NotLeader {
                region_id: nl.region_id,
                leader,
            };
        }
        if let Some(e) = err.epoch_not_match {
            return Self::EpochNotMatch {
                current_regions: e.current_regions,
            };
        }
        if let Some(b) = err.server_is_busy {
            return Self::ServerIsBusy {
                reason: b.reason,
                backoff_ms: b.backoff_ms,
            };
        }
        if err.stale_command.is_some() {
            return Self::StaleCommand;
        }
        if let Some(r) = err.region_not_found {
            return Self::RegionNotFound {
                region_id: r.region_id,
            };
        }
        if let Some(k) = err.key_not_in_region {
            return Self::KeyNotInRegion {
                key: k.key,
                region_id: k.region_id,
            };
        }
        if let Some(s) = err.store_not_match {
            return Self::StoreNotMatch {
                request_store_id: s.request_store_id,
                actual_store_id: s.actual_store_id,
            };
        }
        if let Some(r) = err.raft_entry_too_large {
            return Self::RaftEntryTooLarge {
                region_id: r.region_id,
                entry_size: r.entry_size,
            };
        }
        Self::Other {
            message: err.message,
        }
    }

    /// The caller's next step. Exhaustive on purpose: a new variant must be
    /// classified before the crate compiles.
    pub fn action(&self) -> RegionAction {
        match self {
            Self::NotLeader { leader, .. } => RegionAction::SwitchLeader(*leader),
            Self::EpochNotMatch { current_regions } if !current_regions.is_empty() => {
                RegionAction::Replan(current_regions.clone())
            }
            Self::EpochNotMatch { .. } => RegionAction::Rescan,
            Self::ServerIsBusy { backoff_ms, .. } => {
                RegionAction::Backoff((*backoff_ms > 0).then(|| Duration::from_millis(*backoff_ms)))
            }
            Self::StaleCommand => RegionAction::Backoff(None),
            Self::RegionNotFound { .. }
            | Self::KeyNotInRegion { .. }
            | Self::StoreNotMatch { .. }
            | Self::RaftEntryTooLarge { .. }
            | Self::Other { .. } => RegionAction::Rescan,
        }
    }
}

impl ClientError {
    pub(crate) fn rpc(method: &'static str, addr: &str, status: tonic::Status) -> Self {
        Self::Rpc {
            method,
            addr: addr.to_owned(),
            status,
        }
    }

    pub(crate) fn region(method: &'static str, region_id: u64, err: errorpb::Error) -> Self {
        Self::Region {
            method,
            region_id,
            error: RegionError::from_wire(err),
        }
    }

    pub(crate) fn key_error(method: &'static str, err: &kvrpcpb::KeyError) -> Self {
        Self::KeyError {
            method,
            message: describe_key_error(err),
        }
    }

    pub(crate) fn write_rejected(store_id: u64, err: import_sstpb::Error) -> Self {
        // A store-level errorpb inside the import error is a region error.
        if let Some(store_error) = err.store_error {
            return Self::Region {
                method: "Write",
                region_id: 0,
                error: RegionError::from_wire(store_error),
            };
        }
        let kind = WriteRejection::classify(&err.message);
        Self::WriteRejected {
            store_id,
            kind,
            message: err.message,
        }
    }

    /// Can the same call, sent again after a backoff, succeed? Region errors
    /// are retryable only for callers that follow [`RegionError::action`].
    pub fn retryable(&self) -> bool {
        match self {
            Self::Rpc { status, .. } => code_retryable(status.code()),
            Self::Timeout { .. }
            | Self::NoPdLeader { .. }
            | Self::NoRegion { .. }
            | Self::RegionsNotContinuous { .. }
            | Self::Region { .. } => true,
            Self::Pd { kind, .. } => match kind {
                PdErrorKind::Unknown | PdErrorKind::NotBootstrapped => true,
                // An answer, not a failure: callers turn it into `None`.
                PdErrorKind::RegionNotFound
                | PdErrorKind::StoreTombstone
                | PdErrorKind::AlreadyBootstrapped
                | PdErrorKind::IncompatibleVersion
                | PdErrorKind::Other(_) => false,
            },
            Self::WriteRejected { kind, .. } => match kind {
                WriteRejection::AheadOfLocal | WriteRejection::StalerThanLocal => true,
                WriteRejection::Other => false,
            },
            // Locks and conflicts are not resolved by this client.
            Self::KeyError { .. }
            | Self::BadAddress { .. }
            | Self::BadRegionKey { .. }
            | Self::StoreNotFound { .. }
            | Self::NoPeers { .. }
            | Self::Protocol { .. }
            | Self::TlsConfig { .. }
            | Self::TlsHandshake { .. } => false,
            // No answer (connection, deadline), PD busy or without a leader.
            Self::Http { status, .. } => status.is_none_or(|s| s >= 500 || s == 429),
        }
    }

    /// True when sending the very same request again may succeed: a
    /// retryable failure that is not about region metadata (region errors
    /// and write rejections need the caller to re-route or re-plan first).
    pub fn is_transient(&self) -> bool {
        self.retryable() && !matches!(self, Self::Region { .. } | Self::WriteRejected { .. })
    }

    /// How long the server asked us to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Region {
                error: RegionError::ServerIsBusy { backoff_ms, .. },
                ..
            } if *backoff_ms > 0 => Some(Duration::from_millis(*backoff_ms)),
            _ => None,
        }
    }

    /// The peer address the failed call went to, when known.
    pub fn addr(&self) -> Option<&str> {
        match self {
            Self::Rpc { addr, .. } | Self::Timeout { addr, .. } => Some(addr),
            _ => None,
        }
    }

    /// The region error inside, if this is one.
    pub fn region_error(&self) -> Option<&RegionError> {
        match self {
            Self::Region { error, .. } => Some(error),
            _ => None,
        }
    }

    /// True when the failure says the connection itself is bad (the peer may
    /// have moved or restarted), so cached channels should be dropped.
    pub fn is_transport(&self) -> bool {
        match self {
            Self::Rpc { status, .. } => matches!(
                status.code(),
                tonic::Code::Unavailable | tonic::Code::Unknown
            ),
            Self::Timeout { .. } => true,
            _ => false,
        }
    }
}

/// gRPC codes worth another attempt. Exhaustive so a new code is a decision.
fn code_retryable(code: tonic::Code) -> bool {
    use tonic::Code;
    match code {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::Cancelled
        | Code::Unknown => true,
        Code::Ok
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::Unimplemented
        | Code::Internal
        | Code::DataLoss
        | Code::Unauthenticated => false,
    }
}

fn describe_key_error(err: &kvrpcpb::KeyError) -> String {
    if let Some(lock) = &err.locked {
        return format!(
            "key {} is locked by txn {} (primary {})",
            HexKey(&lock.key),
            lock.lock_version,
            HexKey(&lock.primary_lock)
        );
    }
    if let Some(c) = &err.conflict {
        return format!(
            "write conflict on {} (start {}, conflict {})",
            HexKey(&c.key),
            c.start_ts,
            c.conflict_ts
        );
    }
    if let Some(a) = &err.already_exist {
        return format!("key {} already exists", HexKey(&a.key));
    }
    if !err.retryable.is_empty() {
        return format!("retryable: {}", err.retryable);
    }
    format!("abort: {}", err.abort)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: u64, store_id: u64) -> metapb::Peer {
        metapb::Peer {
            id,
            store_id,
            ..Default::default()
        }
    }

    #[test]
    fn not_leader_keeps_a_real_hint_and_drops_id_zero() {
        let err = errorpb::Error {
            not_leader: Some(errorpb::NotLeader {
                region_id: 7,
                leader: Some(peer(3, 2)),
            }),
            ..Default::default()
        };
        assert_eq!(
            RegionError::from_wire(err).action(),
            RegionAction::SwitchLeader(Some(peer(3, 2)))
        );
        let err = errorpb::Error {
            not_leader: Some(errorpb::NotLeader {
                region_id: 7,
                leader: Some(peer(0, 0)),
            }),
            ..Default::default()
        };
        assert_eq!(
            RegionError::from_wire(err).action(),
            RegionAction::SwitchLeader(None)
        );
    }

    #[test]
    fn epoch_not_match_replans_only_with_current_regions() {
        let region = metapb::Region {
            id: 9,
            ..Default::default()
        };
        let err = errorpb::Error {
            epoch_not_match: Some(errorpb::EpochNotMatch {
                current_regions: vec![region.clone()],
            }),
            ..Default::default()
        };
        assert_eq!(
            RegionError::from_wire(err).action(),
            RegionAction::Replan(vec![region])
        );
        let empty = errorpb::Error {
            epoch_not_match: Some(Default::default()),
            ..Default::default()
        };
        assert_eq!(RegionError::from_wire(empty).action(), RegionAction::Rescan);
    }

    #[test]
    fn busy_and_stale_back_off_others_rescan() {
        let busy = errorpb::Error {
            server_is_busy: Some(errorpb::ServerIsBusy {
                reason: "too many sst files".into(),
                backoff_ms: 250,
                ..Default::default()
            }),
            ..Default::default()
        };
        let busy = ClientError::region("MultiIngest", 1, busy);
        assert_eq!(busy.retry_after(), Some(Duration::from_millis(250)));
        assert!(busy.retryable());
        let stale = errorpb::Error {
            stale_command: Some(Default::default()),
            ..Default::default()
        };
        assert_eq!(
            RegionError::from_wire(stale).action(),
            RegionAction::Backoff(None)
        );
        let not_found = errorpb::Error {
            region_not_found: Some(errorpb::RegionNotFound { region_id: 4 }),
            ..Default::default()
        };
        assert_eq!(
            RegionError::from_wire(not_found).action(),
            RegionAction::Rescan
        );
        let not_in = errorpb::Error {
            key_not_in_region: Some(errorpb::KeyNotInRegion {
                key: b"k".to_vec(),
                region_id: 4,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            RegionError::from_wire(not_in).action(),
            RegionAction::Rescan
        );
        let dropped = errorpb::Error {
            message: "raft: proposal dropped".into(),
            ..Default::default()
        };
        assert_eq!(
            RegionError::from_wire(dropped.clone()),
            RegionError::Other {
                message: "raft: proposal dropped".into()
            }
        );
        assert_eq!(
            RegionError::from_wire(dropped).action(),
            RegionAction::Rescan
        );
    }

    #[test]
    fn write_rejections_follow_tikv_messages() {
        let ahead = import_sstpb::Error {
            message: "request region 2 is ahead of local region 2, retry write later".into(),
            store_error: None,
        };
        let e = ClientError::write_rejected(1, ahead);
        assert!(matches!(
            e,
            ClientError::WriteRejected {
                kind: WriteRejection::AheadOfLocal,
                ..
            }
        ));
        assert!(e.retryable());
        let stale = import_sstpb::Error {
            message: "request region 2 is staler than local region".into(),
            store_error: None,
        };
        assert!(matches!(
            ClientError::write_rejected(1, stale),
            ClientError::WriteRejected {
                kind: WriteRejection::StalerThanLocal,
                ..
            }
        ));
        let other = import_sstpb::Error {
            message: "invalid commit-ts".into(),
            store_error: None,
        };
        assert!(!ClientError::write_rejected(1, other).retryable());
        let store = import_sstpb::Error {
            message: String::new(),
            store_error: Some(errorpb::Error {
                stale_command: Some(Default::default()),
                ..Default::default()
            }),
        };
        assert!(matches!(
            ClientError::write_rejected(1, store),
            ClientError::Region {
                error: RegionError::StaleCommand,
                ..
            }
        ));
    }

    #[test]
    fn grpc_codes_split_into_transient_and_permanent() {
        let unavailable = ClientError::rpc("GetRegion", "pd", tonic::Status::unavailable("down"));
        assert!(unavailable.retryable());
        assert!(unavailable.is_transport());
        let invalid = ClientError::rpc("GetRegion", "pd", tonic::Status::invalid_argument("bad"));
        assert!(!invalid.retryable());
        let tomb = ClientError::Pd {
            method: "GetStore",
            kind: PdErrorKind::StoreTombstone,
            message: String::new(),
        };
        assert!(!tomb.retryable());
    }
}
