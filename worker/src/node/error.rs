//! Why a worker node could not start or could not serve a job.

use squall_client::ClientError;
use squall_common::artefacts::ArtefactError;
use squall_common::checkpoint::CheckpointError;
use squall_common::config::ConfigError;
use squall_source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("job {job_id} has no config in the checkpoint store (key {key}); was it submitted through `squall coordinator`?")]
    NoJobConfig { job_id: String, key: String },
    #[error("job {job_id}: the stored task config is invalid: {source}")]
    Config {
        job_id: String,
        #[source]
        source: ConfigError,
    },
    #[error("job {job_id}: source {dir}: {source}")]
    Source {
        job_id: String,
        dir: String,
        #[source]
        source: SourceError,
    },
    #[error("job {job_id}: PD at {pd}: {source}")]
    Pd {
        job_id: String,
        pd: String,
        #[source]
        source: ClientError,
    },
    #[error("checkpoint store: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("job {job_id}: artefact store: {source}")]
    Artefacts {
        job_id: String,
        #[source]
        source: ArtefactError,
    },
    #[error("registering worker {id} in etcd at {endpoints}: {reason}. Check that etcd is running there and that --etcd is right")]
    Register {
        id: String,
        endpoints: String,
        reason: String,
    },
}
