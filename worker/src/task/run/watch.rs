//! The job's control, watched while a task runs: a pause stops the encode
//! (the claim is then handed back; a partial encode is worth nothing), a
//! cancel stops everything, ingest included. An engine already encoded
//! finishes its ingest when the job is paused: that is the task's last
//! step, and the work in the local engine would otherwise be lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use squall_common::checkpoint::{control, Control, SharedCheckpointStore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the control is read while a task runs: the bound on how long
/// a worker goes on after a pause or cancel.
const POLL: Duration = Duration::from_millis(500);

pub(super) struct ControlWatch {
    /// Fires on pause, cancel or shutdown: stop encoding.
    pub encode: CancellationToken,
    /// Fires on cancel or shutdown: stop everything.
    pub all: CancellationToken,
    seen: Arc<Mutex<Option<Control>>>,
    poller: JoinHandle<()>,
}

impl ControlWatch {
    /// Starts watching `job_id`'s control; `shutdown` (the worker's own
    /// stop) fires both tokens too.
    pub fn start(
        store: &SharedCheckpointStore,
        job_id: &str,
        shutdown: &CancellationToken,
    ) -> Self {
        let all = shutdown.child_token();
        let encode = all.child_token();
        let seen = Arc::new(Mutex::new(None));
        let poller = tokio::spawn(poll(
            Arc::clone(store),
            job_id.to_string(),
            encode.clone(),
            all.clone(),
            Arc::clone(&seen),
        ));
        Self {
            encode,
            all,
            seen,
            poller,
        }
    }

    /// The control that stopped (part of) the task, if one did.
    pub fn stopped_by(&self) -> Option<Control> {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for ControlWatch {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

async fn poll(
    store: SharedCheckpointStore,
    job_id: String,
    encode: CancellationToken,
    all: CancellationToken,
    seen: Arc<Mutex<Option<Control>>>,
) {
    loop {
        tokio::select! {
            _ = all.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        let control = match control::read(store.as_ref(), &job_id).await {
            Ok(c) => c.control,
            Err(e) => {
                // The store retried already; the next poll tries again, and
                // the task's own writes meet the same outage.
                tracing::debug!(job = %job_id, error = %e, "cannot read the job's control");
                continue;
            }
        };
        if control == Control::Running {
            continue;
        }
        let first = {
            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            let first = *seen != Some(control);
            *seen = Some(control);
            first
        };
        if first {
            tracing::info!(job = %job_id, %control, "job {control}: stopping the task's work");
        }
        encode.cancel();
        if control == Control::Cancelled {
            all.cancel();
            return;
        }
    }
}
