//! The PD and TiKV client: the only code in Squall that speaks gRPC to the
//! cluster. It uses the real kvproto API, so it cannot tell (and must not
//! care) whether the cluster is TiKV or tikv-sim.
//!
//! - [`PdClient`]: PD leader discovery and following, TSO, region lookups and
//!   paginated scans, stores, scatter and operators, GC safepoints;
//!   [`PdHttp`]: PD's HTTP API (pausing schedulers, schedule config).
//! - [`ImportClient`]: calls to stores (import mode, `Write` streams,
//!   `MultiIngest`, `DuplicateDetect`, KV reads, `SplitRegion`, coprocessor
//!   checksum), with a
//!   channel cache per store address.
//! - [`RegionWalk`] / [`walk_regions`]: the one region walk: one call per
//!   region piece of some key ranges, with bounded concurrency, following
//!   region errors (re-route, back off, re-cut from PD), resuming pieces a
//!   call finished only in part.
//! - [`write_and_ingest`]: one region's SSTs written to every peer and
//!   ingested on the leader.
//! - [`ImportModeKeeper`]: holds the cluster in import mode during a job.
//! - [`keys`]: the one place raw keys and encoded region keys meet.
//! - [`observe`]: a hook telling metrics about retries and region ingests.
//! - [`ClientError`] / [`RegionError`]: what failed and what to do about it.
//!
//! Every call has a deadline (`squall.rpc-timeout-secs`) and transient
//! failures are retried with jittered exponential backoff ([`RetryPolicy`],
//! the one backoff policy of the workspace), logging each retry.

mod channels;
mod error;
mod import_mode;
pub mod keys;
pub mod observe;
mod options;
mod pd;
mod region;
mod retry;
mod sst;
mod store;
mod tls;
mod walk;

pub use error::{ClientError, PdErrorKind, RegionAction, RegionError, WriteRejection};
pub use import_mode::{ImportModeKeeper, DEFAULT_RENEW_INTERVAL};
pub use options::ClientOptions;
pub use pd::{
    compose_ts, service_address, OperatorState, PdClient, PdHttp, ServiceSafePoint,
    BALANCE_SCHEDULERS, SCAN_PAGE,
};
pub use region::RegionInfo;
pub use retry::{retry, retry_if, Backoff, RetryPolicy};
pub use sst::{write_and_ingest, WriteIngestError};
pub use store::{put_batch, DuplicateStream, EncodedWrite, ImportClient, KvPair, WriteStream};
pub use tls::ClientTls;
pub use walk::{walk_regions, PieceFailed, RegionPiece, RegionWalk, Visit, WalkError, Walked};
