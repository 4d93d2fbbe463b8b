//! Fencing: every write of a fenced store is one Txn that also compares the
//! writer's election key (`create_revision` of the key it campaigned with).
//! While the writer leads, the key exists with that revision; once its lease
//! has expired (the process was paused, partitioned or killed) the key is
//! gone or belongs to a later campaign, the compare fails, and the write is
//! refused as [`CheckpointError::Fenced`] — a deposed coordinator that wakes
//! up changes nothing.
//!
//! A failed Txn reads the election key in its else branch, so a refusal is
//! told apart from an ordinary CAS conflict in the same round trip.

use etcd_client::{Compare, CompareOp, TxnOp, TxnOpResponse, TxnResponse};
use squall_common::checkpoint::CheckpointError;

/// The election key a leader holds and the revision it was created at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The full etcd key (not under the store's prefix).
    pub key: Vec<u8>,
    pub create_revision: i64,
}

impl Fence {
    /// The compare that holds only while the leadership lasts.
    pub(super) fn compare(&self) -> Compare {
        Compare::create_revision(self.key.clone(), CompareOp::Equal, self.create_revision)
    }

    /// The else-branch read that tells a lost leadership from a conflict.
    pub(super) fn read(&self) -> TxnOp {
        TxnOp::get(self.key.clone(), None)
    }

    /// After a failed Txn that carried [`Fence::read`] as its last else op:
    /// `Err(Fenced)` when the election key is no longer this leader's.
    pub(super) fn check(&self, what: &str, resp: &TxnResponse) -> Result<(), CheckpointError> {
        let held = resp
            .op_responses()
            .into_iter()
            .filter_map(|op| match op {
                TxnOpResponse::Get(get) => Some(get),
                _ => None,
            })
            .next_back()
            .and_then(|get| get.kvs().first().map(|kv| kv.create_revision()));
        if held == Some(self.create_revision) {
            Ok(())
        } else {
            Err(CheckpointError::Fenced {
                what: what.to_string(),
                leader_key: String::from_utf8_lossy(&self.key).into_owned(),
            })
        }
    }
}

/// The compares of a write: the write's own, then the fence's, if any.
pub(super) fn compares(own: Vec<Compare>, fence: Option<&Fence>) -> Vec<Compare> {
    own.into_iter().chain(fence.map(Fence::compare)).collect()
}
