//! Fault injection: rules added at start (`--fault`), through the admin API
//! or through [`FaultController`] decide, per call, whether an RPC is
//! delayed, answered with an error or has its stream cut. Every random
//! choice comes from one RNG seeded by `--seed`, so a run with the same seed
//! and the same call order injects the same faults.

mod rule;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

pub use rule::{FaultAction, FaultError, FaultRule, FaultSpecError, Rpc};

use crate::util::lock;

/// A rule in force, with how often it fired so far.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveFault {
    pub id: u64,
    pub rule: FaultRule,
    pub fired: u64,
}

/// A scheduled store outage, executed by the sim's outage task.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outage {
    pub store: u64,
    pub after: Duration,
    pub duration: Duration,
}

/// What the faults decided for one call.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Decision {
    pub latency: Duration,
    pub error: Option<FaultError>,
    pub drop_after: Option<u64>,
}

impl Decision {
    /// Sleeps for the injected latency, if any.
    pub async fn delay(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

struct Inner {
    rules: Mutex<Vec<ActiveFault>>,
    rng: Mutex<StdRng>,
    next_id: AtomicU64,
    outages: Mutex<Option<UnboundedSender<Outage>>>,
}

/// Handle to add, list and clear faults; cheap to clone.
#[derive(Clone)]
pub struct FaultController {
    inner: Arc<Inner>,
}

impl FaultController {
    pub(crate) fn new(seed: u64) -> Self {
        FaultController {
            inner: Arc::new(Inner {
                rules: Mutex::new(Vec::new()),
                rng: Mutex::new(StdRng::seed_from_u64(seed)),
                next_id: AtomicU64::new(1),
                outages: Mutex::new(None),
            }),
        }
    }

    pub(crate) fn set_outage_sender(&self, tx: UnboundedSender<Outage>) {
        *lock(&self.inner.outages) = Some(tx);
    }

    /// Adds a rule; returns its id.
    pub fn inject(&self, rule: FaultRule) -> Result<u64, FaultSpecError> {
        rule.validate()?;
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        if let (FaultAction::StoreOutage { after_ms, for_ms }, Some(store)) =
            (rule.action, rule.store)
        {
            let outage = Outage {
                store,
                after: Duration::from_millis(after_ms),
                duration: Duration::from_millis(for_ms),
            };
            let sent = lock(&self.inner.outages)
                .as_ref()
                .is_some_and(|tx| tx.send(outage).is_ok());
            if !sent {
                return Err(FaultSpecError(
                    "the sim is shutting down; no outage scheduled".into(),
                ));
            }
        }
        tracing::info!(id, ?rule, "fault added");
        lock(&self.inner.rules).push(ActiveFault { id, rule, fired: 0 });
        Ok(id)
    }

    /// Parses and adds a rule (`rpc=Write,error=ServerIsBusy,rate=0.1`).
    pub fn inject_spec(&self, spec: &str) -> Result<u64, FaultSpecError> {
        self.inject(spec.parse()?)
    }

    /// Removes one rule; false if there was none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut rules = lock(&self.inner.rules);
        let before = rules.len();
        rules.retain(|r| r.id != id);
        rules.len() != before
    }

    /// Removes every rule (scheduled outages still run).
    pub fn clear(&self) {
        lock(&self.inner.rules).clear();
    }

    pub fn list(&self) -> Vec<ActiveFault> {
        lock(&self.inner.rules).clone()
    }

    /// Decides the faults of one call of `rpc` on `store` (`None` for PD):
    /// every matching rule with count left fires with its rate; latencies
    /// add up, the first error and the first stream cut win.
    pub(crate) fn decide(&self, rpc: Rpc, store: Option<u64>) -> Decision {
        let mut decision = Decision::default();
        let mut rules = lock(&self.inner.rules);
        for active in rules.iter_mut() {
            let rule = &active.rule;
            let matches =
                rule.rpc.is_none_or(|r| r == rpc) && rule.store.is_none_or(|s| Some(s) == store);
            let exhausted = rule.count.is_some_and(|c| active.fired >= c);
            if !matches || exhausted || matches!(rule.action, FaultAction::StoreOutage { .. }) {
                continue;
            }
            if !self.roll(rule.rate) {
                continue;
            }
            active.fired += 1;
            match rule.action {
                FaultAction::LatencyMs(ms) => decision.latency += Duration::from_millis(ms),
                FaultAction::Error(e) => decision.error = decision.error.or(Some(e)),
                FaultAction::DropStreamAfter(n) => {
                    decision.drop_after = decision.drop_after.or(Some(n))
                }
                FaultAction::StoreOutage { .. } => {}
            }
        }
        if decision != Decision::default() {
            tracing::info!(rpc = %rpc, ?store, ?decision, "injecting fault");
        }
        decision
    }

    fn roll(&self, rate: f64) -> bool {
        if rate >= 1.0 {
            return true;
        }
        rate > 0.0 && lock(&self.inner.rng).gen_bool(rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_limits_and_rpc_and_store_filter() {
        let faults = FaultController::new(1);
        faults
            .inject_spec("rpc=KvGet,error=ServerIsBusy,count=2,store=1")
            .expect("valid");
        let busy = Some(FaultError::ServerIsBusy);
        assert_eq!(faults.decide(Rpc::KvGet, Some(2)).error, None);
        assert_eq!(faults.decide(Rpc::KvScan, Some(1)).error, None);
        assert_eq!(faults.decide(Rpc::KvGet, Some(1)).error, busy);
        assert_eq!(faults.decide(Rpc::KvGet, Some(1)).error, busy);
        assert_eq!(faults.decide(Rpc::KvGet, Some(1)).error, None);
        assert_eq!(faults.list()[0].fired, 2);
    }

    #[test]
    fn rates_are_deterministic_per_seed() {
        let run = |seed| {
            let faults = FaultController::new(seed);
            faults
                .inject_spec("rpc=Ingest,error=StaleCommand,rate=0.3")
                .expect("valid");
            (0..200)
                .map(|_| faults.decide(Rpc::Ingest, Some(1)).error.is_some())
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let fired = a.iter().filter(|f| **f).count();
        assert!((30..=90).contains(&fired), "rate 0.3 fired {fired} of 200");
    }

    #[test]
    fn latencies_add_and_rules_can_be_removed() {
        let faults = FaultController::new(0);
        let a = faults.inject_spec("rpc=*,latency_ms=5").expect("valid");
        faults.inject_spec("rpc=Tso,latency_ms=7").expect("valid");
        assert_eq!(
            faults.decide(Rpc::Tso, None).latency,
            Duration::from_millis(12)
        );
        assert!(faults.remove(a));
        assert!(!faults.remove(a));
        assert_eq!(
            faults.decide(Rpc::Tso, None).latency,
            Duration::from_millis(7)
        );
        faults.clear();
        assert_eq!(faults.decide(Rpc::Tso, None), Decision::default());
    }

    #[test]
    fn outages_need_the_scheduler() {
        let faults = FaultController::new(0);
        assert!(faults.inject_spec("store=1,down_for_ms=10").is_err());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        faults.set_outage_sender(tx);
        faults
            .inject_spec("store=1,down_after_ms=3,down_for_ms=10")
            .expect("valid");
        let outage = rx.try_recv().expect("scheduled");
        assert_eq!(
            (outage.store, outage.after, outage.duration),
            (1, Duration::from_millis(3), Duration::from_millis(10))
        );
    }
}
