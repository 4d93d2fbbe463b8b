//! What the target says about a table: its columns (any server), and on
//! TiDB the IDs it gave the table and its partitions, which the plan must
//! use for every key it writes.

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;

use super::connect::Session;
use super::create_schema::DumpTable;
use super::error::TidbError;

/// Column names of `db`.`table` in order; empty when the table does not exist.
pub async fn target_columns(
    session: &mut Session,
    db: &str,
    table: &str,
) -> Result<Vec<String>, TidbError> {
    const SQL: &str = "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
                       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION";
    let what = format!("read the columns of `{db}`.`{table}`");
    session
        .run(&what, |c| c.exec(SQL, (db.to_string(), table.to_string())))
        .await
}

/// TiDB only: `{ "db.t" = id, "db.t#partition" = id }` for every table of
/// the dump, in the form `[squall] table-ids` takes.
pub async fn tidb_table_ids(
    session: &mut Session,
    tables: &[DumpTable],
) -> Result<BTreeMap<String, i64>, TidbError> {
    const TABLE: &str = "SELECT TIDB_TABLE_ID FROM information_schema.TABLES \
                         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?";
    const PARTITIONS: &str = "SELECT PARTITION_NAME, TIDB_PARTITION_ID FROM information_schema.PARTITIONS \
                              WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND PARTITION_NAME IS NOT NULL";
    let mut ids = BTreeMap::new();
    for t in tables {
        let (db, name) = (t.db.as_str(), t.name.as_str());
        let what = format!("read the table ID of {}", t.qualified());
        let id: Option<i64> = session
            .run(&what, |c| {
                c.exec_first(TABLE, (db.to_string(), name.to_string()))
            })
            .await?;
        let Some(id) = id else {
            return Err(TidbError::Target {
                addr: session.addr().to_string(),
                reason: format!(
                    "table {} is not in information_schema.TABLES after it was created",
                    t.qualified()
                ),
            });
        };
        ids.insert(format!("{db}.{name}"), id);
        let what = format!("read the partition IDs of {}", t.qualified());
        let parts: Vec<(String, i64)> = session
            .run(&what, |c| {
                c.exec(PARTITIONS, (db.to_string(), name.to_string()))
            })
            .await?;
        for (p, pid) in parts {
            ids.insert(format!("{db}.{name}#{p}"), pid);
        }
    }
    Ok(ids)
}
