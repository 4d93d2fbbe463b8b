//! A TiKV + PD protocol-compatible test cluster in one process.
//!
//! Real TiKV and PD cannot run where Squall is built and tested, so tests,
//! demos, benchmarks and chaos runs talk to this instead, through the very
//! same kvproto gRPC API (`pdpb.PD`, `tikvpb.Tikv`, `import_sstpb.ImportSST`).
//! Nothing outside this crate may know it is talking to a sim.
//!
//! # What it models
//!
//! * **Topology.** PD on one address; N stores (default 3), each a separate
//!   gRPC server on its own address. Regions have peers on up to three
//!   stores and one leader; clients must route by leader and store address.
//!   A request to a non-leader answers NotLeader with the leader; a stopped
//!   store refuses connections, and its leaders move to peers on live stores
//!   (as an election would).
//! * **Storage.** One RocksDB under the data dir with TiKV's layout: `write`
//!   CF records (`'z' + EncodeBytes(key) + BE64(!commit_ts)`, type, start
//!   ts, values ≤ 255 bytes inline) and `default` CF for longer values, so
//!   versions coexist and reads at a ts see the right one. Region metadata,
//!   store addresses, the id allocator and the TSO window are persisted: a
//!   restarted sim on the same data dir comes back with its data and regions.
//! * **PD.** Members, stores, regions by key / id / scan (boundaries
//!   memcomparable-encoded, empty end = +inf), AskBatchSplit, SplitRegions
//!   (encoded keys), ScatterRegion (moves peers and leaders to the least
//!   loaded stores) with GetOperator progress, and a monotonic TSO that
//!   returns the last of `count` stamps. Requests must carry the cluster id
//!   from GetMembers, as with PD.
//! * **Tikv.** KvGet, KvBatchGet, KvScan at a version; SplitRegion (raw keys,
//!   right-derived like TiKV, epoch version bumped); Coprocessor with checksum
//!   requests (tp 105: crc64-xor over raw key ‖ value at the request's start
//!   ts, as TiKV's `coprocessor/checksum.rs`); other request types get TiKV's
//!   "unsupported tp" `other_error`.
//! * **ImportSST.** SwitchMode/GetMode (import mode lapses if not renewed),
//!   Write (staged as real SST files per store, epoch checked against the
//!   store's region: RequestTooNew / RequestTooOld in `WriteResponse.error`),
//!   Ingest/MultiIngest (leader, epoch, SST epoch and range checks; RocksDB
//!   file ingestion, `default` before `write`; a staged file is consumed, so
//!   re-ingesting it is StaleCommand), DuplicateDetect (TiKV's exact
//!   reporting rules, batches of 4096 pairs).
//! * **L0 of ingested SSTs.** Beside the real RocksDB, each store keeps a
//!   model of where its RocksDB would put each ingested SST (`store::lsm`):
//!   overlapping data already there → L0, else below; L0 compacts from 4
//!   files at a configured speed. Outside import mode an ingest answers
//!   ServerIsBusy ("too many sst files are ingesting", no `backoff_ms`) when
//!   TiKV's `ingest_maybe_slowdown_writes` would: L0 plus in-flight SSTs of
//!   the `write` CF over half of `level0-stop-writes-trigger` (20). Counts
//!   and every ingested SST: [`SimHandle::ingest_report`], `GET /ingests`.
//! * **GC.** PD's GC safepoint and service safepoints (`GetGCSafePoint`,
//!   `UpdateGCSafePoint`, `UpdateServiceGCSafePoint` with PD's rules: TTL,
//!   expiry, refusal below the minimum, `gc_worker`), and GC rounds as
//!   TiDB's GC worker runs them (propose `now - life time`, held back by
//!   service safepoints) followed by TiKV's collection of old versions
//!   below the GC safepoint; on a timer or on demand ([`gc`]).
//! * **Errors** as `errorpb.Error` with TiKV's fields and messages:
//!   NotLeader, EpochNotMatch (with current regions), RegionNotFound,
//!   KeyNotInRegion, ServerIsBusy, StaleCommand, StoreNotMatch.
//! * **Faults** (`--fault SPEC`, the admin API or [`FaultController`]): per
//!   RPC and store, with a rate or a count: each error kind, latency, streams
//!   cut after N messages, timed store outages. Seeded, so reproducible.
//! * **Observation**: regions and leaders, SSTs ingested per store (with
//!   overlap and L0 counts), every version of a key range ([`SimHandle`]
//!   methods and the admin API; [`admin::report`] fetches `/ingests`).
//!
//! # What it does NOT model
//!
//! * **No Raft and no replication.** All stores share one RocksDB: a region's
//!   data exists once, and "followers" only consume their staged copies of
//!   ingested SSTs. Leader changes are instant; there are no elections,
//!   terms, log lag, snapshots or stale reads.
//! * **No real scheduling.** PD does not balance on its own; splits keep the
//!   parent's leader; scatter applies at once and only reports RUNNING for a
//!   while. Regions never split or merge by size.
//! * **No compaction pressure to speak of.** One RocksDB with default options
//!   on one machine; the L0 model only counts files and delays nothing but
//!   ingests refused for a stall. Import mode changes nothing but the
//!   write-stall check, and ingest and read speeds say nothing about a TiKV
//!   cluster. Never quote sim numbers as TiKV numbers.
//! * **No transactions**: no Prewrite/Commit, no locks. GC collects at once
//!   (no compaction filter lag) and reads below the GC safepoint are not
//!   refused (TiKV does not refuse them either; TiDB does).
//!
//! # Known deviations from TiKV
//!
//! * Write errors come back in `WriteResponse.error` (as Squall's client
//!   expects); TiKV sends most of them as a gRPC status with the same text.
//! * Returned SST metas are the request's meta with `cf_name` set, as TiKV's
//!   writer returns them (no length or checksum).

// Region errors are returned by value, as TiKV builds them: `errorpb::Error`
// is a large prost message on cold paths, and boxing it would only obscure the
// mapping from each check to its wire answer.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

pub mod admin;
mod cluster;
pub mod config;
mod coprocessor;
pub mod error;
pub mod faults;
pub mod gc;
mod import;
pub mod keys;
mod kv;
mod meta;
pub mod mvcc;
pub mod observe;
mod pd;
mod region;
mod server;
mod sim;
mod storage;
mod store;
mod tls;
mod util;

pub use config::{SimArgs, SimConfig};
pub use error::SimError;
pub use faults::{
    ActiveFault, FaultAction, FaultController, FaultError, FaultRule, FaultSpecError, Rpc,
};
pub use gc::{GcReport, GcStatus, ServiceSafePoint};
pub use mvcc::{VersionInfo, WriteKind};
pub use observe::{PeerInfo, RegionInfo, StoreInfo};
pub use sim::{start, SimHandle};
pub use store::lsm::LsmSettings;
pub use tls::SimTls;

/// `squall sim`: starts the sim, logs one line naming every address once
/// serving, runs until SIGTERM or Ctrl-C, then shuts down cleanly.
pub async fn run(args: SimArgs) -> Result<(), SimError> {
    let handle = start(args.into_config()).await?;
    tracing::info!("{}", handle.describe());
    let signal = wait_for_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    signal
}

async fn wait_for_signal() -> Result<(), SimError> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(SimError::Signal)?;
    tokio::select! {
        _ = term.recv() => Ok(()),
        r = tokio::signal::ctrl_c() => r.map_err(SimError::Signal),
    }
}
