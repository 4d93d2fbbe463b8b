//! "target tables empty" once the plan's table ids are known. With
//! `tidb.host` on a TiDB, the plan encodes under the ids TiDB gave the
//! tables (read just before planning), not the `[squall] table-ids` or
//! deterministic ones the early prechecks see: checking those would scan
//! ranges no row lives in and let an import mix with existing rows. So
//! `run_import` leaves this one check out of the early prechecks then and
//! runs it here, after TiDB's ids are read and before the plan is stored.
//! The job is still `Planning` then: it has written no KV, so rows found are
//! never its own, and a failed check stops it before anything is written.

use std::collections::BTreeMap;

use squall_client::PdClient;
use squall_common::TaskConfig;
use squall_source::schema_parse::{ConfigTableIds, TableIdSource};
use squall_source::{discover, load_schemas, SourceStore};

use super::report::{CheckStatus, PrecheckReport};
use super::source::{target_tables, TargetTable};
use super::tables::check_empty;
use crate::error::CoordinatorError;

/// The source's tables under the ids the plan uses: `ids` (TiDB's, keys
/// `db.t` and `db.t#partition`) first, then `[squall] table-ids`, then the
/// deterministic rule, as `build_plan_with_ids` assigns them. Blocking: it
/// reads the schema files.
pub fn targets_with_ids(
    cfg: &TaskConfig,
    ids: Option<&BTreeMap<String, i64>>,
) -> Result<Vec<TargetTable>, CoordinatorError> {
    let store = SourceStore::open(&cfg.mydumper.data_source_dir)?;
    let catalog = discover(&store, &cfg.mydumper)?;
    let known = ids.map(ConfigTableIds::new);
    let extra = known.as_ref().map(|t| t as &dyn TableIdSource);
    let schemas = load_schemas(&store, &catalog, cfg, extra)?;
    Ok(target_tables(&schemas.tables))
}

/// Runs "target tables empty" over the tables under `ids` and fails the
/// job as the early prechecks do when it fails (a warning is logged).
pub async fn check_empty_with_ids(
    cfg: &TaskConfig,
    pd: &PdClient,
    ids: Option<&BTreeMap<String, i64>>,
) -> Result<(), CoordinatorError> {
    let owned = (cfg.clone(), ids.cloned());
    let tables = tokio::task::spawn_blocking(move || targets_with_ids(&owned.0, owned.1.as_ref()))
        .await
        .map_err(|e| CoordinatorError::Blocking(e.to_string()))??;
    let incremental = cfg.tikv_importer.incremental_import;
    let result = check_empty(pd, &tables, incremental, cfg.checksum_required()).await;
    match result.status {
        CheckStatus::Fail => tracing::error!(check = result.name, "{}", result.detail),
        CheckStatus::Warn => tracing::warn!(check = result.name, "{}", result.detail),
        CheckStatus::Pass | CheckStatus::Skipped => {
            tracing::info!(
                check = result.name,
                result = result.status.label(),
                "{}",
                result.detail
            )
        }
    }
    let mut report = PrecheckReport::default();
    report.push(result);
    if report.passed() {
        return Ok(());
    }
    Err(CoordinatorError::Invalid {
        what: "precheck",
        reason: format!(
            "the import did not start, nothing was written:\n{report}\n(set \
             lightning.check-requirements = false to import anyway)"
        ),
    })
}
