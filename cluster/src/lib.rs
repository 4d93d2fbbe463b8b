//! Squall's distributed seams on real servers.
//!
//! * [`EtcdCheckpointStore`]: the [`squall_common::checkpoint::CheckpointStore`] on etcd.
//! * [`NatsTaskQueue`]: the [`squall_common::queue::TaskQueue`] on a NATS JetStream work queue.
//! * [`NatsArtefactStore`]: the [`squall_common::artefacts::ArtefactStore`] on a
//!   NATS JetStream object-store bucket.
//! * [`leader`]: the coordinators' election and the fence on the leader's writes.
//! * [`tls`]: TLS to etcd, NATS and the coordinator's API (`--tls-*` files).
//! * `testserver` (feature): real `etcd` and `nats-server` processes on free loopback ports.

mod etcd;
pub mod leader;
mod nats;
mod nats_connect;
mod nats_objects;
mod nats_retry;
#[cfg(feature = "testserver")]
pub mod testserver;
pub mod tls;

pub use etcd::{keepalive, EtcdCheckpointStore, EtcdOptions, Fence};
/// etcd-client's connect options, for callers that open their own etcd client.
pub use etcd_client::ConnectOptions as EtcdConnectOptions;
pub use nats::{NatsOpenError, NatsOptions, NatsTaskQueue};
pub use nats_objects::{NatsArtefactOptions, NatsArtefactStore};
pub use tls::{ClusterTls, TlsError};
