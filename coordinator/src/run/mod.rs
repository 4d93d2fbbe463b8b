//! The runner: one job from plan to verified checksums. The same
//! coordinator logic runs with its workers in this process (embedded mode,
//! `squall import`: [`LocalCheckpointStore`], in-process queue and worker
//! loops) or in other processes of a cluster (`squall coordinator`: a shared
//! store and queue, see [`Workers`]).
//!
//! 1. Find or create the job record; plan (or read the stored plan). In a
//!    cluster, store the job's config for the workers first.
//! 2. Hold TiKV in import mode; publish every unfinished engine; wait on
//!    the engine records until all are done.
//! 3. Post-process each table (duplicate step, checksum against TiKV).
//! 4. Switch TiKV back to normal mode (also on failure or interruption).
//!
//! Stopping (`shutdown`) or killing the process at any point leaves a
//! checkpoint from which a rerun continues: finished engines are kept, the
//! others are redone at their stored commit ts with their stored row IDs.
//!
//! The operator's pause, resume and cancel (`checkpoint::control`) are
//! obeyed through one [`control::Gate`], passed before each step: paused,
//! nothing new starts and TiKV is in normal mode; cancelled, the runner
//! stops as if interrupted and ends the job `Cancelled`.

mod control;
mod duplicates;
mod engines;
mod finish;
mod job;
mod observe;
mod progress;
mod ranges;
mod summary;
mod workers;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use squall_client::{ClientOptions, ImportClient, PdClient};
use squall_common::checkpoint::{
    keys, typed, EngineCheckpoint, EngineState, JobState, JobSummaryRecord, LocalCheckpointStore,
    SharedCheckpointStore, Stored,
};
use squall_common::TaskConfig;
use squall_source::storage::{is_remote, redacted};
use squall_worker::node::{job_config, JobConfigRecord};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use duplicates::{DuplicateContext, DuplicateOutcome, DuplicateStep};
pub use progress::{ImportProgress, Phase, ProgressView};
pub use summary::{ImportSummary, TableSummary};
pub use workers::{ClusterSeams, Workers};
// The one poll wait on records (engines, engine ranges, backfill ranges).
pub(crate) use engines::wait_a_poll;

use crate::duplicate::GlobalDuplicates;
use crate::error::CoordinatorError;
use crate::job_id::{config_hash, job_id};
use crate::plan::{build_plan_with_ids, load_plan, persist_plan, StoredPlan};
pub(crate) use control::Gate;
use engines::{MessageIds, Publisher};
use finish::{post_process, PostContext};
use observe::{EngineObserver, RangeObserver};
use workers::EmbeddedWorkers;

/// What to import, where to, and how.
pub struct ImportOptions {
    /// The task config (validated by the caller).
    pub cfg: TaskConfig,
    pub source_dir: PathBuf,
    pub pd_addrs: Vec<String>,
    /// Reports (`errors/`, `duplicates/`) and, by default, the checkpoints.
    pub output_dir: PathBuf,
    pub client: ClientOptions,
    /// The post-ingest duplicate step; `None`: global detection and
    /// resolution ([`GlobalDuplicates`]) with the job's checkpoint store.
    pub duplicates: Option<Arc<dyn DuplicateStep>>,
    /// Embedded (default) or a cluster's store and queue.
    pub workers: Workers,
    /// Someone asked for this run (`squall import`, a submission): a
    /// paused or cancelled job goes on. `false` when a coordinator resumes
    /// the jobs it finds in the store: a cancelled job stays cancelled, a
    /// paused one paused.
    pub restart: bool,
}

impl ImportOptions {
    pub fn new(
        cfg: TaskConfig,
        source_dir: PathBuf,
        pd_addrs: Vec<String>,
        output_dir: PathBuf,
    ) -> Self {
        let client = ClientOptions::from_task(&cfg);
        Self {
            cfg,
            source_dir,
            pd_addrs,
            output_dir,
            client,
            duplicates: None,
            workers: Workers::Embedded,
            restart: true,
        }
    }

