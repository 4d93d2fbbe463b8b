//! Local duplicates: copies of one key inside one engine (two source rows
//! with the same primary or unique key in the same engine). TiKV never sees
//! them as duplicates (only the first copy is ingested, at the engine's one
//! commit ts), so the worker records them and resolution takes them from here.
//!
//! The contract with the worker: for every user key that has more than one
//! copy in an engine, *every* copy is recorded, the ingested first copy
//! (smallest row tag) included and flagged, each with its row tag (shared by
//! all KVs of one source row) and, when known, its source file and offset.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use squall_common::schema::TableInfo;
use squall_worker::engine::EngineKv;

use super::error::DuplicateError;
use super::pair::hex_bytes;

/// Where a source row came from (the worker's format, shared).
pub use squall_common::duplicates_file::RowPosition as SourcePos;

/// One copy of a key that occurs more than once inside one engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalDuplicate {
    pub engine_id: u32,
    /// The engine's commit ts (every KV it ingested has it).
    pub commit_ts: u64,
    #[serde(with = "hex_bytes")]
    pub key: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub value: Vec<u8>,
    /// The source row's tag: orders rows within the engine in source order.
    pub row_tag: u64,
    /// This copy is the one that was ingested (the first copy of the key).
    pub ingested: bool,
    pub source: Option<SourcePos>,
}

/// Where resolution gets a table's local duplicates from.
#[async_trait]
pub trait LocalDuplicateSource: Send + Sync {
    async fn load(&self, table: &TableInfo) -> Result<Vec<LocalDuplicate>, DuplicateError>;

    /// Passes every copy [`Self::load`] returns, in the same order, to
    /// `sink`, without holding them all when the source can stream (the
    /// workers' files are read line by line): resolution's spill
    /// (`resolve::stream`) reads the copies this way.
    async fn for_each(
        &self,
        table: &TableInfo,
        sink: &mut CopySink<'_>,
    ) -> Result<(), DuplicateError> {
        for d in self.load(table).await? {
            sink(d)?;
        }
        Ok(())
    }
}

/// Receives local duplicate copies one at a time.
pub type CopySink<'a> = dyn FnMut(LocalDuplicate) -> Result<(), DuplicateError> + Send + 'a;

/// For jobs whose engines recorded no local duplicates.
pub struct NoLocalDuplicates;

#[async_trait]
impl LocalDuplicateSource for NoLocalDuplicates {
    async fn load(&self, _table: &TableInfo) -> Result<Vec<LocalDuplicate>, DuplicateError> {
        Ok(Vec::new())
    }
}

/// Local duplicates held in memory, by table id (embedded mode and tests).
#[derive(Debug, Default, Clone)]
pub struct InMemoryLocalDuplicates(pub HashMap<i64, Vec<LocalDuplicate>>);

#[async_trait]
impl LocalDuplicateSource for InMemoryLocalDuplicates {
    async fn load(&self, table: &TableInfo) -> Result<Vec<LocalDuplicate>, DuplicateError> {
        Ok(self.0.get(&table.id).cloned().unwrap_or_default())
    }
}

/// Collects the duplicate groups of an engine's ordered walk (the `Put` of
/// a key followed by its `Duplicate` copies): every copy of every key that
/// has more than one, the `Put` flagged as ingested. `source` maps a row tag
/// to its source position when the caller knows it.
pub fn collect_from_walk(
    engine_id: u32,
    commit_ts: u64,
    walk: impl IntoIterator<Item = EngineKv>,
    source: impl Fn(u64) -> Option<SourcePos>,
) -> Vec<LocalDuplicate> {
    let mut out = Vec::new();
    let mut last_put: Option<EngineKv> = None;
    let mut put_recorded = false;
    for kv in walk {
        if !kv.is_duplicate() {
            last_put = Some(kv);
            put_recorded = false;
            continue;
        }
        let Some(first) = last_put.as_ref().filter(|p| p.key() == kv.key()) else {
            // A duplicate always follows its Put; a walk that breaks this is
            // not one the engine produces. Keep the copy anyway.
            out.push(copy(engine_id, commit_ts, &kv, false, &source));
            continue;
        };
        if !put_recorded {
            out.push(copy(engine_id, commit_ts, first, true, &source));
            put_recorded = true;
        }
        out.push(copy(engine_id, commit_ts, &kv, false, &source));
    }
    out
}

fn copy(
    engine_id: u32,
    commit_ts: u64,
    kv: &EngineKv,
    ingested: bool,
    source: &impl Fn(u64) -> Option<SourcePos>,
) -> LocalDuplicate {
    LocalDuplicate {
        engine_id,
        commit_ts,
        key: kv.key().to_vec(),
        value: kv.value().to_vec(),
        row_tag: kv.row_tag(),
        ingested,
        source: source(kv.row_tag()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, tag: u64) -> EngineKv {
        EngineKv::Put {
            key: k.as_bytes().to_vec(),
            value: vec![tag as u8],
            row_tag: tag,
        }
    }

    fn dup(k: &str, tag: u64) -> EngineKv {
        EngineKv::Duplicate {
            key: k.as_bytes().to_vec(),
            value: vec![tag as u8],
            row_tag: tag,
        }
    }

    #[test]
    fn keeps_every_copy_of_duplicated_keys_only() {
        let walk = vec![
            put("a", 1),
            put("b", 2),
            dup("b", 5),
            dup("b", 7),
            put("c", 3),
            put("d", 4),
            dup("d", 6),
        ];
        let got = collect_from_walk(3, 99, walk, |tag| {
            Some(SourcePos {
                file: "f.csv".into(),
                offset: tag * 10,
            })
        });
        let summary: Vec<_> = got
            .iter()
            .map(|d| (d.key.clone(), d.row_tag, d.ingested))
            .collect();
        assert_eq!(
            summary,
            vec![
                (b"b".to_vec(), 2, true),
                (b"b".to_vec(), 5, false),
                (b"b".to_vec(), 7, false),
                (b"d".to_vec(), 4, true),
                (b"d".to_vec(), 6, false),
            ]
        );
        assert!(got.iter().all(|d| d.engine_id == 3 && d.commit_ts == 99));
        assert_eq!(
            got[1].source,
            Some(SourcePos {
                file: "f.csv".into(),
                offset: 50
            })
        );
    }
}
