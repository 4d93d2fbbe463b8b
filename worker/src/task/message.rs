//! The task messages: which engine to encode (and, without engine ranges,
//! ingest), which engine range to ingest, or which index backfill range to
//! build. Everything else the worker needs is in the checkpoint store (the
//! engine's chunks, commit ts and attempt, the table's schema; a backfill
//! plan's snapshot and bounds, the range's commit ts), so a redelivered or
//! duplicated message is harmless. A message says its kind (`"kind":
//! "engine"`, `"ingest-range"` or `"backfill-range"`); one without a kind,
//! as every build before engine ranges wrote, is an engine task.

use serde::{Deserialize, Serialize};
use squall_common::checkpoint::keys;
use squall_common::queue::TaskMessage;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EngineTask {
    pub job_id: String,
    pub table_id: i64,
    pub engine_id: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("task message {id:?} is not a task Squall knows: {source}")]
pub struct BadTaskMessage {
    pub id: String,
    #[source]
    pub source: serde_json::Error,
}

impl EngineTask {
    /// The queue's de-duplication id: one pending message per engine.
    pub fn message_id(&self) -> String {
        format!(
            "engine.{}.{}.{}",
            self.job_id, self.table_id, self.engine_id
        )
    }

    pub fn to_message(&self) -> TaskMessage {
        tagged_message(self, KIND_ENGINE, self.message_id())
    }

    pub fn from_message(id: &str, payload: &[u8]) -> Result<Self, BadTaskMessage> {
        serde_json::from_slice(payload).map_err(|source| BadTaskMessage {
            id: id.to_string(),
            source,
        })
    }

    /// Where the engine's checkpoint lives.
    pub fn checkpoint_key(&self) -> String {
        keys::engine(&self.job_id, self.table_id, self.engine_id)
    }

    pub fn table_key(&self) -> String {
        keys::table(&self.job_id, self.table_id)
    }

    /// The local engine's directory name (engine ids allow `[A-Za-z0-9._-]`).
    pub fn engine_dir_name(&self) -> String {
        let job: String = self
            .job_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{job}-t{}-e{}", self.table_id, self.engine_id)
    }
}

impl std::fmt::Display for EngineTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "engine {} of table {} (job {})",
            self.engine_id, self.table_id, self.job_id
        )
    }
}

const KIND_ENGINE: &str = "engine";
const KIND_RANGE: &str = "ingest-range";
const KIND_BACKFILL: &str = "backfill-range";

/// One engine range to ingest (`squall.engine-ranges`): merge the runs the
/// table's `Done` engines wrote for it, ingest, record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct IngestRangeTask {
    pub job_id: String,
    pub table_id: i64,
    pub range_id: u32,
}

impl IngestRangeTask {
    /// The queue's de-duplication id: one pending message per range.
    pub fn message_id(&self) -> String {
        format!("range.{}.{}.{}", self.job_id, self.table_id, self.range_id)
    }

    pub fn to_message(&self) -> TaskMessage {
        tagged_message(self, KIND_RANGE, self.message_id())
    }

    pub fn checkpoint_key(&self) -> String {
        keys::range(&self.job_id, self.table_id, self.range_id)
    }

    /// The local engine's directory name for the merged range.
    pub fn engine_dir_name(&self) -> String {
        let engine = EngineTask {
            job_id: self.job_id.clone(),
            table_id: self.table_id,
            engine_id: 0,
        };
        let name = engine.engine_dir_name();
        let base = name.strip_suffix("-e0").unwrap_or(&name);
        format!("{base}-r{}", self.range_id)
    }
}

impl std::fmt::Display for IngestRangeTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "range {} of table {} (job {})",
            self.range_id, self.table_id, self.job_id
        )
    }
}

/// One range of an index backfill (`squall.index-mode = "after-data"` in a
/// cluster): build the entries of `indexes` for the rows of the plan's
/// range `range`, ingest them, record the result in the range record
/// (`squall/jobs/<job>/backfill/<table>/i<indexes>/r<range>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BackfillRangeTask {
    pub job_id: String,
    pub table_id: i64,
    /// The index set built (IDs, ascending): it names the backfill's records.
    pub indexes: Vec<i64>,
    /// The range's number in the backfill's plan.
    pub range: u32,
}

impl BackfillRangeTask {
    /// The queue's de-duplication id: one pending message per range of one
    /// backfill (job, table, index set).
    pub fn message_id(&self) -> String {
        let ids: Vec<String> = self.indexes.iter().map(ToString::to_string).collect();
        format!(
            "backfill.{}.{}.i{}.{}",
            self.job_id,
            self.table_id,
            ids.join("-"),
            self.range
        )
    }

