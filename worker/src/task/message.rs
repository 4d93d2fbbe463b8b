//! The task message: which engine to run. Everything else the worker needs
//! is in the checkpoint store (the engine's chunks, commit ts and attempt,
//! the table's schema), so a redelivered or duplicated message is harmless.

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
#[error("task message {id:?} is not an engine task: {source}")]
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
        let payload =
            serde_json::to_vec(self).expect("a struct of strings and integers serializes");
        TaskMessage {
            id: self.message_id(),
            payload,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
