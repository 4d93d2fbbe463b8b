//! The node's wait for disk room: after a task met a full disk under the
//! local engines ([`crate::task::worker_loop::Settled::DiskFull`]), the
//! node's pull loops take no task until the directory has the bytes that
//! engine needs, looked at every [`POLL`] (an operator frees space, or the
//! volume is grown). The other workers meanwhile do the task.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::task::disk_full::available_bytes;

/// How often the free space is looked at while waiting.
const POLL: Duration = Duration::from_secs(1);
/// How often the wait is logged again while it lasts.
const SAY_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
struct Want {
    dir: PathBuf,
    needed: u64,
}

#[derive(Debug, Default)]
pub struct Room {
    want: Mutex<Option<Want>>,
}

impl Room {
    /// Takes no task until `dir` has `needed` bytes free (the larger need
    /// wins when several tasks met the full disk).
    pub fn wait_for(&self, dir: PathBuf, needed: u64) {
        let mut want = lock(&self.want);
        if want.as_ref().is_none_or(|w| w.needed < needed) {
            tracing::warn!(dir = %dir.display(), needed,
                "disk full: taking no more tasks until {} has {needed} bytes free", dir.display());
            *want = Some(Want { dir, needed });
        }
    }

    /// Returns at once when no room is awaited, else when there is room
    /// or `drain` fires.
    pub async fn wait(&self, drain: &CancellationToken) {
        let mut said = Instant::now();
        loop {
            let Some(want) = lock(&self.want).clone() else {
                return;
            };
            let dir = want.dir.clone();
            let free = tokio::task::spawn_blocking(move || available_bytes(&dir)).await;
            match free {
                Ok(Ok(free)) if free >= want.needed => {
                    tracing::info!(dir = %want.dir.display(), free, needed = want.needed,
                        "disk room again: taking tasks");
                    let mut now = lock(&self.want);
                    if now.as_ref().is_some_and(|w| w.needed <= want.needed) {
                        *now = None;
                    }
                    continue;
                }
                Ok(Ok(free)) if said.elapsed() >= SAY_EVERY => {
                    said = Instant::now();
                    tracing::warn!(dir = %want.dir.display(), free, needed = want.needed,
                        "disk still full: waiting for room before taking tasks");
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(dir = %want.dir.display(), error = %e, "cannot read the free space; looking again")
                }
                Err(e) => tracing::warn!(error = %e, "reading the free space failed"),
            }
            tokio::select! {
                _ = drain.cancelled() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain data: consistent even if a holder panicked.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_until_the_directory_has_the_room() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let room = Room::default();
        let drain = CancellationToken::new();
        // Nothing awaited: no wait.
        tokio::time::timeout(Duration::from_secs(1), room.wait(&drain))
            .await
            .expect("no wait without a full disk");
        // More than any disk has: waits until drained.
        room.wait_for(dir.path().to_path_buf(), u64::MAX);
        let waited = tokio::time::timeout(Duration::from_millis(1500), room.wait(&drain)).await;
        assert!(waited.is_err(), "waits while there is no room");
        drain.cancel();
        room.wait(&drain).await;
        // A need the disk meets: the wait ends and is forgotten.
        *lock(&room.want) = None;
        room.wait_for(dir.path().to_path_buf(), 1);
        room.wait(&CancellationToken::new()).await;
        assert!(lock(&room.want).is_none());
    }
}
