//! Typed access to the records: JSON encoding, format-version checks and a
//! read-modify-CAS loop, over any [`CheckpointStore`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::records::{EngineCheckpoint, JobCheckpoint, TableCheckpoint, RECORD_VERSION};
use super::store::{CasOutcome, CheckpointError, CheckpointStore, Revision, Versioned};

/// A record type kept in the store.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    fn format_version(&self) -> u32;
}

impl Record for JobCheckpoint {
    fn format_version(&self) -> u32 {
        self.version
    }
}
impl Record for TableCheckpoint {
    fn format_version(&self) -> u32 {
        self.version
    }
}
impl Record for EngineCheckpoint {
    fn format_version(&self) -> u32 {
        self.version
    }
}
impl Record for super::RangeCheckpoint {
    fn format_version(&self) -> u32 {
        self.version
    }
}

/// A decoded record and the revision it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<T> {
    pub key: String,
    pub record: T,
    pub revision: Revision,
}

/// What an [`update`] closure decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Write,
    /// Leave the record as it is (the update is already applied, or must not be).
    Keep,
}

/// Attempts of [`update`] before it reports contention.
const UPDATE_ATTEMPTS: u32 = 32;

pub fn encode<T: Record>(key: &str, record: &T) -> Result<Vec<u8>, CheckpointError> {
    serde_json::to_vec_pretty(record).map_err(|source| CheckpointError::Encode {
        key: key.to_string(),
        source,
    })
}

pub fn decode<T: Record>(key: &str, bytes: &[u8]) -> Result<T, CheckpointError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: u32,
    }
    let v: VersionOnly =
        serde_json::from_slice(bytes).map_err(|source| CheckpointError::Decode {
            key: key.to_string(),
            source,
        })?;
    if v.version > RECORD_VERSION {
        return Err(CheckpointError::UnsupportedVersion {
            key: key.to_string(),
            found: v.version,
            supported: RECORD_VERSION,
        });
    }
    serde_json::from_slice(bytes).map_err(|source| CheckpointError::Decode {
        key: key.to_string(),
        source,
    })
}

fn stored<T: Record>(key: &str, v: Versioned) -> Result<Stored<T>, CheckpointError> {
    Ok(Stored {
        key: key.to_string(),
        record: decode(key, &v.value)?,
        revision: v.revision,
    })
}

pub async fn read<T: Record>(
    store: &dyn CheckpointStore,
    key: &str,
) -> Result<Option<Stored<T>>, CheckpointError> {
    store.get(key).await?.map(|v| stored(key, v)).transpose()
}

/// Every record under `prefix`, in key order.
pub async fn read_all<T: Record>(
    store: &dyn CheckpointStore,
    prefix: &str,
) -> Result<Vec<Stored<T>>, CheckpointError> {
    store
        .list(prefix)
        .await?
        .into_iter()
        .map(|(k, v)| stored(&k, v))
        .collect()
}

pub async fn write<T: Record>(
    store: &dyn CheckpointStore,
    key: &str,
    record: &T,
) -> Result<Revision, CheckpointError> {
    store.put(key, encode(key, record)?).await
}

/// Outcome of a typed compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap<T> {
    Swapped(Revision),
    Conflict(Option<Stored<T>>),
}

/// Writes `record` if `key` is at `expected` (`None`: absent).
pub async fn swap<T: Record>(
    store: &dyn CheckpointStore,
    key: &str,
    expected: Option<Revision>,
    record: &T,
) -> Result<Swap<T>, CheckpointError> {
    match store.cas(key, expected, encode(key, record)?).await? {
        CasOutcome::Swapped(rev) => Ok(Swap::Swapped(rev)),
        CasOutcome::Conflict { current } => {
            Ok(Swap::Conflict(current.map(|v| stored(key, v)).transpose()?))
        }
    }
}

/// Reads `key`, lets `change` edit the record, and writes it back with a
/// compare-and-swap, retrying on conflicts. Returns the record as stored
/// afterwards; `Missing` if the key does not exist.
pub async fn update<T, F>(
    store: &dyn CheckpointStore,
    key: &str,
    mut change: F,
) -> Result<Stored<T>, CheckpointError>
where
    T: Record,
    F: FnMut(&mut T) -> Decision + Send,
{
    let mut current: Option<Stored<T>> = read(store, key).await?;
    for _ in 0..UPDATE_ATTEMPTS {
        let Some(mut s) = current.take() else {
            return Err(CheckpointError::Missing {
                key: key.to_string(),
            });
        };
        if change(&mut s.record) == Decision::Keep {
            return Ok(s);
        }
        match swap(store, key, Some(s.revision), &s.record).await? {
            Swap::Swapped(revision) => return Ok(Stored { revision, ..s }),
            Swap::Conflict(now) => {
                tracing::debug!(
                    key,
                    "checkpoint changed concurrently, re-reading before update"
                );
                current = now;
            }
        }
    }
    Err(CheckpointError::Contended {
        key: key.to_string(),
        attempts: UPDATE_ATTEMPTS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::records::*;
    use crate::checkpoint::LocalCheckpointStore;

    fn engine() -> EngineCheckpoint {
        EngineCheckpoint {
            version: RECORD_VERSION,
            job_id: "j".into(),
            table_id: 100,
            engine_id: 0,
            commit_ts: 42,
            chunks: vec![],
            source_bytes: 0,
            attempt: 0,
            state: EngineState::Pending,
        }
    }

    #[tokio::test]
    async fn update_applies_change_with_cas() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalCheckpointStore::open(dir.path()).expect("open");
        let key = "squall/e";
        write(&store, key, &engine()).await.expect("write");
        let s: Stored<EngineCheckpoint> = update(&store, key, |e: &mut EngineCheckpoint| {
            e.attempt += 1;
            Decision::Write
        })
        .await
        .expect("update");
        assert_eq!(s.record.attempt, 1);
        let back: Stored<EngineCheckpoint> = read(&store, key).await.expect("read").expect("some");
        assert_eq!(back, s);
        let missing = update(&store, "squall/none", |_: &mut EngineCheckpoint| {
            Decision::Write
        })
        .await;
        assert!(matches!(missing, Err(CheckpointError::Missing { .. })));
    }

    #[tokio::test]
    async fn newer_format_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalCheckpointStore::open(dir.path()).expect("open");
        let mut e = engine();
        e.version = RECORD_VERSION + 1;
        store
            .put("squall/e", encode("squall/e", &e).expect("encode"))
            .await
            .expect("put");
        let err = read::<EngineCheckpoint>(&store, "squall/e")
            .await
            .expect_err("refused");
        assert!(
            matches!(err, CheckpointError::UnsupportedVersion { .. }),
            "{err}"
        );
    }
}
