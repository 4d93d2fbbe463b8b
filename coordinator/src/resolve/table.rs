//! One table from checkpointed detection results to a resolution plan:
//! gather the rows, decode them, decide their fates, and compute the writes,
//! the checksum adjustment and the report lines. Pure with respect to TiKV
//! except for the KvBatchGet at the table's fixed read ts, so running it
//! again after a restart gives the same plan.

use crate::conflict_report::lines::{report_lines, ReportLine};
use crate::duplicate::context::{DuplicateContext, TableJob};
use crate::duplicate::error::DuplicateError;
use crate::duplicate::pair::DupPair;
use crate::duplicate::segment;
use crate::duplicate::target::{targets_for, TargetKind};

use super::analyze::{analyze, Analysis};
use super::checksum::{adjustment, ChecksumAdjustment};
use super::decide::{decide, Fate};
use super::fetch::Fetcher;
use super::order::SourceOrder;
use super::rows::{Candidates, TableInputs};
use super::writeset::{write_set, WriteSet};

/// A table's resolution plan.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub analysis: Analysis,
    pub fates: Vec<Fate>,
    pub writes: WriteSet,
    pub adjustment: ChecksumAdjustment,
    pub lines: Vec<ReportLine>,
    pub remote_versions: u64,
    pub local_copies: u64,
}

/// Builds the plan of `job`'s table from its stored detection segments and
/// local duplicates, reading rows at `read_ts`.
pub async fn plan_table(
    ctx: &DuplicateContext,
    job: &TableJob,
    read_ts: u64,
) -> Result<TablePlan, DuplicateError> {
    let table = &job.table;
    let (record_pairs, index_pairs) = load_pairs(ctx, job).await?;
    let local = ctx.local.load(table).await?;
    let inputs = TableInputs {
        table,
        min_commit_ts: ctx.min_commit_ts,
        record_pairs: &record_pairs,
        index_pairs: &index_pairs,
        local: &local,
        converter: &ctx.converter,
    };
    let mut cands = Candidates::collect(&inputs)?;
    let fetcher = Fetcher {
        client: &ctx.import,
        retry: &ctx.retry,
        cancel: &ctx.cancel,
        concurrency: ctx.concurrency,
    };
    let entries = fetcher
        .fetch(cands.to_fetch_index.keys().cloned(), read_ts)
        .await?;
    cands.supply_index(&inputs, &entries)?;
    let fetched = fetcher
        .fetch(cands.to_fetch.keys().cloned(), read_ts)
        .await?;
    cands.supply(table, &fetched)?;
    if let Some(source) = &ctx.source_rows {
        source
            .locate_unpositioned(table, &job.engines, &mut cands)
            .await?;
    }
    let analysis = analyze(&inputs, cands)?;
    let order = SourceOrder::new(&job.engines);
    let fates = decide(&analysis, ctx.strategy, &order);
    let writes = if ctx.strategy.writes() {
        write_set(&analysis, &fates)
    } else {
        WriteSet::new()
    };
    let adjustment = adjustment(&analysis, &fates, &writes, &local);
    let lines = report_lines(table, &job.engines, &analysis, &fates, &order);
    let remote_versions = (record_pairs.len() + index_pairs.len()) as u64;
    Ok(TablePlan {
        analysis,
        fates,
        writes,
        adjustment,
        lines,
        remote_versions,
        local_copies: local.len() as u64,
    })
}

/// Every version stored for the table, record range first, deduplicated.
async fn load_pairs(
    ctx: &DuplicateContext,
    job: &TableJob,
) -> Result<(Vec<DupPair>, Vec<(i64, DupPair)>), DuplicateError> {
    let mut record = Vec::new();
    let mut index = Vec::new();
    for target in targets_for(&job.table) {
        let segments =
            segment::load(&*ctx.checkpoints, &ctx.job_id, job.table.id, target.kind).await?;
        let mut pairs: Vec<DupPair> = segments.into_iter().flat_map(|s| s.pairs).collect();
        pairs.sort_by(|a, b| a.key.cmp(&b.key).then(b.commit_ts.cmp(&a.commit_ts)));
        pairs.dedup_by(|a, b| a.key == b.key && a.commit_ts == b.commit_ts);
        match target.kind {
            TargetKind::Record => record = pairs,
            TargetKind::Index(id) => index.extend(pairs.into_iter().map(|p| (id, p))),
        }
    }
    Ok((record, index))
}
