//! A job's status as `GET /jobs/{id}` answers it: the records in the
//! checkpoint store (job, tables, engines, engine ranges, backfill ranges,
//! control, registered workers) plus, while a runner is on it, the runner's
//! phase, progress and throughput.

use std::collections::{BTreeMap, HashMap};

use squall_common::checkpoint::{
    control, keys, typed, CheckpointError, EngineCheckpoint, EngineState, JobCheckpoint, JobState,
    RangeCheckpoint, RangeState, SharedCheckpointStore, TableCheckpoint,
};
use squall_worker::node::{job_config, registration};

use super::api::ApiState;
use super::jobs::{JobEntry, Outcome};
use super::wire::{EngineStatus, JobStatus, ProgressStatus, TableStatus, WorkerStatus};

/// At most this many errors in `last_errors`.
const LAST_ERRORS: usize = 10;

/// The status of every job the store holds, in job id order.
pub async fn all_jobs(state: &ApiState) -> Result<Vec<JobStatus>, CheckpointError> {
    let store = &state.seams.store;
    let prefix = keys::jobs_prefix();
    let listed = store.list(&prefix).await?;
    let ids = listed
        .iter()
        .filter_map(|(k, _)| k.strip_prefix(&prefix)?.strip_suffix("/job"));
    let leader = state.leading.is_leader();
    let mut out = Vec::new();
    for id in ids {
        // The list leaves ended jobs' summaries out: rebuilding them reads
        // every record again, on each poll of the web page.
        if let Some(status) = job_status(store, id, state.jobs.get(id), leader, false).await? {
            out.push(status);
        }
    }
    Ok(out)
}

/// `None` when neither the store nor this coordinator knows the job. On a
/// standby (`leader` false), an unfinished job counts as running: the
/// leader runs it, or the next one will. `ended_summaries`: give a job that
/// ended before this coordinator ran it its summary from the records.
pub async fn job_status(
    store: &SharedCheckpointStore,
    job_id: &str,
    entry: Option<JobEntry>,
    leader: bool,
    ended_summaries: bool,
) -> Result<Option<JobStatus>, CheckpointError> {
    let job = typed::read::<JobCheckpoint>(store.as_ref(), &keys::job(job_id))
        .await?
        .map(|s| s.record);
    if job.is_none() && entry.is_none() {
        return Ok(None);
    }
    let tables: Vec<typed::Stored<TableCheckpoint>> =
        typed::read_all(store.as_ref(), &keys::tables_prefix(job_id)).await?;
    let engines: Vec<typed::Stored<EngineCheckpoint>> =
        typed::read_all(store.as_ref(), &keys::engines_prefix(job_id)).await?;
    let ranges: Vec<typed::Stored<RangeCheckpoint>> =
        typed::read_all(store.as_ref(), &keys::ranges_prefix(job_id)).await?;
    let control = control::read(store.as_ref(), job_id).await?.control;
    let registered = store.list(&registration::key("")).await?;
    let workers = workers(&registered, &tables, &engines, &ranges);
    let job_ref = job.clone();
    let state = job.map(|j| j.state);
    let runs_here = entry.as_ref().is_some_and(|e| e.outcome.is_none());
    let unfinished = matches!(
        state,
        Some(JobState::Planning | JobState::Importing | JobState::PostProcessing)
    );
    let running = runs_here || (!leader && unfinished);
    let mut throughput = None;
    let mut eta_secs = None;
    let (progress, phase) = match &entry {
        Some(e) if runs_here => {
            let v = e.progress.view();
            let p = ProgressStatus {
                total_source_bytes: v.total_source_bytes,
                encoded_bytes: v.encoded_bytes,
                ingested_bytes: v.ingested_bytes,
                total_engines: v.total_engines,
                engines_done: v.engines_done,
            };
            throughput = e.progress.throughput();
            let importing = v.phase == crate::run::Phase::Importing;
            if let (true, false, Some(rate)) = (importing, e.progress.is_paused(), throughput) {
                let left = v.total_source_bytes.saturating_sub(v.encoded_bytes);
                eta_secs = Some((left as f64 / rate).ceil() as u64);
            }
            (p, v.phase.name().to_string())
        }
        // A standby (or a leader that has not resumed the job yet) shows
        // the phase the job's record is in; the leader's own view is finer.
        _ if running => (from_records(&engines), recorded_phase(state.as_ref())),
        _ => (from_records(&engines), stopped_phase(state.as_ref())),
    };
    let (mut summary, mut error) = match entry.and_then(|e| e.outcome) {
        Some(Outcome::Finished(s)) => (Some(s), None),
        Some(Outcome::Failed(reason)) => (None, Some(reason)),
        Some(Outcome::Interrupted | Outcome::Cancelled) | None => (None, None),
    };
    if summary.is_none() && !running && ended_summaries {
        summary = ended_summary(store, job_ref.as_ref()).await;
    }
    if let (None, Some(JobState::Failed { reason })) = (&error, &state) {
        error = Some(reason.clone());
    }
    let last_errors = last_errors(error.as_deref(), &tables, &engines, &ranges);
    Ok(Some(JobStatus {
        job_id: job_id.to_string(),
        running,
        phase,
        verified: state == Some(JobState::Verified) && !running,
        state,
        progress,
        tables: tables.into_iter().map(|t| table_status(t.record)).collect(),
        engines: engines.iter().map(|e| engine_status(&e.record)).collect(),
        summary,
        error,
        control: control.name().to_string(),
        throughput_bytes_per_sec: throughput,
        eta_secs,
        workers,
        last_errors,
        backfill: crate::backfill::job_backfill_status(store.as_ref(), job_id).await?,
        ranges: super::range_status::summarise(ranges.iter().map(|r| &r.record)),
    }))
}

