//! PD's GC safepoint bookkeeping, as PD's `gc.SafePointManager` and storage
//! endpoint keep it (PD v6–v8):
//!
//! * one **GC safepoint**: the version below which TiKV may collect old
//!   versions. It only moves forward (`UpdateGCSafePoint` with a smaller
//!   value changes nothing and answers the current one).
//! * **service safepoints**: `service id → (safe point, expiry)`. A service
//!   (BR, TiCDC, Lightning, Squall) registers one to keep the versions it
//!   still reads. The GC worker (TiDB's, service id `gc_worker`, never
//!   expiring) registers its proposal as one more service and takes the
//!   minimum of all as the new GC safepoint, so no GC passes a live service
//!   safepoint. Expired entries are dropped whenever the minimum is read.
//!
//! A registration below the current minimum is refused without an error:
//! the answer carries the minimum, and the caller must notice that it is
//! above what it asked for (the versions it wanted may be gone already).
//! TTL ≤ 0 removes the service's entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The service id of TiDB's GC worker; its entry never expires.
pub const GC_WORKER: &str = "gc_worker";

/// One service's registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSafePoint {
    pub service_id: String,
    pub safe_point: u64,
    /// Unix seconds; `i64::MAX` never expires.
    pub expired_at: i64,
}

/// Why an update is refused with an error (PD answers these as errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafePointError {
    #[error("service id of service safepoint cannot be empty")]
    EmptyServiceId,
    #[error("TTL of gc_worker's service safe point must be infinity")]
    GcWorkerTtl,
    #[error("cannot remove service safe point of gc_worker")]
    RemoveGcWorker,
}

/// The answer to `UpdateServiceGCSafePoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUpdate {
    /// The smallest live service safepoint after the update.
    pub min: ServiceSafePoint,
    /// Whether the caller's entry was stored.
    pub updated: bool,
}

/// Everything PD persists about GC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafePoints {
    pub gc_safe_point: u64,
    pub services: BTreeMap<String, ServiceSafePoint>,
}

impl SafePoints {
    /// `UpdateGCSafePoint`: moves the GC safepoint forward only; returns
    /// the GC safepoint after the call.
    pub fn update_gc(&mut self, new: u64) -> u64 {
        if new > self.gc_safe_point {
            self.gc_safe_point = new;
        } else if new < self.gc_safe_point {
            tracing::warn!(
                current = self.gc_safe_point,
                requested = new,
                "trying to move the GC safe point backwards; kept"
            );
        }
        self.gc_safe_point
    }

    /// `UpdateServiceGCSafePoint` at wall time `now` (Unix seconds).
    pub fn update_service(
        &mut self,
        service_id: &str,
        ttl: i64,
        safe_point: u64,
        now: i64,
    ) -> Result<ServiceUpdate, SafePointError> {
        if service_id.is_empty() {
            return Err(SafePointError::EmptyServiceId);
        }
        if ttl <= 0 {
            if service_id == GC_WORKER {
                return Err(SafePointError::RemoveGcWorker);
            }
            self.services.remove(service_id);
        }
        let min = self.min_service(now);
        if ttl <= 0 || safe_point < min.safe_point {
            return Ok(ServiceUpdate {
                min,
                updated: false,
            });
        }
        let expired_at = if i64::MAX - now <= ttl {
            i64::MAX
        } else {
            now + ttl
        };
        if service_id == GC_WORKER && expired_at != i64::MAX {
            return Err(SafePointError::GcWorkerTtl);
        }
        self.services.insert(
            service_id.to_string(),
            ServiceSafePoint {
                service_id: service_id.to_string(),
                safe_point,
                expired_at,
            },
        );
        // The caller may have been the minimum: read it again.
        let min = if min.service_id == service_id {
            self.min_service(now)
        } else {
            min
        };
        Ok(ServiceUpdate { min, updated: true })
    }

