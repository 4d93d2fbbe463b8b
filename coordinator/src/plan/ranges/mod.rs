//! Engine ranges (`squall.engine-ranges`): at planning, each table's key
//! spaces (its record range and each index's range, per physical table) are
//! cut into ranges of about one engine's worth of KVs, estimated from a
//! sample of rows encoded with the worker's own path ([`sample`]), split at
//! keys of the sample ([`split`]), and stored as range records ([`persist`]).
//! Deterministic: the same dump under the same config gives the same ranges.

mod persist;
mod sample;
mod split;

pub use persist::{persist_ranges, pre_split_ranges};
pub use sample::{sample_table, TableSample};
pub use split::{plan_ranges, PlannedRange};

use squall_common::TaskConfig;

use super::build::Plan;
use crate::error::CoordinatorError;

/// Every table's ranges, in plan order. Blocking (reads the source).
pub fn plan_all_ranges(
    cfg: &TaskConfig,
    plan: &Plan,
    now_unix_ms: u64,
) -> Result<Vec<(i64, Vec<PlannedRange>)>, CoordinatorError> {
    let mut out = Vec::with_capacity(plan.tables.len());
    for t in &plan.tables {
        let chunks: Vec<_> = t.engines.iter().flat_map(|e| e.chunks.iter()).collect();
        let sample = sample_table(cfg, &t.checkpoint, &chunks, now_unix_ms)?;
        let ranges = plan_ranges(
            &t.checkpoint.physical_ids(),
            &sample,
            t.checkpoint.source_bytes,
            cfg.mydumper.batch_size.0,
        );
        tracing::info!(table = %t.checkpoint.table.qualified_name(), ranges = ranges.len(),
            sampled_rows = sample.rows, sampled_kvs = sample.keys.len(),
            "engine ranges planned");
        out.push((t.checkpoint.table.id, ranges));
    }
    Ok(out)
}
