//! Compare-and-swap as one etcd Txn, and the answer to "did the write
//! happen?" when an earlier attempt of the same CAS failed in flight.
//!
//! The Txn compares the key's `mod_revision` with the expected revision
//! (`create_revision == 0` for "must not exist"), puts on success, and reads
//! the key on failure, so a conflict reports the current value as of the
//! same revision the compare saw.
//!
//! A transport error or timeout leaves the outcome unknown: etcd may have
//! committed the put and the answer was lost (Quickwit calls the opposite
//! case "certainly aborted"). The retry sends the same Txn again. If the
//! first one was applied, the compare now fails and the read shows our own
//! value, so a conflict whose current value equals the value we wrote,
//! after an attempt that may have been applied, is taken as our swap at that
//! revision. Two limits, both harmless for checkpoint records (a writer that
//! wants a value and finds it there has what it wanted):
//! - another writer that wrote the very same bytes in between is mistaken
//!   for us: the caller is told it swapped, and the key holds its value;
//! - if our lost write was applied and then overwritten by someone else, the
//!   caller sees a conflict and re-reads, as after any conflict.

use etcd_client::{Compare, CompareOp, KvClient, Txn, TxnOp, TxnOpResponse, TxnResponse};
use squall_common::checkpoint::{CasOutcome, CheckpointError, Revision};

use super::fence::{compares, Fence};
use super::retry::{classify, AttemptError};
use super::{header_revision, versioned};

/// One attempt of a CAS of `full_key` (trait key `key`, for messages).
pub(super) async fn attempt(
    mut kv: KvClient,
    key: &str,
    full_key: Vec<u8>,
    expected: Option<Revision>,
    value: Vec<u8>,
    fence: Option<&Fence>,
) -> Result<CasOutcome, AttemptError> {
    let compare = match expected {
        None => Compare::create_revision(full_key.clone(), CompareOp::Equal, 0),
        // No key has a revision above i64::MAX, so saturating keeps the
        // compare false, which is the right answer.
        Some(rev) => Compare::mod_revision(
            full_key.clone(),
            CompareOp::Equal,
            i64::try_from(rev.0).unwrap_or(i64::MAX),
        ),
    };
    let reads = [TxnOp::get(full_key.clone(), None)]
        .into_iter()
        .chain(fence.map(Fence::read));
    let txn = Txn::new()
        .when(compares(vec![compare], fence))
        .and_then([TxnOp::put(full_key, value, None)])
        .or_else(reads.collect::<Vec<_>>());
    let resp = kv
        .txn(txn)
        .await
        .map_err(|e| classify(|| format!("cas of {key:?}"), e))?;
    if let (false, Some(f)) = (resp.succeeded(), fence) {
        f.check(&format!("cas of {key:?}"), &resp)
            .map_err(AttemptError::Permanent)?;
    }
    outcome_of(key, &resp)
}

fn outcome_of(key: &str, resp: &TxnResponse) -> Result<CasOutcome, AttemptError> {
    if resp.succeeded() {
        return header_revision(resp.header(), || format!("cas of {key:?}"))
            .map(CasOutcome::Swapped);
    }
    let current = resp.op_responses().into_iter().find_map(|op| match op {
        TxnOpResponse::Get(get) => Some(get.kvs().first().map(versioned)),
        TxnOpResponse::Put(_) | TxnOpResponse::Delete(_) | TxnOpResponse::Txn(_) => None,
    });
    match current {
        Some(current) => Ok(CasOutcome::Conflict { current }),
        None => Err(AttemptError::Permanent(CheckpointError::Rejected {
            what: format!("cas of {key:?}"),
            reason: "etcd answered a failed txn without the read of its else branch".into(),
        })),
    }
}

/// Turns a conflict that shows our own value into our swap when an earlier
/// attempt may have been applied (see the module doc).
pub(super) fn settle(
    key: &str,
    outcome: CasOutcome,
    written: &[u8],
    maybe_applied: bool,
) -> CasOutcome {
    match outcome {
        CasOutcome::Conflict { current: Some(cur) } if maybe_applied && cur.value == written => {
            tracing::warn!(
                key,
                revision = cur.revision.0,
                "cas outcome was unknown after a failed attempt; the key holds the value \
                 written, taking it as this call's swap"
            );
            CasOutcome::Swapped(cur.revision)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use squall_common::checkpoint::Versioned;

    use super::*;

    fn conflict(value: &[u8], rev: u64) -> CasOutcome {
        CasOutcome::Conflict {
            current: Some(Versioned {
                value: value.to_vec(),
                revision: Revision(rev),
            }),
        }
    }

    #[test]
    fn own_value_after_an_unknown_attempt_is_a_swap() {
        let settled = settle("k", conflict(b"mine", 7), b"mine", true);
        assert_eq!(settled, CasOutcome::Swapped(Revision(7)));
    }

    #[test]
    fn conflicts_stay_conflicts_otherwise() {
        // First attempt: the conflict is real even if the bytes match.
        assert_eq!(
            settle("k", conflict(b"mine", 7), b"mine", false),
            conflict(b"mine", 7)
        );
        // Someone else's value.
        assert_eq!(
            settle("k", conflict(b"theirs", 7), b"mine", true),
            conflict(b"theirs", 7)
        );
        let gone = CasOutcome::Conflict { current: None };
        assert_eq!(settle("k", gone.clone(), b"mine", true), gone);
    }
}
