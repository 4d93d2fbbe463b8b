//! Artefacts: what workers produce for the coordinator to read later (an
//! engine's local duplicate rows), behind a store trait, so that a cluster
//! whose nodes share no file system loses none of them.
//!
//! * [`store`]: the [`ArtefactStore`] seam (put, put a file, get, delete,
//!   list) and its key rules.
//! * [`local`]: [`LocalArtefactStore`], files under a directory; embedded
//!   mode roots it at the output directory, so paths are what they always were.
//! * [`prefixed`]: one job's view of a store shared by many ([`for_job`]).
//! * [`keys`]: where each artefact lives, relative to its job.
//! * `testsuite` (tests and the `testsuite` feature): the contract every
//!   implementation must pass, stamped out by [`artefact_store_test_suite!`].
//!   `squall_cluster::NatsArtefactStore` (a NATS JetStream object store)
//!   passes it too.
//!
//! **Order against the checkpoint.** A worker stores an engine's artefact
//! *before* it records the engine `Done` (by CAS on its attempt), and a redone
//! engine writes the same key again (a put replaces), so the coordinator,
//! which reads artefacts only of `Done` engines, sees every one exactly once.

pub mod keys;
mod local;
mod prefixed;
mod store;

#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;

use std::sync::Arc;

pub use local::LocalArtefactStore;
pub use prefixed::PrefixedArtefactStore;
pub use store::{validate_key, validate_prefix, ArtefactError, ArtefactStore, MAX_KEY_LEN};

/// The store as the rest of Squall holds it.
pub type SharedArtefactStore = Arc<dyn ArtefactStore>;

/// `store` seen from one job: keys of [`keys`] land under `<job>/`.
pub fn for_job(
    store: &SharedArtefactStore,
    job_id: &str,
) -> Result<SharedArtefactStore, ArtefactError> {
    Ok(Arc::new(PrefixedArtefactStore::new(
        Arc::clone(store),
        keys::job_prefix(job_id),
    )?))
}
