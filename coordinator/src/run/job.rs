//! The job record: created on the first run, found again by every rerun
//! (same source, same cluster), checked against the current config.

use std::time::Duration;

use squall_client::PdClient;
use squall_common::checkpoint::{
    control, keys, typed, ControlAction, Decision, EngineCheckpoint, EngineState, JobCheckpoint,
    JobState, SharedCheckpointStore, Stored, Swap, RECORD_VERSION,
};

use squall_common::TaskConfig;
use squall_source::storage::redacted;
use squall_source::{discover, SourceStore};

use crate::error::CoordinatorError;
use squall_worker::task::claim::now_unix_ms;

/// What identifies a job and what it must agree with.
pub struct JobIdentity<'a> {
    pub job_id: &'a str,
    pub source_dir: &'a str,
    pub pd_addrs: &'a [String],
    pub config_hash: &'a str,
    /// `job_id::source_fingerprint` of the source as it is now.
    pub source_fingerprint: &'a str,
    /// For messages: where the checkpoints are.
    pub checkpoint_dir: &'a str,
}

/// Lists and routes the source as planning will, and fingerprints it.
/// A source that routes no table at all is an error: an empty or wrongly
/// mounted directory must not end as "imported and verified" with nothing.
pub async fn source_fingerprint(cfg: &TaskConfig) -> Result<String, CoordinatorError> {
    let mydumper = cfg.mydumper.clone();
    let catalog = tokio::task::spawn_blocking(move || {
        let store = SourceStore::open(&mydumper.data_source_dir)?;
        discover(&store, &mydumper)
    })
    .await
    .map_err(|e| CoordinatorError::Blocking(e.to_string()))??;
    if catalog.tables.is_empty() {
        return Err(CoordinatorError::NoTables {
            path: redacted(&cfg.mydumper.data_source_dir),
            skipped: catalog.skipped.len(),
        });
    }
    Ok(crate::job_id::source_fingerprint(&catalog))
}

/// Reads the job record, or creates it (state `Planning`, a fresh start ts).
pub async fn open_job(
    store: &SharedCheckpointStore,
    id: &JobIdentity<'_>,
    pd: &PdClient,
) -> Result<Stored<JobCheckpoint>, CoordinatorError> {
    let key = keys::job(id.job_id);
    if let Some(existing) = typed::read::<JobCheckpoint>(store.as_ref(), &key).await? {
        if existing.record.config_hash != id.config_hash {
            return Err(CoordinatorError::ConfigChanged {
                job_id: id.job_id.to_string(),
                dir: id.checkpoint_dir.to_string(),
                stored: existing.record.config_hash,
                now: id.config_hash.to_string(),
            });
        }
        let stored = &existing.record.source_fingerprint;
        if !stored.is_empty() && stored != id.source_fingerprint {
            return Err(CoordinatorError::SourceChanged {
                job_id: id.job_id.to_string(),
                path: id.source_dir.to_string(),
                dir: id.checkpoint_dir.to_string(),
            });
        }
        tracing::info!(job = id.job_id, state = ?existing.record.state, "resuming job from its checkpoint");
        return Ok(existing);
    }
    let job = JobCheckpoint {
        version: RECORD_VERSION,
        job_id: id.job_id.to_string(),
        source_dir: id.source_dir.to_string(),
        pd_addrs: id.pd_addrs.to_vec(),
        config_hash: id.config_hash.to_string(),
        source_fingerprint: id.source_fingerprint.to_string(),
        state: JobState::Planning,
        start_ts: pd.tso().await?,
        created_unix_ms: now_unix_ms(),
        summary: None,
    };
    match typed::swap(store.as_ref(), &key, None, &job).await? {
        Swap::Swapped(revision) => Ok(Stored {
            key,
            record: job,
            revision,
        }),
        Swap::Conflict(Some(other)) => Ok(other),
        Swap::Conflict(None) => Err(CoordinatorError::MissingCheckpoint { key }),
    }
}

pub async fn set_state(
    store: &SharedCheckpointStore,
    job_id: &str,
    state: JobState,
) -> Result<JobCheckpoint, CoordinatorError> {
    let stored = typed::update(
        store.as_ref(),
        &keys::job(job_id),
        |j: &mut JobCheckpoint| {
            if j.state == state {
                return Decision::Keep;
            }
            j.state = state.clone();
            Decision::Write
        },
    )
    .await?;
    Ok(stored.record)
}

