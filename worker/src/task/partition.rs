//! Which partition (physical table) a row of a partitioned table goes to.
//!
//! Only what can be decided without evaluating SQL expressions is supported:
//! `HASH(<integer column>)` (partition `|v mod n|`, as TiDB), and a NULL in
//! the single column of a `RANGE`/`RANGE COLUMNS` table (NULL sorts below
//! every bound, so the first partition). Anything else is a clear error
//! naming the table, not a guess: the source crate keeps partition names and
//! IDs but not the bounds.

use squall_codec::Datum;
use squall_common::checkpoint::PartitionRecord;
use squall_common::schema::TableInfo;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("table {table} is partitioned by {kind} ({expr}): {reason}")]
pub struct RouteError {
    pub table: String,
    pub kind: String,
    pub expr: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct PartitionRouter {
    rule: Rule,
    /// Physical table IDs, one per partition, in declaration order.
    ids: Vec<i64>,
    err: RouteError,
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    NotPartitioned,
    Hash { column: usize },
    RangeOnColumn { column: usize },
    Unsupported,
}

impl PartitionRouter {
    pub fn new(table: &TableInfo, partition: Option<&PartitionRecord>) -> Self {
        let err = |p: &PartitionRecord, reason: &str| RouteError {
            table: table.qualified_name(),
            kind: p.kind.clone(),
            expr: p.expr.clone(),
            reason: reason.to_string(),
        };
        let Some(p) = partition.filter(|p| !p.partitions.is_empty()) else {
            let none = RouteError {
                table: table.qualified_name(),
                kind: String::new(),
                expr: String::new(),
                reason: String::new(),
            };
            return Self {
                rule: Rule::NotPartitioned,
                ids: vec![table.id],
                err: none,
            };
        };
        let name = p
            .expr
            .trim()
            .trim_matches(|c| c == '(' || c == ')')
            .trim()
            .trim_matches('`');
        let column = table.column_by_name(name).map(|c| c.offset);
        let rule = match (p.kind.as_str(), column) {
            ("HASH", Some(c)) if table.columns[c].field_type.tp.is_integer() => {
                Rule::Hash { column: c }
            }
            ("RANGE" | "RANGE COLUMNS", Some(c)) => Rule::RangeOnColumn { column: c },
            _ => Rule::Unsupported,
        };
        Self {
            rule,
            ids: p.partitions.iter().map(|(_, id)| *id).collect(),
            err: err(
                p,
                "only HASH on an integer column, or NULL in a RANGE column, can be routed",
            ),
        }
    }

    /// Every physical table ID rows may go to.
    pub fn physical_ids(&self) -> &[i64] {
        &self.ids
    }

    /// Index into [`Self::physical_ids`] for `row`.
    pub fn route(&self, row: &[Datum]) -> Result<usize, RouteError> {
        let n = self.ids.len();
        match self.rule {
            Rule::NotPartitioned => Ok(0),
            Rule::Hash { column } => match &row[column] {
                Datum::Null => Ok(0),
                Datum::Int(v) => Ok((v % n as i64).unsigned_abs() as usize),
                Datum::Uint(v) => Ok((v % n as u64) as usize),
                _ => Err(self.err.clone()),
            },
            Rule::RangeOnColumn { column } if row[column].is_null() => Ok(0),
            Rule::RangeOnColumn { .. } | Rule::Unsupported => Err(RouteError {
                reason: format!("{}; the row's partition is not known", self.err.reason),
                ..self.err.clone()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use squall_common::schema::{ColumnInfo, FieldType, HandleKind, MysqlType};

    use super::*;

    fn table() -> TableInfo {
        TableInfo {
            id: 10,
            db: "d".into(),
            name: "t".into(),
            columns: vec![
                ColumnInfo::new(1, "id", 0, FieldType::new(MysqlType::Long)),
                ColumnInfo::new(2, "day", 1, FieldType::new(MysqlType::Date)),
            ],
            indices: vec![],
            handle: HandleKind::RowId,
            charset: None,
            collate: None,
        }
    }

    fn record(kind: &str, expr: &str) -> PartitionRecord {
        PartitionRecord {
            kind: kind.into(),
            expr: expr.into(),
            partitions: vec![("p0".into(), 11), ("p1".into(), 12), ("p2".into(), 13)],
        }
    }

    #[test]
    fn hash_on_integer_column() {
        let r = PartitionRouter::new(&table(), Some(&record("HASH", "`id`")));
        assert_eq!(r.physical_ids(), [11, 12, 13]);
        assert_eq!(r.route(&[Datum::Int(7), Datum::Null]), Ok(1));
        assert_eq!(r.route(&[Datum::Int(-7), Datum::Null]), Ok(1));
    }

    #[test]
    fn range_null_goes_first_and_values_are_refused() {
        let r = PartitionRouter::new(&table(), Some(&record("RANGE COLUMNS", "day")));
        assert_eq!(r.route(&[Datum::Int(1), Datum::Null]), Ok(0));
        let err = r
            .route(&[Datum::Int(1), Datum::Int(5)])
            .expect_err("bounds unknown");
        assert!(err.to_string().contains("`d`.`t`"), "{err}");
    }

    #[test]
    fn unpartitioned_uses_the_table_id() {
        let r = PartitionRouter::new(&table(), None);
        assert_eq!(r.physical_ids(), [10]);
        assert_eq!(r.route(&[Datum::Int(1), Datum::Null]), Ok(0));
    }
}