/// The summary of a job that ended before this coordinator ran it (it
/// took over after the end, or restarted): built from the records, so a
/// client following across a failover still gets every table's totals.
async fn ended_summary(
    store: &SharedCheckpointStore,
    job: Option<&JobCheckpoint>,
) -> Option<crate::run::ImportSummary> {
    let job = job.filter(|j| matches!(j.state, JobState::Verified | JobState::Imported))?;
    let output_dir =
        typed::read::<job_config::JobConfigRecord>(store.as_ref(), &job_config::key(&job.job_id))
            .await
            .ok()
            .flatten()
            .map_or_else(
                || ".".into(),
                |c| std::path::PathBuf::from(c.record.output_dir),
            );
    let started = std::time::Instant::now();
    match crate::run::stored_summary(store, job, &output_dir, started).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(job = %job.job_id, error = %e, "cannot rebuild the summary of an ended job");
            None
        }
    }
}

/// The displayed phase of an unfinished job, from its record alone.
fn recorded_phase(state: Option<&JobState>) -> String {
    use crate::run::Phase;
    match state {
        Some(JobState::Planning) => Phase::Planning,
        Some(JobState::Importing) => Phase::Importing,
        Some(JobState::PostProcessing) => Phase::PostProcessing,
        _ => Phase::Connecting,
    }
    .name()
    .to_string()
}

fn stopped_phase(state: Option<&JobState>) -> String {
    match state {
        Some(JobState::Verified | JobState::Imported) => "done",
        Some(JobState::Cancelled { .. }) => "cancelled",
        _ => "stopped",
    }
    .to_string()
}