    /// The job's id: what it imports and where to.
    pub fn job_id(&self) -> Result<String, CoordinatorError> {
        let source = redacted(&canonical(&self.source_dir)?);
        Ok(job_id(&source, &self.pd_addrs))
    }

    /// Where the checkpoints are, for messages.
    fn checkpoint_location(&self) -> String {
        match &self.workers {
            Workers::Embedded => self.checkpoint_dir().display().to_string(),
            Workers::Cluster(_) => "the cluster's checkpoint store".to_string(),
        }
    }

    /// `checkpoint.dsn`, else `<output>/checkpoint`.
    pub fn checkpoint_dir(&self) -> PathBuf {
        match self.cfg.checkpoint.dsn.as_str() {
            "" => self.output_dir.join("checkpoint"),
            dsn => PathBuf::from(dsn),
        }
    }
}

/// Runs (or resumes) the import. `Ok` when it ended: `verified` in the
/// summary only when every table's checksum matched TiKV's (not with the
/// checksum off, nor with an `optional` mismatch); any other end is an
/// error naming the cause.
pub async fn run_import(
    mut opts: ImportOptions,
    progress: Arc<ImportProgress>,
    shutdown: CancellationToken,
) -> Result<ImportSummary, CoordinatorError> {
    let started = Instant::now();
    let source_dir = canonical(&opts.source_dir)?;
    opts.cfg.mydumper.data_source_dir = source_dir.clone();
    std::fs::create_dir_all(&opts.output_dir)
        .map_err(|e| CoordinatorError::io("create", &opts.output_dir, e))?;
    let store = open_store(&opts)?;
    let pd = tokio::select! {
        pd = PdClient::connect(&opts.pd_addrs, opts.client.clone()) => pd?,
        _ = shutdown.cancelled() => return Err(CoordinatorError::Interrupted),
    };
    let client = ImportClient::new(pd.clone());
    // The job is named by the source without credentials: a changed key
    // still resumes, and no secret reaches the checkpoint or a log.
    let source_name = redacted(&source_dir);
    let id = job_id(&source_name, &opts.pd_addrs);
    progress.watch_records(&store, &id);
    let hash = config_hash(&opts.cfg);
    let fingerprint = tokio::select! {
        f = job::source_fingerprint(&opts.cfg) => f?,
        _ = shutdown.cancelled() => return Err(CoordinatorError::Interrupted),
    };
    let checkpoint_dir = opts.checkpoint_location();
    let identity = job::JobIdentity {
        job_id: &id,
        source_dir: &source_name,
        pd_addrs: &opts.pd_addrs,
        config_hash: &hash,
        source_fingerprint: &fingerprint,
        checkpoint_dir: &checkpoint_dir,
    };
    // Before the job record exists: a failed precheck leaves no checkpoint.
    // With tidb.host the plan takes TiDB's table ids, read just before
    // planning: "target tables empty" waits for them (below).
    let defer_empty = !opts.cfg.tidb.host.trim().is_empty();
    tokio::select! {
        checked = crate::precheck::before_job(
            &opts.cfg,
            &opts.pd_addrs,
            &opts.client,
            &store,
            &id,
            matches!(opts.workers, Workers::Embedded),
            defer_empty,
        ) => checked?,
        _ = shutdown.cancelled() => return Err(CoordinatorError::Interrupted),
    }
    // The SQL steps' server (tidb.host), reached before the job record is
    // made: an unreachable one leaves no checkpoint behind.
    let mut tidb = tokio::select! {
        t = crate::tidb::TidbTarget::connect(&opts.cfg) => t?,
        _ = shutdown.cancelled() => return Err(CoordinatorError::Interrupted),
    };
    let mut sql_notes = Vec::new();
    if tidb.is_none() {
        sql_notes.push(crate::tidb::NO_HOST_NOTE.to_string());
    }
    let job = job::open_job(&store, &identity, &pd).await?.record;
    if matches!(job.state, JobState::Verified | JobState::Imported) {
        return stored_summary(&store, &job, &opts.output_dir, started).await;
    }
    if opts.restart {
        job::lift_control(&store, &id).await?;
    } else if let JobState::Cancelled { engines_done, rows } = job.state {
        let engines = load_plan(&store, &id).await?.engines.len() as u64;
        return Err(CoordinatorError::Cancelled {
            job_id: id,
            engines_done,
            engines,
            rows,
        });
    }
    // Keeps the job's versions from TiKV's GC until `finish` below (or drop).
    // A job with no engine record has used no ts but its start ts: if GC
    // passed that before the registration, it may move to a fresh one.
    let new_job = matches!(job.state, JobState::Planning)
        && typed::read_all::<EngineCheckpoint>(store.as_ref(), &keys::engines_prefix(&id))
            .await?
            .is_empty();
    let gc_safepoint = crate::gc_safepoint::GcSafepointKeeper::start(
        &pd,
        &id,
        job.start_ts,
        Duration::from_secs(opts.cfg.squall.gc_safepoint_ttl_secs),
        new_job,
    )
    .await?;
    if let Some(held) = gc_safepoint.as_ref().map(|k| k.safe_point()) {
        if held != job.start_ts {
            job::set_start_ts(&store, &id, held).await?;
        }
    }
    job::reopen_failed(&store, &id).await?;
    if let Workers::Cluster(_) = &opts.workers {
        store_job_config(&store, &id, &opts).await?;
    }
    if matches!(job.state, JobState::Planning) {
        progress.set_phase(Phase::Planning);
        // Missing tables are created (and on TiDB their IDs read) first:
        // the plan encodes with the IDs the target really has.
        let table_ids = match &mut tidb {
            Some(t) => {
                let prepared = t.prepare(&opts.cfg).await?;
                sql_notes.extend(prepared.notes);
                prepared.table_ids
            }
            None => None,
        };
        if defer_empty && opts.cfg.lightning.check_requirements {
            // Still Planning: no KV written, so any row found is not ours.
            tokio::select! {
                checked = crate::precheck::check_empty_with_ids(&opts.cfg, &pd, table_ids.as_ref()) => checked?,
                _ = shutdown.cancelled() => return Err(CoordinatorError::Interrupted),
            }
        }
        let cfg = opts.cfg.clone();
        let plan =
            tokio::task::spawn_blocking(move || build_plan_with_ids(&cfg, table_ids.as_ref()))
                .await
                .map_err(|e| CoordinatorError::Blocking(e.to_string()))??;
        tracing::info!(
            tables = plan.tables.len(),
            engines = plan.engine_count(),
            source_bytes = plan.source_bytes(),
            "job planned"
        );
        persist_plan(&store, &id, &plan, &pd).await?;
        if opts.cfg.squall.engine_ranges {
            let (cfg, created) = (opts.cfg.clone(), job.created_unix_ms);
            let ranges = tokio::task::spawn_blocking(move || {
                crate::plan::ranges::plan_all_ranges(&cfg, &plan, created)
            })
            .await
            .map_err(|e| CoordinatorError::Blocking(e.to_string()))??;
            crate::plan::ranges::persist_ranges(&store, &id, &ranges, &pd).await?;
        }
    }
    let job = job::set_state(&store, &id, JobState::Importing).await?;
    let plan = load_plan(&store, &id).await?;
    report_totals(&progress, &plan);

    // PD's balance schedulers and merging stay paused until `finish` below
    // (or drop): at the end, on failure and on cancel.
    let schedulers =
        crate::pd_schedulers::SchedulerPause::start(&pd, &id, crate::pd_schedulers::DEFAULT_LEASE)
            .await?;
    // TiKV is in import mode while the gate lets the job go on.
    let gate = Gate::open(&store, &id, &client, &progress, &shutdown).await?;
    let mut result = import_and_verify(&opts, &store, &client, &job, &plan, &progress, &gate).await;
    if let (Some(t), Ok(())) = (&mut tidb, &result.2) {
        // After the data is in and checked: allocators past the imported
        // rows, then ANALYZE. A failure fails the job; a rerun redoes it.
        match after_data(t, &opts.cfg, &store, &id).await {
            Ok(notes) => sql_notes.extend(notes),
            Err(e) => result.2 = Err(e),
        }
    }
    if let Some(t) = tidb {
        t.close().await;
    }
    let cancelled = gate.is_cancelled();
    if cancelled {
        job::wait_let_go(&store, &id).await;
    }
    gate.close().await;
    if let Err(e) = schedulers.finish().await {
        tracing::warn!(error = %e, "could not resume PD's schedulers; PD resumes them when the pause's delay ends");
    }
    if let Some(Err(e)) = finish_gc_safepoint(gc_safepoint).await {
        tracing::warn!(error = %e, "could not remove the job's service GC safepoint; PD drops it when its TTL ends");
    }
    let (tables, engines_elapsed, outcome) = result;
    let verified = outcome.is_ok() && summary::all_matched(&tables);
    let summary = ImportSummary {
        job_id: id.clone(),
        tables,
        engines: plan.engines.len() as u64,
        source_bytes: plan.source_bytes(),
        elapsed: started.elapsed(),
        engines_elapsed,
        verified,
        already_done: false,
        output_dir: opts.output_dir.clone(),
        sql_steps: sql_notes,
    };
    match outcome {
        Ok(()) => {
            // Not verified: the checksum was off, or `optional` and wrong.
            let state = match verified {
                true => JobState::Verified,
                false => JobState::Imported,
            };
            finish_job(&store, &id, state, &summary).await?;
            progress.set_phase(Phase::Done);
            Ok(summary)
        }
        Err(CoordinatorError::Interrupted) if cancelled => {
            end_cancelled(&store, &id, &summary).await
        }
        Err(CoordinatorError::Interrupted) => Err(CoordinatorError::Interrupted),
        Err(e) => {
            finish_job(
                &store,
                &id,
                JobState::Failed {
                    reason: e.to_string(),
                },
                &summary,
            )
            .await?;
            tracing::error!("{summary}");
            Err(e)
        }
    }
}

