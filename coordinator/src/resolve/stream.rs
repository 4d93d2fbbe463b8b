//! One table's resolution within `conflict.resolve-memory`.
//!
//! A first pass over the table's inputs (the checkpointed detection
//! versions, then the local duplicate copies, streamed) counts what a plan
//! of them would hold ([`Input::cost`] × [`EXPANSION`]) and learns how rows
//! are linked ([`Router`]). Within the budget, the inputs it kept make the
//! whole-table plan of [`super::table`], as before. Over it, a second pass
//! writes every input to one of `n` shard files (whole connected sets per
//! shard, `n` = cost / budget), and each shard is planned alone with the same
//! code, one at a time: its report groups and its writes go to spill files,
//! its counts and checksum adjustment are summed, and its plan is dropped.
//! The report is then the shards' groups merged in key order, byte for byte
//! the whole-table report; the writes are read back in chunks when applied.
//!
//! Why the sum of the shards is the table's answer: a row's fate depends
//! only on its connected set, sets write disjoint keys, and the report lists
//! groups in key order, each group's rows in row order (the order of rows
//! by identity, which a shard keeps). So everything but the paging is the
//! same; tests compare a tiny budget against a whole-table plan.
//!
//! What pass one holds: the inputs it keeps while they fit, the links of
//! the router ([`Router::bytes`], counted in the budget with them: ~175
//! bytes per row linked through a unique index conflict, none for a table
//! whose only unique key is the primary key) and one page of detection
//! segments ([`segment::Pages`]). Pass two keeps only each linked handle's
//! root ([`Routes`], ~36 bytes per linked row), dropped before the shards
//! are planned. Duplicates files are read line by line (from a remote store
//! they are downloaded under the spill directory first).
//!
//! Not bounded by the budget: links that alone exceed it (logged; they are
//! held until routed), a single connected set bigger than the budget
//! (planned whole), more than [`MAX_SHARDS`] × the budget (shards grow past
//! it). The embedded checkpoint store keeps every record in memory, the
//! detection segments included. Rows that no engine recorded a position
//! for are located in the source once per shard that has some (time, not
//! memory).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;

use crate::conflict_report::files::{encode, ReportWriter};
use crate::conflict_report::lines::ReportLine;
use crate::duplicate::context::{DuplicateContext, TableJob};
use crate::duplicate::error::DuplicateError;
use crate::duplicate::local::LocalDuplicate;
use crate::duplicate::pair::DupPair;
use crate::duplicate::segment;
use crate::duplicate::target::{targets_for, TargetKind};

use super::batch::Pager;
use super::checksum::ChecksumAdjustment;
use super::decide::Fate;
use super::shard::{Input, Router, Routes, EXPANSION};
use super::spill::{Reader, SpillDir, Writer};
use super::table::{plan_inputs, plan_table, sort_pairs, TablePlan};

/// Most shards a table is cut into (open files while spilling).
const MAX_SHARDS: u64 = 1024;
/// Bytes of keys and values handed to the writer at a time when applying a
/// spilled write set.
const WRITE_CHUNK_BYTES: usize = 4 << 20;

/// A table's resolution: what the summary reports, the report files, and
/// the writes still to apply.
pub struct TableResolution {
    pub conflict_rows: u64,
    pub conflict_keys: u64,
    pub kept_rows: u64,
    pub removed_rows: u64,
    pub put_kvs: u64,
    pub deleted_kvs: u64,
    pub adjustment: ChecksumAdjustment,
    pub remote_versions: u64,
    pub local_copies: u64,
    pub batches: usize,
    /// 1 when the plan fit `conflict.resolve-memory`.
    pub shards: usize,
    pub report_jsonl: PathBuf,
    pub report_csv: PathBuf,
    writes: Writes,
}

enum Writes {
    /// The whole-table plan: writes are derived again batch by batch.
    Plan(Box<TablePlan>),
    /// The shards' writes, spilled (`None`: nothing to write).
    Spilled {
        file: Option<PathBuf>,
        _dir: Option<SpillDir>,
    },
}

impl TableResolution {
    fn add_plan(&mut self, plan: &TablePlan) {
        let count = |fate: Fate| plan.fates.iter().filter(|f| **f == fate).count() as u64;
        self.conflict_rows += plan.conflict_rows();
        self.conflict_keys += plan.conflict_keys();
        self.kept_rows += count(Fate::Kept);
        self.removed_rows += count(Fate::Removed);
        self.put_kvs += plan.put_kvs;
        self.deleted_kvs += plan.deleted_kvs;
        self.adjustment.merge(&plan.adjustment);
        self.remote_versions += plan.remote_versions;
        self.local_copies += plan.local_copies;
        self.batches += plan.grouping.batches.len();
    }

