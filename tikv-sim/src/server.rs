//! Running a tonic server on a listener until told to stop.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::server::Router;

use crate::error::SimError;

/// Largest gRPC message the sim accepts or sends (Write batches are big).
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

pub async fn bind(addr: SocketAddr, what: &str) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind {
            what: what.to_owned(),
            addr,
            source,
        })
}

/// A server task and the switch that stops it.
pub struct GrpcTask {
    name: String,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl GrpcTask {
    pub fn spawn(name: String, router: Router, listener: TcpListener) -> Self {
        let (shutdown, rx) = oneshot::channel::<()>();
        let label = name.clone();
        let task = tokio::spawn(async move {
            let incoming = TcpListenerStream::new(listener);
            let stop = async move {
                let _ = rx.await;
            };
            if let Err(e) = router.serve_with_incoming_shutdown(incoming, stop).await {
                tracing::error!(server = %label, error = %e, "gRPC server failed");
            }
        });
        GrpcTask {
            name,
            shutdown,
            task,
        }
    }

    /// Stops accepting, lets in-flight calls finish for up to `grace`, then
    /// drops whatever is left.
    pub async fn stop(self, grace: Duration) {
        let _ = self.shutdown.send(());
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            tracing::warn!(server = %self.name, "in-flight calls outlived the grace period; dropping them");
            task.abort();
            let _ = task.await;
        }
    }
}