/// The SQL steps after the data: every table's record (with the imported
/// maxima) read back from the store.
async fn after_data(
    tidb: &mut crate::tidb::TidbTarget,
    cfg: &TaskConfig,
    store: &SharedCheckpointStore,
    job_id: &str,
) -> Result<Vec<String>, CoordinatorError> {
    let tables: Vec<Stored<squall_common::checkpoint::TableCheckpoint>> =
        typed::read_all(store.as_ref(), &keys::tables_prefix(job_id)).await?;
    let tables: Vec<_> = tables.into_iter().map(|t| t.record).collect();
    Ok(tidb.after_data(cfg, &tables).await?)
}

/// Steps 2 and 3; always returns what it has of the table summaries, and
/// how long the engines took.
async fn import_and_verify(
    opts: &ImportOptions,
    store: &SharedCheckpointStore,
    client: &ImportClient,
    job: &squall_common::checkpoint::JobCheckpoint,
    plan: &StoredPlan,
    progress: &Arc<ImportProgress>,
    gate: &Gate,
) -> (Vec<TableSummary>, Duration, Result<(), CoordinatorError>) {
    progress.set_phase(Phase::Importing);
    let started = Instant::now();
    if let Err(e) = run_engines(opts, store, client, job, plan, progress, gate).await {
        return (Vec::new(), started.elapsed(), Err(e));
    }
    let engines = started.elapsed();
    if let Err(e) = gate.pass().await {
        return (Vec::new(), engines, Err(e));
    }
    progress.set_phase(Phase::PostProcessing);
    if let Err(e) = job::set_state(store, &job.job_id, JobState::PostProcessing).await {
        return (Vec::new(), engines, Err(e));
    }
    let global;
    let duplicates: &dyn DuplicateStep = match &opts.duplicates {
        Some(step) => step.as_ref(),
        None => {
            let artefacts = match opts.workers.artefacts(&job.job_id, &opts.output_dir) {
                Ok(a) => a,
                Err(e) => return (Vec::new(), engines, Err(e)),
            };
            global = GlobalDuplicates::new(Arc::clone(store), artefacts, &opts.cfg, &gate.stop);
            &global
        }
    };
    let cx = PostContext {
        store,
        client,
        cfg: &opts.cfg,
        job,
        duplicates,
        output_dir: &opts.output_dir,
        gate,
        queue: match &opts.workers {
            Workers::Cluster(seams) => Some(&seams.queue),
            Workers::Embedded => None,
        },
    };
    let (tables, error) = post_process(&cx).await;
    (tables, engines, error.map_or(Ok(()), Err))
}