    /// The smallest live service safepoint, dropping expired entries; like
    /// PD, creates `gc_worker` (at 0, or at the smallest entry) when missing.
    pub fn min_service(&mut self, now: i64) -> ServiceSafePoint {
        let smallest_any = self.services.values().map(|s| s.safe_point).min();
        let has_gc_worker = self.services.contains_key(GC_WORKER);
        if let Some(gc) = self.services.get_mut(GC_WORKER) {
            gc.expired_at = i64::MAX;
        }
        self.services.retain(|_, s| s.expired_at >= now);
        let live_min = self.services.values().min_by_key(|s| s.safe_point).cloned();
        match (live_min, has_gc_worker) {
            (Some(min), true) => min,
            // Nothing live: gc_worker restarts from 0.
            (None, _) => self.init_gc_worker(0),
            // Entries but no gc_worker: it starts at the smallest of all
            // entries, expired ones included.
            (Some(_), false) => self.init_gc_worker(smallest_any.unwrap_or(0)),
        }
    }

    fn init_gc_worker(&mut self, safe_point: u64) -> ServiceSafePoint {
        let ssp = ServiceSafePoint {
            service_id: GC_WORKER.to_string(),
            safe_point,
            expired_at: i64::MAX,
        };
        self.services.insert(GC_WORKER.to_string(), ssp.clone());
        ssp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_cluster_starts_with_gc_worker_at_zero() {
        let mut sp = SafePoints::default();
        let min = sp.min_service(100);
        assert_eq!((min.service_id.as_str(), min.safe_point), (GC_WORKER, 0));
        assert_eq!(min.expired_at, i64::MAX);
    }

    #[test]
    fn a_service_holds_the_gc_worker_back_until_it_expires() {
        let mut sp = SafePoints::default();
        let up = sp.update_service("squall", 10, 500, 1000).expect("stored");
        assert!(up.updated);
        // gc_worker (0) is still the minimum.
        assert_eq!(up.min.safe_point, 0);
        // The GC worker proposes 900: the minimum is now squall's 500.
        let gc = sp
            .update_service(GC_WORKER, i64::MAX, 900, 1001)
            .expect("gc_worker");
        assert_eq!(
            (gc.min.service_id.as_str(), gc.min.safe_point),
            ("squall", 500)
        );
        // After the TTL (expiry at 1010), squall no longer counts.
        let later = sp.min_service(1011);
        assert_eq!(
            (later.service_id.as_str(), later.safe_point),
            (GC_WORKER, 900)
        );
        assert!(!sp.services.contains_key("squall"));
    }

    #[test]
    fn a_registration_below_the_minimum_is_refused_without_error() {
        let mut sp = SafePoints::default();
        sp.update_service(GC_WORKER, i64::MAX, 700, 1)
            .expect("gc_worker");
        let up = sp.update_service("late", 60, 600, 2).expect("answered");
        assert!(!up.updated);
        assert_eq!(up.min.safe_point, 700);
        assert!(!sp.services.contains_key("late"));
    }

    #[test]
    fn ttl_zero_removes_and_gc_worker_rules_hold() {
        let mut sp = SafePoints::default();
        sp.update_service("s", 60, 5, 1).expect("stored");
        let up = sp.update_service("s", 0, 0, 2).expect("removed");
        assert!(!up.updated);
        assert!(!sp.services.contains_key("s"));
        assert_eq!(
            sp.update_service(GC_WORKER, 0, 0, 2),
            Err(SafePointError::RemoveGcWorker)
        );
        assert_eq!(
            sp.update_service(GC_WORKER, 60, 9, 2),
            Err(SafePointError::GcWorkerTtl)
        );
        assert_eq!(
            sp.update_service("", 60, 9, 2),
            Err(SafePointError::EmptyServiceId)
        );
    }

    #[test]
    fn the_gc_safe_point_only_moves_forward() {
        let mut sp = SafePoints::default();
        assert_eq!(sp.update_gc(10), 10);
        assert_eq!(sp.update_gc(5), 10);
        assert_eq!(sp.update_gc(11), 11);
    }
}