    pub fn to_message(&self) -> TaskMessage {
        tagged_message(self, KIND_BACKFILL, self.message_id())
    }
}

impl std::fmt::Display for BackfillRangeTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "index backfill range {} of table {} (indexes {:?}, job {})",
            self.range, self.table_id, self.indexes, self.job_id
        )
    }
}

/// A task of any kind, as the queue delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    Engine(EngineTask),
    IngestRange(IngestRangeTask),
    BackfillRange(BackfillRangeTask),
}

impl Task {
    pub fn from_message(id: &str, payload: &[u8]) -> Result<Self, BadTaskMessage> {
        let bad = |source| BadTaskMessage {
            id: id.to_string(),
            source,
        };
        let value: serde_json::Value = serde_json::from_slice(payload).map_err(bad)?;
        match value.get("kind").and_then(|k| k.as_str()) {
            Some(KIND_RANGE) => serde_json::from_value(value)
                .map(Task::IngestRange)
                .map_err(bad),
            Some(KIND_BACKFILL) => serde_json::from_value(value)
                .map(Task::BackfillRange)
                .map_err(bad),
            _ => serde_json::from_value(value).map(Task::Engine).map_err(bad),
        }
    }

    pub fn job_id(&self) -> &str {
        match self {
            Task::Engine(t) => &t.job_id,
            Task::IngestRange(t) => &t.job_id,
            Task::BackfillRange(t) => &t.job_id,
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Task::Engine(t) => t.fmt(f),
            Task::IngestRange(t) => t.fmt(f),
            Task::BackfillRange(t) => t.fmt(f),
        }
    }
}

/// A task as its JSON fields plus `"kind"`, under the queue id `id`.
fn tagged_message(task: &impl Serialize, kind: &str, id: String) -> TaskMessage {
    let mut value =
        serde_json::to_value(task).expect("a struct of strings and integers serializes");
    value["kind"] = serde_json::Value::from(kind);
    let payload = serde_json::to_vec(&value).expect("a JSON value serializes");
    TaskMessage { id, payload }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kinds_round_trip_and_old_engine_messages_decode() {
        let r = IngestRangeTask {
            job_id: "j-1".into(),
            table_id: 101,
            range_id: 4,
        };
        let m = r.to_message();
        assert_eq!(m.id, "range.j-1.101.4");
        assert_eq!(
            Task::from_message(&m.id, &m.payload).expect("decodes"),
            Task::IngestRange(r.clone())
        );
        assert_eq!(r.engine_dir_name(), "j-1-t101-r4");
        let old = br#"{"job-id":"j","table-id":1,"engine-id":2}"#;
        let Task::Engine(e) = Task::from_message("x", old).expect("old message") else {
            panic!("an old message is an engine task");
        };
        assert_eq!(e.engine_id, 2);
        let e2 = e.to_message();
        assert!(String::from_utf8_lossy(&e2.payload).contains(r#""kind":"engine""#));
        assert_eq!(
            Task::from_message(&e2.id, &e2.payload).expect("decodes"),
            Task::Engine(e)
        );
        assert!(Task::from_message("x", br#"{"kind":"ingest-range"}"#).is_err());
    }

    #[test]
    fn backfill_ranges_round_trip_with_one_id_per_range() {
        let b = BackfillRangeTask {
            job_id: "j-1".into(),
            table_id: 101,
            indexes: vec![1, 3],
            range: 7,
        };
        let m = b.to_message();
        assert_eq!(m.id, "backfill.j-1.101.i1-3.7");
        assert!(String::from_utf8_lossy(&m.payload).contains(r#""kind":"backfill-range""#));
        assert_eq!(
            Task::from_message(&m.id, &m.payload).expect("decodes"),
            Task::BackfillRange(b.clone())
        );
        assert_eq!(Task::BackfillRange(b).job_id(), "j-1");
        assert!(Task::from_message("x", br#"{"kind":"backfill-range","job-id":"j"}"#).is_err());
    }

    #[test]
    fn round_trips_through_a_message() {
        let t = EngineTask {
            job_id: "j-1".into(),
            table_id: 101,
            engine_id: 3,
        };
        let m = t.to_message();
        assert_eq!(m.id, "engine.j-1.101.3");
        assert_eq!(
            EngineTask::from_message(&m.id, &m.payload).expect("decodes"),
            t
        );
        assert!(EngineTask::from_message("x", b"{}").is_err());
        assert_eq!(t.engine_dir_name(), "j-1-t101-e3");
    }
}