async fn run_engines(
    opts: &ImportOptions,
    store: &SharedCheckpointStore,
    client: &ImportClient,
    job: &squall_common::checkpoint::JobCheckpoint,
    plan: &StoredPlan,
    progress: &Arc<ImportProgress>,
    gate: &Gate,
) -> Result<(), CoordinatorError> {
    let job_id = &job.job_id;
    // Nothing is handed out while the job is paused; what was withdrawn
    // while it was held is in the engine records read now.
    let control = gate.pass().await?;
    let engines = current_engines(store, job_id).await?;
    let with_ranges = opts.cfg.squall.engine_ranges;
    if with_ranges {
        crate::plan::ranges::pre_split_ranges(store, job_id, client, &opts.cfg).await?;
        if opts.cfg.tikv_importer.disk_quota.0 > 0 {
            tracing::warn!("tikv-importer.disk-quota is ignored with squall.engine-ranges: encode tasks never ingest, so there is nothing to import early");
        }
    }
    match &opts.workers {
        Workers::Embedded => {
            let mut workers =
                EmbeddedWorkers::start(opts, store, client, job, plan, progress, &gate.stop)?;
            let mut publisher =
                Publisher::new(&workers.queue, MessageIds::PerEngine, control.generation);
            let published = publisher.publish_unfinished(&engines).await?;
            tracing::info!(
                engines = published,
                workers = workers.loops.len(),
                "engines handed to workers"
            );
            let waited = if with_ranges {
                // Ranges go out table by table while other tables still
                // encode; the ranges' wait watches the worker loops.
                let w = ranges::RangeWait {
                    store,
                    job_id,
                    queue: &workers.queue,
                    ids: MessageIds::PerEngine,
                    gate,
                };
                let mut none = JoinSet::new();
                tokio::try_join!(
                    engines::wait_for_engines(store, job_id, &mut none, None, gate, &mut publisher),
                    ranges::run_ranges(&w, &mut workers.loops, None),
                )
                .map(|_| ())
            } else {
                engines::wait_for_engines(
                    store,
                    job_id,
                    &mut workers.loops,
                    None,
                    gate,
                    &mut publisher,
                )
                .await
            };
            workers.stop().await;
            waited
        }
        Workers::Cluster(seams) => {
            let mut publisher =
                Publisher::new(&seams.queue, MessageIds::PerAttempt, control.generation);
            let published = publisher.publish_unfinished(&engines).await?;
            tracing::info!(job = %job_id, engines = published, "engines published to the cluster's workers");
            let mut observer = EngineObserver::new(progress.workers(), &plan.engines);
            let mut none = JoinSet::new();
            let engines_done = engines::wait_for_engines(
                store,
                job_id,
                &mut none,
                Some(&mut observer),
                gate,
                &mut publisher,
            );
            if !with_ranges {
                return engines_done.await;
            }
            let w = ranges::RangeWait {
                store,
                job_id,
                queue: &seams.queue,
                ids: MessageIds::PerAttempt,
                gate,
            };
            let mut range_observer = RangeObserver::new(progress.workers());
            let mut no_loops = JoinSet::new();
            tokio::try_join!(
                engines_done,
                ranges::run_ranges(&w, &mut no_loops, Some(&mut range_observer)),
            )
            .map(|_| ())
        }
    }
}

