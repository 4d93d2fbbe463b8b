//! Keeps TiKV in import mode while a job runs.
//!
//! TiKV leaves import mode by itself when nobody renews it (its
//! `import-mode-timeout`, 10 min by default), so a dead importer cannot leave
//! the cluster with compaction relaxed. The keeper re-asserts the mode on a
//! timer from a task that holds only a `Weak`: dropping the keeper stops it.
//! `finish` switches back to normal; a keeper dropped without `finish` (an
//! abort) still switches back, best effort, from a spawned task.

use std::sync::{Arc, Weak};
use std::time::Duration;

use squall_proto::import_sstpb::SwitchMode;
use tokio::task::JoinHandle;

use crate::error::ClientError;
use crate::store::ImportClient;

/// How often import mode is re-asserted; well inside TiKV's 10 min timeout
/// (Lightning uses 5 min). Default for [`ImportModeKeeper::start`].
pub const DEFAULT_RENEW_INTERVAL: Duration = Duration::from_secs(60);

/// Holds the cluster in import mode until `finish` or drop.
pub struct ImportModeKeeper {
    shared: Option<Arc<ImportClient>>,
    renewer: Option<JoinHandle<()>>,
}

impl ImportModeKeeper {
    /// Switches every store to import mode and starts renewing it every
    /// `interval`. Fails if the first switch fails.
    pub async fn start(client: ImportClient, interval: Duration) -> Result<Self, ClientError> {
        client.switch_mode_all(SwitchMode::Import).await?;
        tracing::info!(
            interval_secs = interval.as_secs(),
            "TiKV switched to import mode"
        );
        let shared = Arc::new(client);
        let renewer = tokio::spawn(renew(Arc::downgrade(&shared), interval));
        Ok(Self {
            shared: Some(shared),
            renewer: Some(renewer),
        })
    }

    /// Stops renewing and switches every store back to normal mode.
    pub async fn finish(mut self) -> Result<(), ClientError> {
        self.stop_renewer();
        let Some(client) = self.shared.take() else {
            return Ok(());
        };
        let result = client.switch_mode_all(SwitchMode::Normal).await;
        if result.is_ok() {
            tracing::info!("TiKV switched back to normal mode");
        }
        result
    }

    fn stop_renewer(&mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
    }
}

impl Drop for ImportModeKeeper {
    fn drop(&mut self) {
        self.stop_renewer();
        let Some(client) = self.shared.take() else {
            return;
        };
        // Dropped without `finish`: the job aborted. Switch back if a runtime
        // is still there; otherwise TiKV's own timeout restores normal mode.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if let Err(err) = client.switch_mode_all(SwitchMode::Normal).await {
                        tracing::warn!(error = %err, "could not switch TiKV back to normal mode after abort");
                    }
                });
            }
            Err(_) => tracing::warn!(
                "no runtime to switch TiKV back to normal mode; TiKV will time out of import mode"
            ),
        }
    }
}

async fn renew(client: Weak<ImportClient>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(client) = client.upgrade() else {
            return;
        };
        if let Err(err) = client.switch_mode_all(SwitchMode::Import).await {
            tracing::warn!(error = %err, "renewing import mode failed; will retry at the next tick");
        }
    }
}
