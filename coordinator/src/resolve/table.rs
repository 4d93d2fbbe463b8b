//! One table from checkpointed detection results to a resolution plan:
//! gather the rows, group them by the unique keys they share (decoding each
//! once), then decide their fates batch by batch ([`super::batch`]),
//! counting the writes and the checksum adjustment. The writes and the
//! report lines are computed again batch by batch when they are applied and
//! written, so a plan holds no decoded row, KV or report line. Pure with
//! respect to TiKV except for the KvBatchGet at the table's fixed read ts,
//! so running it again after a restart gives the same plan.

use crate::duplicate::context::{DuplicateContext, TableJob};
use crate::duplicate::error::DuplicateError;
use crate::duplicate::local::LocalDuplicate;
use crate::duplicate::pair::DupPair;
use crate::duplicate::segment;
use crate::duplicate::target::{targets_for, TargetKind};

use super::batch::Pager;
use super::checksum::{local_index, ChecksumAdjustment};
use super::decide::Fate;
use super::fetch::Fetcher;
use super::group::{group_candidates, Grouping};
use super::order::SourceOrder;
use super::rows::{Candidates, TableInputs};

/// A table's resolution plan.
#[derive(Debug, Clone)]
pub struct TablePlan {
    /// The conflicting rows (identity and record value), their groups and
    /// batches.
    pub grouping: Grouping,
    /// One per row of `grouping.rows`.
    pub fates: Vec<Fate>,
    pub order: SourceOrder,
    pub put_kvs: u64,
    pub deleted_kvs: u64,
    pub adjustment: ChecksumAdjustment,
    pub remote_versions: u64,
    pub local_copies: u64,
}

impl TablePlan {
    pub fn conflict_rows(&self) -> u64 {
        self.grouping.rows.len() as u64
    }

    pub fn conflict_keys(&self) -> u64 {
        self.grouping.groups.len() as u64
    }
}

/// Builds the plan of `job`'s table from its stored detection segments and
/// local duplicates, reading rows at `read_ts`.
pub async fn plan_table(
    ctx: &DuplicateContext,
    job: &TableJob,
    read_ts: u64,
) -> Result<TablePlan, DuplicateError> {
    let (record_pairs, index_pairs) = load_pairs(ctx, job).await?;
    let local = ctx.local.load(&job.table).await?;
    plan_inputs(ctx, job, read_ts, &record_pairs, &index_pairs, &local).await
}

/// [`plan_table`] from inputs already loaded: the table's whole detection
/// results and local copies, or one shard of them (`resolve::stream`) — a
/// shard holds whole connected sets, so its plan is the table plan's part.
/// `record_pairs` and each index's pairs are sorted and deduplicated as
/// [`load_pairs`] leaves them.
pub(crate) async fn plan_inputs(
    ctx: &DuplicateContext,
    job: &TableJob,
    read_ts: u64,
    record_pairs: &[DupPair],
    index_pairs: &[(i64, DupPair)],
    local: &[LocalDuplicate],
) -> Result<TablePlan, DuplicateError> {
    let table = &job.table;
    let inputs = TableInputs {
        table,
        min_commit_ts: ctx.min_commit_ts,
        record_pairs,
        index_pairs,
        local,
        converter: &ctx.converter,
    };
    let cands = gather(ctx, job, &inputs, read_ts).await?;
    let grouping = group_candidates(&inputs, cands, ctx.resolve_batch_rows)?;
    let order = SourceOrder::new(&job.engines);
    let copies = local_index(local);
    let decided =
        Pager::new(table, &ctx.converter, &grouping)?.decide_all(ctx.strategy, &order, &copies)?;
    let remote_versions = (record_pairs.len() + index_pairs.len()) as u64;
    Ok(TablePlan {
        grouping,
        fates: decided.fates,
        order,
        put_kvs: decided.put_kvs,
        deleted_kvs: decided.deleted_kvs,
        adjustment: decided.adjustment,
        remote_versions,
        local_copies: local.len() as u64,
    })
}

/// Every candidate row with its value: from the detection results, local
/// copies, KvBatchGet at `read_ts`, and positions found in the source.
pub(crate) async fn gather(
    ctx: &DuplicateContext,
    job: &TableJob,
    inputs: &TableInputs<'_>,
    read_ts: u64,
) -> Result<Candidates, DuplicateError> {
    let table = &job.table;
    let mut cands = Candidates::collect(inputs)?;
    let fetcher = Fetcher {
        client: &ctx.import,
        retry: &ctx.retry,
        cancel: &ctx.cancel,
        concurrency: ctx.concurrency,
    };
    let entries = fetcher
        .fetch(cands.to_fetch_index.keys().cloned(), read_ts)
        .await?;
    cands.supply_index(inputs, &entries)?;
    let fetched = fetcher
        .fetch(cands.to_fetch.keys().cloned(), read_ts)
        .await?;
    cands.supply(table, &fetched)?;
    if let Some(source) = &ctx.source_rows {
        source
            .locate_unpositioned(table, &job.engines, &mut cands)
            .await?;
    }
    Ok(cands)
}

/// Every version stored for the table, record range first, deduplicated.
pub(crate) async fn load_pairs(
    ctx: &DuplicateContext,
    job: &TableJob,
) -> Result<(Vec<DupPair>, Vec<(i64, DupPair)>), DuplicateError> {
    let mut record = Vec::new();
    let mut index = Vec::new();
    for target in targets_for(&job.table) {
        let mut pages =
            segment::Pages::new(&*ctx.checkpoints, &ctx.job_id, job.table.id, target.kind);
        let mut pairs: Vec<DupPair> = Vec::new();
        while let Some(page) = pages.next().await? {
            for mut p in page.into_iter().flat_map(|s| s.pairs) {
                p.commit_ts = job.pair_ts(p.commit_ts);
                pairs.push(p);
            }
        }
        sort_pairs(&mut pairs);
        match target.kind {
            TargetKind::Record => record = pairs,
            TargetKind::Index(id) => index.extend(pairs.into_iter().map(|p| (id, p))),
        }
    }
    Ok((record, index))
}

/// Pairs of one range in key order, newest first, one per (key, ts): the
/// first in stored order is kept.
pub(crate) fn sort_pairs(pairs: &mut Vec<DupPair>) {
    pairs.sort_by(|a, b| a.key.cmp(&b.key).then(b.commit_ts.cmp(&a.commit_ts)));
    pairs.dedup_by(|a, b| a.key == b.key && a.commit_ts == b.commit_ts);
}
