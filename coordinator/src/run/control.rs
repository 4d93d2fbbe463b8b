//! The operator's control (`checkpoint::control`: pause, resume, cancel) as
//! the runner obeys it. The ladder (job state, table steps) still decides
//! *what* is left; the [`Gate`] only decides *whether* the next rung may be
//! started now. The runner passes it before handing out engines, at every
//! look at the engine records, and before each post-processing step:
//!
//! * running: go on, with TiKV in import mode (the gate owns the
//!   [`ImportModeKeeper`]);
//! * paused: TiKV back to normal mode, then wait for a resume (or a cancel);
//!   the step under way finishes, nothing new starts;
//! * cancelled: a poller fires [`Gate::stop`] at once, which every
//!   interruption point of the runner already watches (the engine wait,
//!   duplicate detection, ...), so a long step stops too and, like any
//!   interruption, writes nothing: a resubmitted job goes on from its
//!   checkpoints. The runner then ends the job `Cancelled`
//!   ([`Gate::is_cancelled`] tells a cancel from a shutdown).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use squall_client::{ImportClient, ImportModeKeeper, DEFAULT_RENEW_INTERVAL};
use squall_common::checkpoint::{control, Control, JobControl, SharedCheckpointStore};
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::progress::ImportProgress;
use crate::error::CoordinatorError;

/// How often the runner reads the control: the bound on how late it
/// notices a pause or a cancel.
const POLL: Duration = Duration::from_millis(500);

pub struct Gate {
    job_id: String,
    control: watch::Receiver<JobControl>,
    /// Fires on a cancel and on shutdown: the runner's interruption token.
    pub stop: CancellationToken,
    cancelled: Arc<AtomicBool>,
    import_mode: Mutex<ImportMode>,
    progress: Arc<ImportProgress>,
    poller: JoinHandle<()>,
}

struct ImportMode {
    client: ImportClient,
    /// `Some` while TiKV is held in import mode.
    keeper: Option<ImportModeKeeper>,
    /// The pause was logged (once per pause).
    pause_said: bool,
}

impl Gate {
    /// Reads the job's control and keeps watching it. `shutdown` stops the
    /// runner as before; [`Gate::stop`] is its child.
    pub async fn open(
        store: &SharedCheckpointStore,
        job_id: &str,
        client: &ImportClient,
        progress: &Arc<ImportProgress>,
        shutdown: &CancellationToken,
    ) -> Result<Self, CoordinatorError> {
        let first = control::read(store.as_ref(), job_id).await?;
        let (tx, rx) = watch::channel(first);
        let stop = shutdown.child_token();
        let cancelled = Arc::new(AtomicBool::new(false));
        let poller = tokio::spawn(poll(
            Arc::clone(store),
            job_id.to_string(),
            tx,
            stop.clone(),
            Arc::clone(&cancelled),
        ));
        Ok(Self {
            job_id: job_id.to_string(),
            control: rx,
            stop,
            cancelled,
            import_mode: Mutex::new(ImportMode {
                client: client.clone(),
                keeper: None,
                pause_said: false,
            }),
            progress: Arc::clone(progress),
            poller,
        })
    }

    /// The operator cancelled the job (as opposed to a shutdown).
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst) || self.current().control == Control::Cancelled
    }

    /// The control as last read.
    pub fn current(&self) -> JobControl {
        *self.control.borrow()
    }

    /// Returns when the job may go on (running; TiKV in import mode), with
    /// the control it goes on under. Waits while the job is paused (TiKV in
    /// normal mode meanwhile). `Interrupted` on a cancel or shutdown, like
    /// every interruption point of the runner ([`Gate::is_cancelled`] tells
    /// them apart): an interrupted step writes nothing.
    pub async fn pass(&self) -> Result<JobControl, CoordinatorError> {
        let mut rx = self.control.clone();
        loop {
            let c = *rx.borrow_and_update();
            match c.control {
                Control::Running => {
                    self.progress.set_paused(false);
                    self.hold_import_mode(true).await?;
                    return Ok(c);
                }
                Control::Cancelled => return Err(CoordinatorError::Interrupted),
                Control::Paused => {
                    self.progress.set_paused(true);
                    self.hold_import_mode(false).await?;
                    tokio::select! {
                        changed = rx.changed() => {
                            if changed.is_err() {
                                // The poller is gone: only on shutdown.
                                return Err(CoordinatorError::Interrupted);
                            }
                        }
                        _ = self.stop.cancelled() => return Err(CoordinatorError::Interrupted),
                    }
                }
            }
        }
    }

    /// Switches TiKV back to normal mode and stops watching.
    pub async fn close(self) {
        self.poller.abort();
        let mut mode = self.import_mode.lock().await;
        if let Some(keeper) = mode.keeper.take() {
            if let Err(e) = keeper.finish().await {
                tracing::warn!(error = %e, "could not switch TiKV back to normal mode; it reverts by itself after its import-mode timeout");
            }
        }
    }

    async fn hold_import_mode(&self, on: bool) -> Result<(), CoordinatorError> {
        let mut mode = self.import_mode.lock().await;
        match (on, mode.keeper.is_some()) {
            (true, false) => {
                if mode.pause_said {
                    tracing::info!(job = %self.job_id, "job resumed");
                    mode.pause_said = false;
                }
                mode.keeper = Some(
                    ImportModeKeeper::start(mode.client.clone(), DEFAULT_RENEW_INTERVAL).await?,
                );
            }
            (false, true) => {
                if let Some(keeper) = mode.keeper.take() {
                    if let Err(e) = keeper.finish().await {
                        tracing::warn!(job = %self.job_id, error = %e, "paused, but could not switch TiKV back to normal mode; it reverts by itself after its import-mode timeout");
                    }
                }
            }
            _ => {}
        }
        if !on && !mode.pause_said {
            mode.pause_said = true;
            tracing::info!(job = %self.job_id, "job paused: no new work is started, TiKV is in normal mode; resume to go on");
        }
        Ok(())
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

async fn poll(
    store: SharedCheckpointStore,
    job_id: String,
    tx: watch::Sender<JobControl>,
    stop: CancellationToken,
    cancelled: Arc<AtomicBool>,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        match control::read(store.as_ref(), &job_id).await {
            Ok(c) => {
                tx.send_if_modified(|seen| {
                    let changed = *seen != c;
                    *seen = c;
                    changed
                });
                if c.control == Control::Cancelled {
                    tracing::info!(job = %job_id, "job cancelled: stopping it");
                    cancelled.store(true, Ordering::SeqCst);
                    stop.cancel();
                    return;
                }
            }
            // The store retried already; the engine wait meets the same
            // outage and says so. Keep the last control meanwhile.
            Err(e) => tracing::debug!(job = %job_id, error = %e, "cannot read the job's control"),
        }
    }
}
