//! Cancellation for the long-running parts (streams, retries, backoff
//! sleeps): a watch channel the runner flips to `true`.

use std::future::Future;

use tokio::sync::watch;

use super::error::DuplicateError;

/// A cheap-to-clone cancellation flag.
#[derive(Debug, Clone)]
pub struct Cancel(watch::Receiver<bool>);

impl Cancel {
    /// A flag and the sender that sets it.
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    /// A flag that is never set.
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        // The receiver keeps the last value after the sender is gone.
        drop(tx);
        Self(rx)
    }

    pub fn from_receiver(rx: watch::Receiver<bool>) -> Self {
        Self(rx)
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    pub fn check(&self) -> Result<(), DuplicateError> {
        if self.is_cancelled() {
            Err(DuplicateError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Resolves when the flag is set (never, if its sender is dropped unset).
    pub async fn cancelled(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Runs `fut` unless cancellation comes first.
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> Result<T, DuplicateError> {
        tokio::select! {
            biased;
            () = self.cancelled() => Err(DuplicateError::Cancelled),
            out = fut => Ok(out),
        }
    }

    /// Sleeps for `d` unless cancelled first.
    pub async fn sleep(&self, d: std::time::Duration) -> Result<(), DuplicateError> {
        self.run(tokio::time::sleep(d)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancels_running_work() {
        let (tx, cancel) = Cancel::new();
        assert!(cancel.check().is_ok());
        let c = cancel.clone();
        let waiter =
            tokio::spawn(async move { c.sleep(std::time::Duration::from_secs(3600)).await });
        tx.send(true).expect("receiver alive");
        assert!(matches!(
            waiter.await.expect("joins"),
            Err(DuplicateError::Cancelled)
        ));
        assert!(cancel.is_cancelled());
        assert!(matches!(
            cancel.run(async { 1 }).await,
            Err(DuplicateError::Cancelled)
        ));
        let never = Cancel::never();
        assert_eq!(never.run(async { 2 }).await.expect("runs"), 2);
    }
}
