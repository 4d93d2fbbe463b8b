//! Real `etcd` and `nats-server` processes for tests: each on free loopback
//! ports, in its own temp dir, killed (and its dir removed) on drop. Started
//! servers are waited on until they answer, never slept on.

mod etcd;
mod nats;

pub use etcd::EtcdServer;
pub use nats::NatsServer;