async fn current_engines(
    store: &SharedCheckpointStore,
    job_id: &str,
) -> Result<Vec<Stored<EngineCheckpoint>>, CoordinatorError> {
    Ok(typed::read_all(store.as_ref(), &keys::engines_prefix(job_id)).await?)
}

/// The job's settings, for the workers of a cluster to build their context
/// from (they share nothing else with this process).
async fn store_job_config(
    store: &SharedCheckpointStore,
    job_id: &str,
    opts: &ImportOptions,
) -> Result<(), CoordinatorError> {
    // Workers run no SQL step: the password stays out of the shared store
    // (a coordinator resuming the job reads SQUALL_TIDB_PASSWORD instead).
    let mut cfg = opts.cfg.clone();
    cfg.tidb.password = Default::default();
    let toml = toml::to_string(&cfg).map_err(|e| CoordinatorError::Invalid {
        what: "task config",
        reason: format!("cannot be written as TOML: {e}"),
    })?;
    let record = JobConfigRecord::new(
        toml,
        opts.cfg.mydumper.data_source_dir.clone(),
        opts.output_dir.display().to_string(),
        opts.pd_addrs.clone(),
    );
    job_config::write(store, job_id, &record).await?;
    Ok(())
}

fn report_totals(progress: &ImportProgress, plan: &StoredPlan) {
    let done: Vec<_> = plan
        .engines
        .iter()
        .filter(|e| matches!(e.record.state, EngineState::Done(_)))
        .collect();
    let done_bytes = done.iter().map(|e| e.record.source_bytes).sum();
    progress.set_totals(
        plan.source_bytes(),
        plan.engines.len() as u64,
        done_bytes,
        done.len() as u64,
    );
}

