//! A failure count that travels with a piece of work (a range that is split
//! after a region error keeps its parent's count, so a range that keeps
//! failing cannot retry forever by splitting), turned into waits by the
//! client's jittered exponential [`RetryPolicy`].

use std::time::Duration;

use squall_client::RetryPolicy;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    failures: u32,
}

impl Attempts {
    /// Records a failure; the wait before the next attempt, or `None` when
    /// the policy's attempts are used up.
    pub fn fail(&mut self, policy: &RetryPolicy, hint: Option<Duration>) -> Option<Duration> {
        self.failures += 1;
        let mut backoff = policy.start();
        let mut delay = None;
        for _ in 0..self.failures {
            delay = backoff.next_delay(hint);
        }
        delay
    }

    /// Progress was made: the next failure starts a fresh count.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_the_policy_and_reset_by_progress() {
        let policy = RetryPolicy {
            max_attempts: 3,
            initial: Duration::from_millis(1),
            jitter: 0.0,
            ..Default::default()
        };
        let mut a = Attempts::default();
        assert_eq!(a.fail(&policy, None), Some(Duration::from_millis(1)));
        assert_eq!(a.fail(&policy, None), Some(Duration::from_millis(2)));
        assert_eq!(a.fail(&policy, None), None);
        a.reset();
        assert_eq!(
            a.fail(&policy, Some(Duration::from_millis(50))),
            Some(Duration::from_millis(50))
        );
        assert_eq!(a.failures(), 1);
    }
}
