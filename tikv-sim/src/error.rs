//! Errors of starting, running and observing the sim (not the errors it
//! answers RPCs with: those are protocol messages, see `store::errors`).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::faults::FaultSpecError;
use crate::keys::KeyError;
use crate::mvcc::MvccError;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("opening RocksDB at {path}: {source}")]
    OpenDb {
        path: PathBuf,
        source: rocksdb::Error,
    },
    #[error("RocksDB failed {op}: {source}")]
    Db {
        op: &'static str,
        source: rocksdb::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("binding {what} to {addr}: {source}")]
    Bind {
        what: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("corrupt cluster metadata in the data dir ({what}): {reason}")]
    CorruptMeta { what: String, reason: String },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("no store with id {0}")]
    UnknownStore(u64),
    #[error(transparent)]
    Fault(#[from] FaultSpecError),
    #[error(transparent)]
    Mvcc(#[from] MvccError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("waiting for a shutdown signal: {0}")]
    Signal(std::io::Error),
    #[error("background task failed: {0}")]
    Task(String),
}