    /// Writes the mutations at `ts`. Batches and chunks write disjoint keys
    /// at the one ts, so a restart that writes them again (in any cut) leaves
    /// the same versions.
    pub async fn write(
        &self,
        ctx: &DuplicateContext,
        job: &TableJob,
        ts: u64,
    ) -> Result<(), DuplicateError> {
        let name = job.table.qualified_name();
        match &self.writes {
            Writes::Plan(plan) => {
                let mut pager = Pager::new(&job.table, &ctx.converter, &plan.grouping)?;
                for b in 0..plan.grouping.batches.len() {
                    ctx.cancel.check()?;
                    let writes = pager.writes(b, &plan.fates)?;
                    ctx.writer.write(&name, ts, &writes).await?;
                }
            }
            Writes::Spilled { file: None, .. } => {}
            Writes::Spilled {
                file: Some(file), ..
            } => {
                let mut reader = Reader::open(file)?;
                loop {
                    ctx.cancel.check()?;
                    let chunk = reader.writes(WRITE_CHUNK_BYTES)?;
                    if chunk.is_empty() {
                        break;
                    }
                    ctx.writer.write(&name, ts, &chunk).await?;
                }
            }
        }
        Ok(())
    }
}

/// Pass one over a table's inputs: what a plan of them would cost, the
/// links between its rows, and the inputs themselves while they and the
/// links fit the budget.
pub struct FirstPass {
    /// Sum of [`Input::cost`] (before [`EXPANSION`]).
    pub cost: u64,
    pub router: Router,
    held: Option<Held>,
}

impl FirstPass {
    /// Whether the inputs were kept: a whole-table plan fits the budget.
    pub fn fits(&self) -> bool {
        self.held.is_some()
    }
}

/// Streams the table's inputs once within `budget` (see [`FirstPass`]).
pub async fn first_pass(
    ctx: &DuplicateContext,
    job: &TableJob,
    budget: u64,
) -> Result<FirstPass, DuplicateError> {
    let table = &job.table;
    let mut cost = 0u64;
    let mut router = Router::default();
    let mut held = Some(Held::new(table));
    each_input(ctx, job, &mut |input| {
        cost += input.cost();
        router.see(table, &input);
        // The links learnt so far are held beside the inputs kept.
        if cost
            .saturating_mul(EXPANSION)
            .saturating_add(router.bytes())
            > budget
        {
            held = None;
        } else if let Some(h) = held.as_mut() {
            h.push(input);
        }
        Ok(())
    })
    .await?;
    Ok(FirstPass { cost, router, held })
}

/// Plans `job`'s table at `read_ts` within `ctx.resolve_memory` and writes
/// its report; the writes are applied later with [`TableResolution::write`].
pub async fn resolve_table(
    ctx: &DuplicateContext,
    job: &TableJob,
    read_ts: u64,
) -> Result<TableResolution, DuplicateError> {
    let table = &job.table;
    let budget = ctx.resolve_memory.max(1);
    let FirstPass { cost, router, held } = first_pass(ctx, job, budget).await?;
    let shards = cost
        .saturating_mul(EXPANSION)
        .div_ceil(budget)
        .clamp(1, MAX_SHARDS) as usize;
    if router.bytes() > budget {
        tracing::warn!(table = %table.qualified_name(), links = router.bytes(), budget,
            "the rows linked by unique index conflicts need more than conflict.resolve-memory to route (held until they are routed)");
    }
    if let Some(held) = held {
        drop(router);
        let (record, index, local) = held.finish();
        let plan = plan_inputs(ctx, job, read_ts, &record, &index, &local).await?;
        return whole(ctx, job, plan);
    }
    if let Some(why) = router.why_not_shardable() {
        tracing::warn!(table = %table.qualified_name(), estimate = cost.saturating_mul(EXPANSION), budget, reason = %why,
            "conflict resolution cannot be split into shards; planning the table whole (over conflict.resolve-memory)");
        drop(router);
        let plan = plan_table(ctx, job, read_ts).await?;
        return whole(ctx, job, plan);
    }
    tracing::info!(table = %table.qualified_name(), estimate = cost.saturating_mul(EXPANSION), budget, shards,
        "conflict resolution over conflict.resolve-memory: resolving in shards spilled to disk");
    sharded(ctx, job, read_ts, router.into_routes(), shards).await
}

