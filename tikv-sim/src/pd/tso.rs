//! PD's timestamp oracle: `physical_ms << 18 | logical`, strictly
//! increasing across calls and across restarts. Like PD, it persists a
//! window end ahead of the clock and never hands out a physical time below
//! the last saved window, so a restart cannot go backwards.

/// Bits of the logical part of a timestamp.
pub const LOGICAL_BITS: u32 = 18;
const MAX_LOGICAL: i64 = 1 << LOGICAL_BITS;
/// How far ahead of the handed-out physical time the saved window reaches.
const SAVE_WINDOW_MS: i64 = 3000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsoError {
    #[error("tso count {0} is out of range 1..{MAX_LOGICAL}")]
    BadCount(u32),
}

/// A batch of timestamps: the last one, as PD reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub physical: i64,
    pub logical: i64,
}

impl Stamp {
    #[cfg(test)]
    pub fn compose(self) -> u64 {
        ((self.physical as u64) << LOGICAL_BITS) | self.logical as u64
    }
}

#[derive(Debug)]
pub struct Tso {
    physical: i64,
    logical: i64,
    saved_limit: i64,
}

impl Tso {
    /// Starts after a saved window end (0 for a new cluster).
    pub fn new(saved_limit: i64) -> Self {
        Tso {
            physical: saved_limit,
            logical: MAX_LOGICAL,
            saved_limit,
        }
    }

    /// Allocates `count` consecutive stamps at wall time `now_ms`; returns
    /// the last one and, when the window must move, the new window end to
    /// persist before answering.
    pub fn alloc(&mut self, count: u32, now_ms: i64) -> Result<(Stamp, Option<i64>), TsoError> {
        let count = i64::from(count);
        if count == 0 || count >= MAX_LOGICAL {
            return Err(TsoError::BadCount(count as u32));
        }
        if now_ms > self.physical {
            self.physical = now_ms;
            self.logical = 0;
        }
        if self.logical + count >= MAX_LOGICAL {
            // Logical part exhausted within this millisecond: borrow the next.
            self.physical += 1;
            self.logical = 0;
        }
        self.logical += count;
        let save = (self.physical >= self.saved_limit).then(|| {
            self.saved_limit = self.physical + SAVE_WINDOW_MS;
            self.saved_limit
        });
        Ok((
            Stamp {
                physical: self.physical,
                logical: self.logical,
            },
            save,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_increase_and_count_is_consecutive() {
        let mut tso = Tso::new(0);
        let (a, save) = tso.alloc(1, 1000).expect("alloc");
        assert_eq!(
            a,
            Stamp {
                physical: 1000,
                logical: 1
            }
        );
        assert_eq!(save, Some(1000 + SAVE_WINDOW_MS));
        let (b, save) = tso.alloc(10, 1000).expect("alloc");
        assert_eq!(
            b,
            Stamp {
                physical: 1000,
                logical: 11
            }
        );
        assert_eq!(save, None);
        // The clock going back does not make stamps go back.
        let (c, _) = tso.alloc(1, 500).expect("alloc");
        assert!(c.compose() > b.compose());
    }

    #[test]
    fn restart_starts_after_the_saved_window() {
        let mut tso = Tso::new(5000);
        let (a, _) = tso.alloc(1, 1000).expect("alloc");
        assert!(a.physical > 5000);
    }

    #[test]
    fn logical_overflow_moves_physical() {
        let mut tso = Tso::new(0);
        tso.alloc((MAX_LOGICAL - 2) as u32, 10).expect("alloc");
        let (b, _) = tso.alloc(5, 10).expect("alloc");
        assert_eq!(
            b,
            Stamp {
                physical: 11,
                logical: 5
            }
        );
        assert_eq!(tso.alloc(0, 10), Err(TsoError::BadCount(0)));
    }
}