/// Moves a new job's start ts to where its GC safepoint could be held
/// (see `GcSafepointKeeper::start`); only before any engine has a ts.
pub async fn set_start_ts(
    store: &SharedCheckpointStore,
    job_id: &str,
    start_ts: u64,
) -> Result<(), CoordinatorError> {
    typed::update(
        store.as_ref(),
        &keys::job(job_id),
        |j: &mut JobCheckpoint| {
            if j.start_ts == start_ts {
                return Decision::Keep;
            }
            j.start_ts = start_ts;
            Decision::Write
        },
    )
    .await?;
    tracing::info!(job = job_id, start_ts, "new job's start ts moved above GC");
    Ok(())
}

/// Makes every failed engine runnable again: back to `Pending`, keeping its
/// attempt count and commit ts. Called on every rerun, whatever state the job
/// was left in (a process killed between an engine's failure and the job's
/// leaves a failed engine in a job that is not failed). Bad input fails
/// again, quickly; a cluster that was unavailable gets another chance.
/// Tables need nothing: a failed step never moved their state.
pub async fn reopen_failed(
    store: &SharedCheckpointStore,
    job_id: &str,
) -> Result<(), CoordinatorError> {
    let engines: Vec<Stored<EngineCheckpoint>> =
        typed::read_all(store.as_ref(), &keys::engines_prefix(job_id)).await?;
    let mut reopened = 0;
    for e in engines
        .iter()
        .filter(|e| matches!(e.record.state, EngineState::Failed { .. }))
    {
        typed::update(store.as_ref(), &e.key, |r: &mut EngineCheckpoint| {
            if !matches!(r.state, EngineState::Failed { .. }) {
                return Decision::Keep;
            }
            r.state = EngineState::Pending;
            Decision::Write
        })
        .await?;
        reopened += 1;
    }
    if reopened > 0 {
        tracing::info!(
            job = job_id,
            engines = reopened,
            "retrying engines that failed before"
        );
    }
    super::ranges::reopen_failed_ranges(store, job_id).await
}

/// A run someone asked for (a submission, `squall import`): a paused or
/// cancelled job goes on ([`ControlAction::Restart`]; a running one is left
/// as it is, nothing written).
pub async fn lift_control(
    store: &SharedCheckpointStore,
    job_id: &str,
) -> Result<(), CoordinatorError> {
    let before = control::read(store.as_ref(), job_id).await?;
    if !before.control.holds() {
        return Ok(());
    }
    match control::change(
        store.as_ref(),
        job_id,
        ControlAction::Restart,
        now_unix_ms(),
    )
    .await?
    {
        Ok(now) => {
            tracing::info!(job = job_id, was = %before.control, generation = now.generation, "job submitted again: it goes on from its checkpoints")
        }
        // Restart applies from every control; kept for exhaustiveness.
        Err(refused) => tracing::warn!(job = job_id, %refused, "job control not changed"),
    }
    Ok(())
}

/// How long a cancelled job waits for the workers to let go of its engines
/// (they look at the control twice a second), so the job ends with no
/// engine shown running. A dead worker's engine stays `Running` until its
/// task comes back from the queue and is withdrawn.
const LET_GO_WAIT: Duration = Duration::from_secs(10);

/// Waits (at most [`LET_GO_WAIT`]) until no engine of the job is `Running`.
pub async fn wait_let_go(store: &SharedCheckpointStore, job_id: &str) {
    let deadline = tokio::time::Instant::now() + LET_GO_WAIT;
    loop {
        let engines: Result<Vec<Stored<EngineCheckpoint>>, _> =
            typed::read_all(store.as_ref(), &keys::engines_prefix(job_id)).await;
        let running = match engines {
            Ok(all) => all
                .iter()
                .filter(|e| matches!(e.record.state, EngineState::Running { .. }))
                .count(),
            Err(e) => {
                tracing::warn!(job = job_id, error = %e, "cannot read the engine records");
                return;
            }
        };
        if running == 0 {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                job = job_id,
                engines = running,
                "cancelled, but engines are still held by workers that do not answer; their tasks are withdrawn when the queue hands them out again"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
