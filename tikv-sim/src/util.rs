//! Small helpers shared by the sim's modules.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, carrying on if a panicking thread poisoned it: the sim's
/// state is updated with plain assignments, so it is never half-written.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
