//! [`NatsArtefactStore`]: the [`squall_common::artefacts::ArtefactStore`] on
//! a NATS JetStream object store, so that what workers produce for the
//! coordinator (an engine's local duplicate rows) reaches it on a cluster
//! whose nodes share no file system.
//!
//! Why this store: a cluster runs nats-server with JetStream already (the
//! task queue), and an object-store bucket is just another stream on it —
//! nothing more to install, configure or secure. It keeps objects on disk
//! (file storage: a server restart loses nothing), chunks big ones (128 KiB
//! messages, so a large duplicate list is not held in one message), checks a
//! SHA-256 digest on read, and replaces a name atomically: a put publishes
//! its chunks, then the object's metadata (a rollup, so readers see the old
//! object or the new one), then purges the old chunks.
//!
//! One bucket per cluster (`squall-artefacts`, stream `OBJ_squall-artefacts`),
//! jobs apart by key: `<job>/duplicates/t<table>-e<engine>.jsonl`. Every call
//! has deadlines (scaled with the bytes moved) and is retried with bounded,
//! jittered backoff while the client reconnects on its own; then it fails
//! with `ArtefactError::Unavailable` naming the operation, the key and the
//! servers. A put that fails half-way can leave chunks no object points at;
//! they cost space only.

mod connect;
mod options;
mod retry;
mod store;

pub use options::NatsArtefactOptions;
pub use store::NatsArtefactStore;
