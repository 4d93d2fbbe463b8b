//! Mapping between the trait's keys and etcd's: `<prefix><key>` on the way
//! in, the prefix stripped on the way out, and etcd's half-open ranges for
//! prefix listings.

use squall_common::checkpoint::{validate_key, CheckpointError};

/// The store prefix and the key arithmetic around it.
#[derive(Debug, Clone)]
pub(super) struct KeySpace {
    prefix: Vec<u8>,
}

impl KeySpace {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.as_bytes().to_vec(),
        }
    }

    /// The etcd key of a (validated) trait key.
    pub(super) fn full(&self, key: &str) -> Result<Vec<u8>, CheckpointError> {
        validate_key(key)?;
        Ok(self.join(key))
    }

    fn join(&self, key: &str) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.prefix.len() + key.len());
        full.extend_from_slice(&self.prefix);
        full.extend_from_slice(key.as_bytes());
        full
    }

    /// `[start, end)` in etcd holding every trait key that starts with
    /// `prefix`. An empty full prefix means "all keys": etcd spells that
    /// `["\0", "\0")`.
    pub(super) fn range(&self, prefix: &str) -> (Vec<u8>, Vec<u8>) {
        let start = self.join(prefix);
        let end = prefix_end(&start);
        if start.is_empty() {
            (vec![0], end)
        } else {
            (start, end)
        }
    }

    /// The trait key of an etcd key from a listing of our range.
    pub(super) fn strip(&self, full: &[u8]) -> Result<String, CheckpointError> {
        let corrupt = |reason: &str| CheckpointError::Corrupt {
            path: String::from_utf8_lossy(full).into_owned(),
            reason: reason.to_string(),
        };
        let rest = full
            .strip_prefix(self.prefix.as_slice())
            .ok_or_else(|| corrupt("etcd returned a key outside the store prefix"))?;
        String::from_utf8(rest.to_vec()).map_err(|_| corrupt("key is not UTF-8"))
    }
}

/// The smallest key greater than every key starting with `prefix` (etcd's
/// `range_end` for a prefix): the last byte below 0xff incremented, what
/// follows it dropped. `"\0"` (no upper bound) when there is no such byte.
pub(super) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The first key after `key` in byte order: where the next page starts.
pub(super) fn successor(key: &[u8]) -> Vec<u8> {
    let mut next = key.to_vec();
    next.push(0);
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_bounds_exactly_the_prefix() {
        assert_eq!(prefix_end(b"a/b"), b"a/c");
        assert_eq!(prefix_end(b"a\xff\xff"), b"b");
        assert_eq!(prefix_end(b"\xff"), b"\0");
        assert_eq!(prefix_end(b""), b"\0");
        assert!(b"a/b\xff\xff".as_slice() < prefix_end(b"a/b").as_slice());
    }

    #[test]
    fn keys_round_trip_through_the_prefix() {
        let space = KeySpace::new("t1/");
        let full = space.full("squall/jobs/j").map_err(|e| e.to_string());
        assert_eq!(full.as_deref(), Ok(&b"t1/squall/jobs/j"[..]));
        let back = space.strip(b"t1/squall/jobs/j").map_err(|e| e.to_string());
        assert_eq!(back.as_deref(), Ok("squall/jobs/j"));
        assert!(space.strip(b"t2/x").is_err());
        assert!(space.full("").is_err());
        assert_eq!(space.range("a/"), (b"t1/a/".to_vec(), b"t1/a0".to_vec()));
        assert_eq!(KeySpace::new("").range(""), (vec![0], vec![0]));
    }
}