/// The source as every node opens it: a local directory made canonical, or
/// a URL (`s3://…`) exactly as given (it is no path, and its query holds
/// settings).
fn canonical(dir: &Path) -> Result<String, CoordinatorError> {
    if let Some(url) = dir.to_str().filter(|d| is_remote(d)) {
        return Ok(url.to_string());
    }
    let path = dir
        .canonicalize()
        .map_err(|e| CoordinatorError::io("open source directory", dir, e))?;
    if !path.is_dir() {
        return Err(CoordinatorError::Invalid {
            what: "source",
            reason: format!("{} is not a directory", path.display()),
        });
    }
    Ok(path.display().to_string())
}

fn open_store(opts: &ImportOptions) -> Result<SharedCheckpointStore, CoordinatorError> {
    if let Workers::Cluster(seams) = &opts.workers {
        return Ok(Arc::clone(&seams.store));
    }
    if opts.cfg.checkpoint.driver != "file" {
        return Err(CoordinatorError::Invalid {
            what: "checkpoint.driver",
            reason: format!(
                "{:?} needs the distributed mode; `squall import` uses `file`",
                opts.cfg.checkpoint.driver
            ),
        });
    }
    let dir = opts.checkpoint_dir();
    if !opts.cfg.checkpoint.enable && dir.exists() {
        // No resume wanted: start from an empty checkpoint every time.
        std::fs::remove_dir_all(&dir).map_err(|e| CoordinatorError::io("remove", &dir, e))?;
    }
    Ok(Arc::new(LocalCheckpointStore::open(&dir)?))
}

/// Removes the job's service GC safepoint, if one was registered.
async fn finish_gc_safepoint(
    keeper: Option<crate::gc_safepoint::GcSafepointKeeper>,
) -> Option<Result<(), squall_client::ClientError>> {
    Some(keeper?.finish().await)
}

