//! After the data is in, TiDB's ID allocators must start past what was
//! imported: rows written as KVs never went through them, so the first
//! INSERT that lets TiDB pick an ID would reuse an imported one (duplicate
//! key, or worse, a silently shadowed `_tidb_rowid`). As Lightning does,
//! with statements that only ever move an allocator up:
//!
//! * AUTO_INCREMENT (any server): `ALTER TABLE t AUTO_INCREMENT = max + 1`.
//! * `_tidb_rowid` (TiDB; it shares the AUTO_INCREMENT allocator): the same
//!   statement past the largest row ID.
//! * AUTO_RANDOM (TiDB): `ALTER TABLE t AUTO_RANDOM_BASE = max + 1`, the
//!   max of the auto-ID bits (shard bits left out).
//!
//! A schema file's own `AUTO_INCREMENT = n` / `AUTO_RANDOM_BASE = n` is kept
//! when it is higher.

use mysql_async::prelude::Queryable;
use squall_common::checkpoint::TableCheckpoint;
use squall_common::schema::HandleKind;

use super::capabilities::ServerInfo;
use super::connect::Session;
use super::error::TidbError;
use super::statement::quote;

/// The statements one table needs, and what was left out and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebasePlan {
    pub statements: Vec<String>,
    pub skipped: Vec<String>,
}

pub fn plan_rebase(table: &TableCheckpoint, server: &ServerInfo) -> RebasePlan {
    let info = &table.table;
    let name = format!("{}.{}", quote(&info.db), quote(&info.name));
    let totals = table.local.clone().unwrap_or_default();
    let has_auto_inc = info.columns.iter().any(|c| c.auto_increment);
    let auto_random = info.columns.iter().any(|c| c.auto_random_bits.is_some());
    let row_id = info.handle == HandleKind::RowId;
    let past = |max: i64, declared: Option<u64>| {
        let declared = declared.map_or(0, |d| i64::try_from(d).unwrap_or(i64::MAX));
        max.saturating_add(1).max(declared)
    };
    let mut plan = RebasePlan::default();
    if auto_random {
        if server.is_tidb {
            let base = past(totals.max_auto_id, table.auto_random_base);
            plan.statements
                .push(format!("ALTER TABLE {name} AUTO_RANDOM_BASE = {base}"));
        } else {
            plan.skipped.push(format!(
                "{name}: AUTO_RANDOM_BASE not rebased (TiDB-only statement; the server is a {})",
                server.describe()
            ));
        }
    }
    if server.is_tidb && (has_auto_inc || row_id) {
        let max = match has_auto_inc {
            true => totals.max_auto_id.max(totals.max_row_id),
            false => totals.max_row_id,
        };
        let base = past(max, table.auto_increment_base);
        plan.statements
            .push(format!("ALTER TABLE {name} AUTO_INCREMENT = {base}"));
        return plan;
    }
    if has_auto_inc {
        let base = past(totals.max_auto_id, table.auto_increment_base);
        plan.statements
            .push(format!("ALTER TABLE {name} AUTO_INCREMENT = {base}"));
    }
    if row_id && !server.is_tidb {
        plan.skipped.push(format!(
            "{name}: _tidb_rowid allocator not rebased (TiDB-only; the server is a {})",
            server.describe()
        ));
    }
    plan
}

/// Runs the table's rebase statements; returns one note per statement run.
pub async fn rebase_table(
    session: &mut Session,
    plan: &RebasePlan,
) -> Result<Vec<String>, TidbError> {
    let mut notes = Vec::new();
    for sql in &plan.statements {
        let what = format!("rebase ({sql})");
        session.run(&what, |c| c.query_drop(sql.clone())).await?;
        tracing::info!(addr = session.addr(), statement = %sql, "allocator rebased past the imported rows");
        notes.push(format!("ran {sql}"));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use squall_common::checkpoint::{TableState, TableTotals, RECORD_VERSION};
    use squall_common::schema::{ColumnInfo, FieldType, MysqlType, TableInfo};

    fn table(handle: HandleKind, auto_inc: bool, auto_random: bool) -> TableCheckpoint {
        let mut id = ColumnInfo::new(1, "id", 0, FieldType::new(MysqlType::LongLong));
        id.auto_increment = auto_inc;
        id.auto_random_bits = auto_random.then_some(5);
        TableCheckpoint {
            version: RECORD_VERSION,
            table: TableInfo {
                id: 100,
                db: "d".into(),
                name: "t".into(),
                columns: vec![id],
                indices: Vec::new(),
                handle,
                charset: None,
                collate: None,
                row_ids: Default::default(),
            },
            auto_increment_base: None,
            auto_random_base: None,
            partition: None,
            engine_count: 1,
            source_bytes: 1,
            state: TableState::ChecksumVerified,
            local: Some(TableTotals {
                max_row_id: 40,
                max_auto_id: 900,
                ..Default::default()
            }),
            remote: None,
            last_error: None,
        }
    }

    #[test]
    fn plain_sql_rebases_auto_increment_and_names_what_needs_tidb() {
        let other = ServerInfo::from_version("11.8.3-MariaDB".into());
        let p = plan_rebase(&table(HandleKind::IntPk, true, false), &other);
        assert_eq!(p.statements, ["ALTER TABLE `d`.`t` AUTO_INCREMENT = 901"]);
        assert!(p.skipped.is_empty());
        let p = plan_rebase(&table(HandleKind::RowId, false, false), &other);
        assert!(p.statements.is_empty());
        assert!(p.skipped[0].contains("_tidb_rowid"), "{p:?}");
        let p = plan_rebase(&table(HandleKind::IntPk, false, true), &other);
        assert!(p.skipped[0].contains("AUTO_RANDOM_BASE"), "{p:?}");
    }

    #[test]
    fn tidb_rebases_row_ids_and_auto_random() {
        let tidb = ServerInfo::from_version("8.0.11-TiDB-v7.5.0".into());
        let p = plan_rebase(&table(HandleKind::RowId, false, false), &tidb);
        assert_eq!(p.statements, ["ALTER TABLE `d`.`t` AUTO_INCREMENT = 41"]);
        let p = plan_rebase(&table(HandleKind::IntPk, false, true), &tidb);
        assert_eq!(p.statements, ["ALTER TABLE `d`.`t` AUTO_RANDOM_BASE = 901"]);
        let mut declared = table(HandleKind::IntPk, true, false);
        declared.auto_increment_base = Some(5000);
        let p = plan_rebase(&declared, &tidb);
        assert_eq!(p.statements, ["ALTER TABLE `d`.`t` AUTO_INCREMENT = 5000"]);
    }
}