/// The registered workers (`squall/workers/<id>`), plus any worker that
/// holds an engine or range of the job without being registered; each with
/// what it does for this job, read from the engines and ranges it holds.
fn workers(
    registered: &[(String, squall_common::checkpoint::Versioned)],
    tables: &[typed::Stored<TableCheckpoint>],
    engines: &[typed::Stored<EngineCheckpoint>],
    ranges: &[typed::Stored<RangeCheckpoint>],
) -> Vec<WorkerStatus> {
    let prefix = registration::key("");
    let names: HashMap<i64, String> = tables
        .iter()
        .map(|t| (t.record.table.id, t.record.table.qualified_name()))
        .collect();
    let mut doing: BTreeMap<String, Vec<String>> = registered
        .iter()
        .filter_map(|(k, _)| k.strip_prefix(&prefix))
        .map(|id| (id.to_string(), Vec::new()))
        .collect();
    let alive: std::collections::HashSet<String> = doing.keys().cloned().collect();
    let name = |id: i64| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("table {id}"))
    };
    for e in engines {
        let EngineState::Running {
            worker, encoded, ..
        } = &e.record.state
        else {
            continue;
        };
        let table = name(e.record.table_id);
        let what = if encoded.is_some() {
            "ingesting"
        } else {
            "encoding"
        };
        doing
            .entry(worker.clone())
            .or_default()
            .push(format!("{what} {table} engine {}", e.record.engine_id));
    }
    for r in ranges {
        let RangeState::Running { worker, .. } = &r.record.state else {
            continue;
        };
        let table = name(r.record.table_id);
        doing
            .entry(worker.clone())
            .or_default()
            .push(format!("ingesting {table} range {}", r.record.range_id));
    }
    doing
        .into_iter()
        .map(|(id, d)| WorkerStatus {
            alive: alive.contains(&id),
            doing: (!d.is_empty()).then(|| d.join(", ")),
            id,
        })
        .collect()
}

/// The job's error, then each table's last failed step, then each engine
/// and engine range that failed for good; at most [`LAST_ERRORS`].
fn last_errors(
    job: Option<&str>,
    tables: &[typed::Stored<TableCheckpoint>],
    engines: &[typed::Stored<EngineCheckpoint>],
    ranges: &[typed::Stored<RangeCheckpoint>],
) -> Vec<String> {
    let tables = tables.iter().filter_map(|t| {
        let e = t.record.last_error.as_ref()?;
        Some(format!("table {}: {e}", t.record.table.qualified_name()))
    });
    let engines = engines.iter().filter_map(|e| match &e.record.state {
        EngineState::Failed { reason, attempt } => Some(format!(
            "table {}, engine {} (attempt {attempt}): {reason}",
            e.record.table_id, e.record.engine_id
        )),
        _ => None,
    });
    let ranges = ranges.iter().filter_map(|r| match &r.record.state {
        RangeState::Failed { reason, attempt } => Some(format!(
            "table {}, engine range {} (attempt {attempt}): {reason}",
            r.record.table_id, r.record.range_id
        )),
        _ => None,
    });
    job.map(str::to_string)
        .into_iter()
        .chain(tables)
        .chain(engines)
        .chain(ranges)
        .take(LAST_ERRORS)
        .collect()
}

fn from_records(engines: &[typed::Stored<EngineCheckpoint>]) -> ProgressStatus {
    let mut p = ProgressStatus {
        total_engines: engines.len() as u64,
        ..ProgressStatus::default()
    };
    for e in engines {
        p.total_source_bytes += e.record.source_bytes;
        if let EngineState::Done(r) = &e.record.state {
            p.engines_done += 1;
            p.encoded_bytes += e.record.source_bytes;
            p.ingested_bytes += r.bytes;
        }
    }
    p
}

fn table_status(t: TableCheckpoint) -> TableStatus {
    let local = t.local.as_ref();
    TableStatus {
        table_id: t.table.id,
        name: t.table.qualified_name(),
        state: t.state,
        engines: t.engine_count,
        source_bytes: t.source_bytes,
        rows: local.map(|l| l.rows),
        kvs: local.map(|l| l.checksum.kvs),
        conflicts: local.map(|l| l.conflicts),
        last_error: t.last_error,
    }
}

fn engine_status(e: &EngineCheckpoint) -> EngineStatus {
    let (state, worker, reason) = match &e.state {
        EngineState::Pending => ("pending", None, None),
        EngineState::Running { worker, .. } => ("running", Some(worker.clone()), None),
        EngineState::Done(r) => (
            "done",
            Some(r.worker.clone()).filter(|w| !w.is_empty()),
            None,
        ),
        EngineState::Failed { reason, .. } => ("failed", None, Some(reason.clone())),
    };
    EngineStatus {
        table_id: e.table_id,
        engine_id: e.engine_id,
        state: state.to_string(),
        worker,
        attempt: e.attempt,
        source_bytes: e.source_bytes,
        reason,
    }
}
