//! Why an engine's ingest failed.

use squall_client::keys::HexKey;
use squall_client::{ClientError, PieceFailed};

use super::source::{KeyRange, SourceError};

/// A failed ingest. Every variant names the range or keys involved.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("commit ts 0 is invalid (TiKV rejects it); take one from PD's TSO")]
    ZeroCommitTs,
    #[error("reading the engine failed ({what}): {source}")]
    Source {
        what: String,
        #[source]
        source: SourceError,
    },
    #[error("range [{start}, {end}) failed at {cursor} after {attempts} attempts: {source}")]
    RangeFailed {
        start: String,
        end: String,
        cursor: String,
        attempts: u32,
        #[source]
        source: ClientError,
    },
    #[error("splitting regions failed with {pending} split keys left (first {first}): {source}")]
    SplitFailed {
        pending: usize,
        first: String,
        #[source]
        source: ClientError,
    },
    #[error("PD/TiKV call failed: {0}")]
    Client(#[from] ClientError),
    #[error("background task failed: {0}")]
    Task(String),
}

impl IngestError {
    /// `failed`, a piece of `range` the region walk gave up on.
    pub(crate) fn range_failed((start, end): &KeyRange, failed: PieceFailed) -> Self {
        Self::RangeFailed {
            start: HexKey(start).to_string(),
            end: HexKey(end).to_string(),
            cursor: HexKey(&failed.start).to_string(),
            attempts: failed.attempts,
            source: failed.source,
        }
    }

    pub(crate) fn source(what: impl Into<String>, source: SourceError) -> Self {
        Self::Source {
            what: what.into(),
            source,
        }
    }
}
