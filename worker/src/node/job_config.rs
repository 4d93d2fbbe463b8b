//! The job's settings in the checkpoint store, so that a stateless worker
//! can build the context of any job it is handed from the store alone. The
//! coordinator writes it before it publishes the job's first task.

use serde::{Deserialize, Serialize};
use squall_common::checkpoint::{
    keys, typed, CheckpointError, Record, SharedCheckpointStore, RECORD_VERSION,
};

/// `squall/jobs/<job>/config`: next to the job record, outside the
/// `tables/` and `engines/` prefixes.
pub fn key(job_id: &str) -> String {
    let job = keys::job(job_id);
    let dir = job.strip_suffix("job").unwrap_or(&job);
    format!("{dir}config")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct JobConfigRecord {
    pub version: u32,
    /// The task config as TOML, every default filled in;
    /// `mydumper.data-source-dir` is `source_dir`.
    pub task_toml: String,
    /// The dump, at a path every node sees.
    pub source_dir: String,
    /// The coordinator's reports (`conflicts/`); workers write theirs
    /// (`errors/`) here too unless started with `--output`. What workers hand
    /// the coordinator goes through the artefact store, not this directory.
    pub output_dir: String,
    pub pd_addrs: Vec<String>,
}

impl Record for JobConfigRecord {
    fn format_version(&self) -> u32 {
        self.version
    }
}

impl JobConfigRecord {
    pub fn new(
        task_toml: String,
        source_dir: String,
        output_dir: String,
        pd_addrs: Vec<String>,
    ) -> Self {
        Self {
            version: RECORD_VERSION,
            task_toml,
            source_dir,
            output_dir,
            pd_addrs,
        }
    }
}

/// Writes (or replaces) the job's config.
pub async fn write(
    store: &SharedCheckpointStore,
    job_id: &str,
    record: &JobConfigRecord,
) -> Result<(), CheckpointError> {
    let key = key(job_id);
    store.put(&key, typed::encode(&key, record)?).await?;
    Ok(())
}

/// The job's config; `None` when the job has none (not a cluster job).
pub async fn read(
    store: &SharedCheckpointStore,
    job_id: &str,
) -> Result<Option<JobConfigRecord>, CheckpointError> {
    Ok(typed::read(store.as_ref(), &key(job_id))
        .await?
        .map(|s| s.record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_key_sits_beside_the_job_record() {
        let k = key("j1");
        assert_eq!(k, "squall/jobs/j1/config");
        assert!(!k.starts_with(&keys::engines_prefix("j1")));
        assert!(!k.starts_with(&keys::tables_prefix("j1")));
    }
}