/// Ends a cancelled job: `Cancelled` with what its engines wrote, which
/// is also the error the runner returns.
async fn end_cancelled(
    store: &SharedCheckpointStore,
    job_id: &str,
    summary: &ImportSummary,
) -> Result<ImportSummary, CoordinatorError> {
    let engines = current_engines(store, job_id).await?;
    let done: Vec<_> = engines
        .iter()
        .filter_map(|e| match &e.record.state {
            EngineState::Done(r) => Some(r),
            _ => None,
        })
        .collect();
    let (engines_done, rows) = (done.len() as u64, done.iter().map(|r| r.rows).sum());
    let state = JobState::Cancelled { engines_done, rows };
    finish_job(store, job_id, state, summary).await?;
    let e = CoordinatorError::Cancelled {
        job_id: job_id.to_string(),
        engines_done,
        engines: engines.len() as u64,
        rows,
    };
    tracing::info!(job = job_id, "{e}");
    Err(e)
}

async fn finish_job(
    store: &SharedCheckpointStore,
    job_id: &str,
    state: JobState,
    s: &ImportSummary,
) -> Result<(), CoordinatorError> {
    let record = JobSummaryRecord {
        tables: s.tables.len() as u64,
        engines: s.engines,
        rows: s.rows(),
        kvs: s.kvs(),
        kv_bytes: s.kv_bytes(),
        source_bytes: s.source_bytes,
        local_duplicates: s.duplicates(),
        remote_duplicates: 0,
        skipped_rows: s.skipped_rows(),
        warnings: s.warnings(),
        elapsed_ms: s.elapsed.as_millis() as u64,
    };
    squall_common::checkpoint::typed::update(
        store.as_ref(),
        &squall_common::checkpoint::keys::job(job_id),
        |j: &mut squall_common::checkpoint::JobCheckpoint| {
            j.state = state.clone();
            j.summary = Some(record.clone());
            squall_common::checkpoint::Decision::Write
        },
    )
    .await?;
    Ok(())
}

/// The summary of a job that ended in an earlier run (or on another
/// coordinator), from its records.
pub(crate) async fn stored_summary(
    store: &SharedCheckpointStore,
    job: &squall_common::checkpoint::JobCheckpoint,
    output_dir: &Path,
    started: Instant,
) -> Result<ImportSummary, CoordinatorError> {
    let plan = load_plan(store, &job.job_id).await?;
    let tables: Vec<TableSummary> = plan
        .tables
        .iter()
        .map(|t| {
            let totals = t.record.local.clone().unwrap_or_default();
            TableSummary {
                name: t.record.table.qualified_name(),
                rows: totals.rows,
                kvs: totals.checksum.kvs,
                kv_bytes: totals.checksum.bytes,
                local_duplicates: totals.local_duplicates,
                skipped_rows: totals.skipped_rows,
                warnings: totals.warnings,
                conflicts: totals.conflicts,
                duplicate_ms: totals.duplicate_ms,
                checksum_ms: 0,
                local: totals.checksum,
                remote: t.record.remote,
            }
        })
        .collect();
    let verified = job.state == JobState::Verified && summary::all_matched(&tables);
    tracing::info!(job = %job.job_id, verified, "job was already imported; nothing to do");
    Ok(ImportSummary {
        job_id: job.job_id.clone(),
        tables,
        engines: plan.engines.len() as u64,
        source_bytes: plan.source_bytes(),
        // The run that did the work, when it recorded its time.
        elapsed: job.summary.as_ref().map_or_else(
            || started.elapsed(),
            |s| Duration::from_millis(s.elapsed_ms),
        ),
        engines_elapsed: Duration::ZERO,
        verified,
        already_done: true,
        output_dir: output_dir.to_path_buf(),
        sql_steps: Vec::new(),
    })
}
