//! The target tables hold no rows yet (Lightning's "table empty" check):
//! physical import writes KVs under the table's ids as if nothing were
//! there, so rows already in a table would mix with the import's. One
//! `KvScan` of limit 1 over each physical table's key range at a fresh TSO.
//! `tikv-importer.incremental-import` lets an import add to such tables,
//! but the post-import checksum compares what was imported with the whole
//! table, so it must not be `required` then.

use squall_client::{ImportClient, PdClient};
use squall_codec::key::table_range;

use super::report::CheckResult;
use super::source::TargetTable;
use super::CHECK_EMPTY;
use crate::scan::RangeScanner;

/// Names listed in a failed check's detail.
const LISTED: usize = 5;

pub async fn check_empty(
    pd: &PdClient,
    tables: &[TargetTable],
    incremental: bool,
    checksum_required: bool,
) -> CheckResult {
    let ts = match pd.tso().await {
        Ok(ts) => ts,
        Err(e) => {
            return CheckResult::fail(
                CHECK_EMPTY,
                format!("PD Tso: {e}"),
                "check that PD is healthy",
            )
        }
    };
    let client = ImportClient::new(pd.clone());
    let mut holding = Vec::new();
    for table in tables {
        for &id in &table.physical_ids {
            let (start, end) = table_range(id);
            let mut scan = RangeScanner::new(&client, start, end, ts).with_page(1);
            match scan.next_page().await {
                Ok(Some(page)) if !page.is_empty() => {
                    holding.push(format!("{} (table id {id})", table.name));
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    return CheckResult::fail(
                        CHECK_EMPTY,
                        format!("reading {} (table id {id}): {e}", table.name),
                        "check that TiKV is healthy, then run again",
                    )
                }
            }
        }
    }
    if holding.is_empty() {
        return CheckResult::pass(CHECK_EMPTY, format!("{} tables hold no rows", tables.len()));
    }
    let mut names = holding
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if holding.len() > LISTED {
        names.push_str(&format!(" (and {} more)", holding.len() - LISTED));
    }
    if incremental && checksum_required {
        return CheckResult::fail(
            CHECK_EMPTY,
            format!(
                "rows already in {names}; tikv-importer.incremental-import is set, but the \
                 post-import checksum would count them and fail"
            ),
            "set post-restore.checksum = \"optional\" (or \"off\") to import into them, or \
             empty them first (TRUNCATE TABLE)",
        );
    }
    if incremental {
        return CheckResult::warn(
            CHECK_EMPTY,
            format!(
                "rows already in {names}; importing into them (tikv-importer.incremental-import)"
            ),
            "source rows whose keys clash with existing rows are conflicts handled by \
             conflict.strategy; in tables without a clustered primary key imported rows get \
             _tidb_rowid values from 1 on, which can clash with existing rows too; the checksum \
             counts the existing rows, so it will not match",
        );
    }
    CheckResult::fail(
        CHECK_EMPTY,
        format!("rows already in {names}"),
        "empty them first (TRUNCATE TABLE), leave them out with mydumper.filter, or set \
         tikv-importer.incremental-import = true to add to them (rows clashing with existing \
         ones are conflicts under conflict.strategy)",
    )
}
