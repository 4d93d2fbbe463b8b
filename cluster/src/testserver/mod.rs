//! Real `etcd` and `nats-server` processes for tests: each on free loopback
//! ports, in its own temp dir, killed (and its dir removed) on drop. Started
//! servers are waited on until they answer, never slept on.

mod etcd;
mod nats;

pub use etcd::EtcdServer;
pub use nats::NatsServer;

/// Starts a server for a test. When its binary is not installed the test is
/// skipped (`None`, reason printed) — except under `CI=true`, where every
/// prerequisite must be there and the test fails. Any other start failure
/// fails the test.
pub fn start_or_skip<S>(what: &str, start: impl FnOnce() -> std::io::Result<S>) -> Option<S> {
    match start() {
        Ok(server) => Some(server),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true and {what} is missing: {e}");
            }
            eprintln!("skipping: {e}");
            None
        }
        Err(e) => panic!("cannot start {what}: {e}"),
    }
}