/// Every input of the table: the versions of each detection range (record
/// range first, read a page of segments at a time), then the local copies.
async fn each_input(
    ctx: &DuplicateContext,
    job: &TableJob,
    f: &mut (dyn FnMut(Input) -> Result<(), DuplicateError> + Send),
) -> Result<(), DuplicateError> {
    for target in targets_for(&job.table) {
        let mut pages =
            segment::Pages::new(&*ctx.checkpoints, &ctx.job_id, job.table.id, target.kind);
        while let Some(page) = pages.next().await? {
            for mut p in page.into_iter().flat_map(|s| s.pairs) {
                p.commit_ts = job.pair_ts(p.commit_ts);
                f(match target.kind {
                    TargetKind::Record => Input::Record(p),
                    TargetKind::Index(id) => Input::Index(id, p),
                })?;
            }
        }
    }
    ctx.local
        .for_each(&job.table, &mut |d| f(Input::Local(d)))
        .await
}

/// Inputs gathered as [`super::table::load_pairs`] and the local source
/// give them: record versions, each index range's versions in range order,
/// the local copies.
struct Held {
    record: Vec<DupPair>,
    /// Per detection range of a unique index, in `targets_for` order.
    index: Vec<(i64, Vec<DupPair>)>,
    local: Vec<LocalDuplicate>,
}

impl Held {
    fn new(table: &squall_common::schema::TableInfo) -> Self {
        let index = targets_for(table)
            .into_iter()
            .filter_map(|t| match t.kind {
                TargetKind::Index(id) => Some((id, Vec::new())),
                TargetKind::Record => None,
            })
            .collect();
        Self {
            record: Vec::new(),
            index,
            local: Vec::new(),
        }
    }

    fn push(&mut self, input: Input) {
        match input {
            Input::Record(p) => self.record.push(p),
            Input::Index(id, p) => match self.index.iter_mut().find(|(i, _)| *i == id) {
                Some((_, list)) => list.push(p),
                None => self.index.push((id, vec![p])),
            },
            Input::Local(d) => self.local.push(d),
        }
    }

    #[allow(clippy::type_complexity)]
    fn finish(mut self) -> (Vec<DupPair>, Vec<(i64, DupPair)>, Vec<LocalDuplicate>) {
        sort_pairs(&mut self.record);
        let mut index = Vec::new();
        for (id, mut pairs) in self.index {
            sort_pairs(&mut pairs);
            index.extend(pairs.into_iter().map(|p| (id, p)));
        }
        (self.record, index, self.local)
    }
}

fn empty(report: (PathBuf, PathBuf), shards: usize, writes: Writes) -> TableResolution {
    TableResolution {
        conflict_rows: 0,
        conflict_keys: 0,
        kept_rows: 0,
        removed_rows: 0,
        put_kvs: 0,
        deleted_kvs: 0,
        adjustment: ChecksumAdjustment::default(),
        remote_versions: 0,
        local_copies: 0,
        batches: 0,
        shards,
        report_jsonl: report.0,
        report_csv: report.1,
        writes,
    }
}

fn nothing() -> Writes {
    Writes::Spilled {
        file: None,
        _dir: None,
    }
}

/// The whole-table plan: its report written a page at a time.
fn whole(
    ctx: &DuplicateContext,
    job: &TableJob,
    plan: TablePlan,
) -> Result<TableResolution, DuplicateError> {
    let mut report = ReportWriter::create(&ctx.output_dir, &job.table)?;
    Pager::new(&job.table, &ctx.converter, &plan.grouping)?.report(
        &job.engines,
        &plan.fates,
        &plan.order,
        ctx.resolve_batch_rows,
        |lines| report.append(lines),
    )?;
    let files = report.finish()?;
    let mut out = empty(files, 1, nothing());
    out.add_plan(&plan);
    out.writes = Writes::Plan(Box::new(plan));
    Ok(out)
}

