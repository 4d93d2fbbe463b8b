//! Cancellation for the long-running parts (streams, retries, backoff
//! sleeps), on the runner's `CancellationToken`.

use std::future::Future;

use tokio_util::sync::CancellationToken;

use super::error::DuplicateError;

/// A cheap-to-clone cancellation flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(CancellationToken);

impl Cancel {
    /// A flag that is set by [`Cancel::cancel`] (on any clone).
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag that is never set.
    pub fn never() -> Self {
        Self::default()
    }

    /// Follows the runner's token (a child: cancelling here does not cancel
    /// the runner).
    pub fn from_token(token: &CancellationToken) -> Self {
        Self(token.child_token())
    }

    pub fn cancel(&self) {
        self.0.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    pub fn check(&self) -> Result<(), DuplicateError> {
        if self.is_cancelled() {
            Err(DuplicateError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Runs `fut` unless cancellation comes first.
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> Result<T, DuplicateError> {
        tokio::select! {
            biased;
            () = self.0.cancelled() => Err(DuplicateError::Cancelled),
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
        let runner = CancellationToken::new();
        let cancel = Cancel::from_token(&runner);
        assert!(cancel.check().is_ok());
        let c = cancel.clone();
        let waiter =
            tokio::spawn(async move { c.sleep(std::time::Duration::from_secs(3600)).await });
        runner.cancel();
        assert!(matches!(
            waiter.await.expect("joins"),
            Err(DuplicateError::Cancelled)
        ));
        assert!(cancel.is_cancelled());
        assert!(matches!(
            cancel.run(async { 1 }).await,
            Err(DuplicateError::Cancelled)
        ));
        assert_eq!(Cancel::never().run(async { 2 }).await.expect("runs"), 2);
    }
}
