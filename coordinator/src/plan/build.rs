//! Source directory → plan: discover files, parse schemas (table IDs from
//! `[squall] table-ids` or the deterministic rule), chunk every data file,
//! group chunks into engines. Blocking (it reads the source); deterministic,
//! so planning the same source under the same config gives the same plan.

use squall_codec::TableEncoder;
use squall_common::checkpoint::{PartitionRecord, TableCheckpoint, TableState, RECORD_VERSION};
use squall_common::TaskConfig;
use std::collections::BTreeMap;

use squall_source::schema_parse::{ConfigTableIds, ParsedTable, TableIdSource};
use squall_source::{chunk_table, discover, load_schemas, SourceStore};
use squall_worker::task::spec_from_source;

use super::engines::{group_into_engines, PlannedEngine};
use crate::error::CoordinatorError;

/// Everything the job will import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub tables: Vec<PlannedTable>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTable {
    /// The table record as first written (state `Pending`).
    pub checkpoint: TableCheckpoint,
    pub engines: Vec<PlannedEngine>,
}

impl Plan {
    pub fn source_bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.checkpoint.source_bytes).sum()
    }

    pub fn engine_count(&self) -> usize {
        self.tables.iter().map(|t| t.engines.len()).sum()
    }
}

/// Plans the import of `cfg.mydumper.data-source-dir`.
pub fn build_plan(cfg: &TaskConfig) -> Result<Plan, CoordinatorError> {
    build_plan_with_ids(cfg, None)
}

/// [`build_plan`] with table IDs the target gave (`db.t`, `db.t#partition`,
/// read from TiDB), asked before `[squall] table-ids`.
pub fn build_plan_with_ids(
    cfg: &TaskConfig,
    ids: Option<&BTreeMap<String, i64>>,
) -> Result<Plan, CoordinatorError> {
    let store = SourceStore::open(&cfg.mydumper.data_source_dir)?;
    let catalog = discover(&store, &cfg.mydumper)?;
    for skipped in &catalog.skipped {
        tracing::info!(file = %skipped.path, reason = %skipped.reason, "source file not imported");
    }
    let target = ids.map(ConfigTableIds::new);
    let extra = target.as_ref().map(|t| t as &dyn TableIdSource);
    let schemas = load_schemas(&store, &catalog, cfg, extra)?;
    let mut tables = Vec::with_capacity(catalog.tables.len());
    for (source, parsed) in catalog.tables.iter().zip(schemas.tables) {
        // Refuse schemas the encoder cannot handle now, not in every worker.
        TableEncoder::new(&parsed.info).map_err(|e| CoordinatorError::Schema {
            table: parsed.info.qualified_name(),
            reason: e.to_string(),
        })?;
        let chunks = chunk_table(
            &store,
            source,
            &cfg.mydumper,
            Some(parsed.info.columns.len()),
        )?;
        let specs = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| spec_from_source(i as u32, &source.data_files[c.file_index], c))
            .collect();
        let engines = group_into_engines(specs, cfg.mydumper.batch_size.0);
        tables.push(PlannedTable {
            checkpoint: table_checkpoint(parsed, &engines),
            engines,
        });
    }
    Ok(Plan { tables })
}

fn table_checkpoint(parsed: ParsedTable, engines: &[PlannedEngine]) -> TableCheckpoint {
    let partition = parsed.partition.map(|p| PartitionRecord {
        kind: p.kind,
        expr: p.expr,
        partitions: p.partitions.into_iter().map(|s| (s.name, s.id)).collect(),
        scheme: p.scheme,
    });
    TableCheckpoint {
        version: RECORD_VERSION,
        table: parsed.info,
        auto_increment_base: parsed.auto_increment_base,
        auto_random_base: parsed.auto_random_base,
        partition,
        engine_count: engines.len() as u32,
        source_bytes: engines.iter().map(|e| e.source_bytes).sum(),
        state: TableState::Pending,
        local: None,
        remote: None,
        last_error: None,
    }
}