/// Shards spilled to disk, planned one at a time.
async fn sharded(
    ctx: &DuplicateContext,
    job: &TableJob,
    read_ts: u64,
    routes: Routes,
    shards: usize,
) -> Result<TableResolution, DuplicateError> {
    let table = &job.table;
    let dir = SpillDir::create(ctx.spill_dir.join(format!("t{}", table.id)))?;
    let mut files: Vec<Option<Writer>> = (0..shards).map(|_| None).collect();
    each_input(ctx, job, &mut |input| {
        let s = routes.shard_of(table, &input, shards);
        let w = match &mut files[s] {
            Some(w) => w,
            slot => slot.insert(Writer::create(dir.file(&format!("in-{s:04}")))?),
        };
        w.input(&input)
    })
    .await?;
    // Routed: the links are not held while the shards are planned.
    drop(routes);
    let mut inputs = Vec::new();
    for w in files.into_iter().flatten() {
        inputs.push(w.finish()?);
    }
    let mut writes = Writer::create(dir.file("writes"))?;
    let mut reports = Vec::new();
    let mut out = empty((PathBuf::new(), PathBuf::new()), shards, nothing());
    for (n, path) in inputs.iter().enumerate() {
        ctx.cancel.check()?;
        let mut held = Held::new(table);
        for input in Reader::open(path)?.inputs()? {
            held.push(input);
        }
        let _ = std::fs::remove_file(path);
        let (record, index, local) = held.finish();
        let plan = plan_inputs(ctx, job, read_ts, &record, &index, &local).await?;
        drop((record, index, local));
        out.add_plan(&plan);
        let mut pager = Pager::new(table, &ctx.converter, &plan.grouping)?;
        let report = dir.file(&format!("report-{n:04}"));
        let mut groups = Writer::create(report.clone())?;
        pager.report(
            &job.engines,
            &plan.fates,
            &plan.order,
            ctx.resolve_batch_rows,
            |lines| spill_groups(&mut groups, lines),
        )?;
        reports.push(groups.finish()?);
        if plan.put_kvs + plan.deleted_kvs > 0 {
            for b in 0..plan.grouping.batches.len() {
                for (key, m) in pager.writes(b, &plan.fates)? {
                    writes.mutation(&key, &m)?;
                }
            }
        }
    }
    let writes = writes.finish()?;
    let (jsonl, csv) = merge_reports(ctx, job, &reports)?;
    out.report_jsonl = jsonl;
    out.report_csv = csv;
    let file = (out.put_kvs + out.deleted_kvs > 0).then_some(writes);
    out.writes = Writes::Spilled {
        file,
        _dir: Some(dir),
    };
    Ok(out)
}

/// A page of report lines as one record per group: the group's key (hex,
/// which sorts as the key does) and its encoded JSONL and CSV lines. A page
/// holds whole groups, each group's lines together.
fn spill_groups(groups: &mut Writer, lines: &[ReportLine]) -> Result<(), DuplicateError> {
    let mut start = 0;
    while start < lines.len() {
        let key = &lines[start].key_hex;
        let end = start
            + lines[start..]
                .iter()
                .take_while(|l| &l.key_hex == key)
                .count();
        let (jsonl, csv) = encode(&lines[start..end]).map_err(|e| DuplicateError::Spill {
            path: "report lines".into(),
            reason: e.to_string(),
        })?;
        groups.parts(&[key.as_bytes(), &jsonl, &csv])?;
        start = end;
    }
    Ok(())
}

/// The report files: every shard's groups, merged in key order.
fn merge_reports(
    ctx: &DuplicateContext,
    job: &TableJob,
    files: &[PathBuf],
) -> Result<(PathBuf, PathBuf), DuplicateError> {
    let mut report = ReportWriter::create(&ctx.output_dir, &job.table)?;
    let mut readers = Vec::with_capacity(files.len());
    let mut heap = BinaryHeap::new();
    let mut pending: HashMap<usize, (Vec<u8>, Vec<u8>)> = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        let mut r = Reader::open(f)?;
        if let Some(mut rec) = r.record(3)? {
            let (csv, jsonl, key) = (rec.pop(), rec.pop(), rec.pop());
            if let (Some(key), Some(jsonl), Some(csv)) = (key, jsonl, csv) {
                heap.push(Reverse((key, i)));
                pending.insert(i, (jsonl, csv));
            }
        }
        readers.push(r);
    }
    while let Some(Reverse((_, i))) = heap.pop() {
        if let Some((jsonl, csv)) = pending.remove(&i) {
            report.append_encoded(&jsonl, &csv)?;
        }
        if let Some(mut rec) = readers[i].record(3)? {
            let (csv, jsonl, key) = (rec.pop(), rec.pop(), rec.pop());
            if let (Some(key), Some(jsonl), Some(csv)) = (key, jsonl, csv) {
                heap.push(Reverse((key, i)));
                pending.insert(i, (jsonl, csv));
            }
        }
    }
    report.finish()
}
