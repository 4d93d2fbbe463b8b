//! Which table column each source field fills. The source names its columns
//! with a CSV header or an `INSERT INTO t (a, b)` list, or not at all (then
//! fields are in table order). Columns the source does not give take their
//! defaults; a name the table does not have is an error, except
//! `_tidb_rowid`, which sets the row's handle (Lightning accepts it too).
//! Generated columns are never read from the source (Dumpling leaves them
//! out): positional rows skip them, and [`ColumnMap::fill_generated`]
//! computes them once the other columns are known.

mod compare;
mod dates;
pub(crate) use dates::day_number;
mod generated;
mod json_fn;
mod value;

use squall_codec::{Converter, Datum};
use squall_common::schema::TableInfo;

pub use generated::GeneratedColumns;

/// The hidden handle column of tables without a clustered primary key.
pub const ROW_ID_COLUMN: &str = "_tidb_rowid";

/// Where one source field goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Column(usize),
    RowId,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("column `{name}` is not in table {table}")]
    Unknown { table: String, name: String },
    #[error("column `{name}` is given twice")]
    Repeated { name: String },
    #[error("column `{name}` of table {table} is a generated column: the source may not give it a value (TiDB error 3105)")]
    Generated { table: String, name: String },
    #[error("table {table}: {reason}")]
    Expression { table: String, reason: String },
}

/// The field → column mapping for rows with one column list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    /// The source's column names this map was built from (`None`: positional).
    names: Option<Vec<String>>,
    targets: Vec<Target>,
    /// Offsets of table columns no field fills (generated columns excluded).
    missing: Vec<usize>,
    generated: GeneratedColumns,
}

impl ColumnMap {
    /// Positional when `names` is `None` (every column, in table order).
    pub fn build(table: &TableInfo, names: Option<&[String]>) -> Result<Self, ColumnError> {
        let generated = GeneratedColumns::new(table).map_err(|reason| ColumnError::Expression {
            table: table.qualified_name(),
            reason,
        })?;
        let Some(names) = names else {
            let targets = table
                .columns
                .iter()
                .filter(|c| c.generated.is_none())
                .map(|c| Target::Column(c.offset))
                .collect();
            return Ok(Self {
                names: None,
                targets,
                missing: Vec::new(),
                generated,
            });
        };
        let mut given = vec![false; table.columns.len()];
        let mut targets = Vec::with_capacity(names.len());
        let mut row_id_given = false;
        for name in names {
            let target = if name.eq_ignore_ascii_case(ROW_ID_COLUMN)
                && table.column_by_name(name).is_none()
            {
                if std::mem::replace(&mut row_id_given, true) {
                    return Err(ColumnError::Repeated { name: name.clone() });
                }
                Target::RowId
            } else {
                let col = table
                    .column_by_name(name)
                    .ok_or_else(|| ColumnError::Unknown {
                        table: table.qualified_name(),
                        name: name.clone(),
                    })?;
                if col.generated.is_some() {
                    return Err(ColumnError::Generated {
                        table: table.qualified_name(),
                        name: name.clone(),
                    });
                }
                if std::mem::replace(&mut given[col.offset], true) {
                    return Err(ColumnError::Repeated { name: name.clone() });
                }
                Target::Column(col.offset)
            };
            targets.push(target);
        }
        let missing = given
            .iter()
            .enumerate()
            .filter(|(i, g)| !**g && table.columns[*i].generated.is_none())
            .map(|(i, _)| i)
            .collect();
        Ok(Self {
            names: Some(names.to_vec()),
            targets,
            missing,
            generated,
        })
    }

    /// Whether this map was built from exactly these names.
    pub fn is_for(&self, names: Option<&[String]>) -> bool {
        self.names.as_deref() == names
    }

    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Table columns every row of this map takes defaults for.
    pub fn missing(&self) -> &[usize] {
        &self.missing
    }

    /// Computes every generated column of `row` (in column order, so one may
    /// use an earlier one), converted to its column's type.
    pub fn fill_generated(
        &self,
        table: &TableInfo,
        row: &mut [Datum],
        conv: &Converter,
    ) -> Result<(), String> {
        self.generated.fill(table, row, conv)
    }

    /// Fields a row must have: all mapped ones, or none at all (`VALUES ()`,
    /// every column takes its default).
    pub fn accepts_field_count(&self, n: usize) -> bool {
        n == self.targets.len() || n == 0
    }
}

#[cfg(test)]
mod tests {
    use squall_common::schema::{ColumnInfo, FieldType, HandleKind, MysqlType};

    use super::*;

    fn table() -> TableInfo {
        let col = |i: usize, n: &str| {
            ColumnInfo::new(i as i64 + 1, n, i, FieldType::new(MysqlType::Long))
        };
        TableInfo {
            id: 100,
            db: "db".into(),
            name: "t".into(),
            columns: vec![col(0, "a"), col(1, "B"), col(2, "c")],
            indices: vec![],
            handle: HandleKind::RowId,
            charset: None,
            collate: None,
            row_ids: Default::default(),
        }
    }

    #[test]
    fn positional_without_names() {
        let m = ColumnMap::build(&table(), None).expect("positional");
        assert_eq!(
            m.targets(),
            [Target::Column(0), Target::Column(1), Target::Column(2)]
        );
        assert!(m.missing().is_empty());
        assert!(m.accepts_field_count(3) && m.accepts_field_count(0) && !m.accepts_field_count(2));
        assert!(m.is_for(None));
    }

    #[test]
    fn names_map_case_insensitively_and_missing_columns_are_listed() {
        let names = vec!["c".to_string(), "b".into(), "_tidb_rowid".into()];
        let m = ColumnMap::build(&table(), Some(&names)).expect("valid names");
        assert_eq!(
            m.targets(),
            [Target::Column(2), Target::Column(1), Target::RowId]
        );
        assert_eq!(m.missing(), [0]);
        assert!(m.is_for(Some(&names)) && !m.is_for(None));
    }

    #[test]
    fn unknown_and_repeated_names_are_errors() {
        let err =
            ColumnMap::build(&table(), Some(&["a".into(), "zz".into()])).expect_err("unknown");
        assert_eq!(err.to_string(), "column `zz` is not in table `db`.`t`");
        let err =
            ColumnMap::build(&table(), Some(&["a".into(), "A".into()])).expect_err("repeated");
        assert!(matches!(err, ColumnError::Repeated { .. }));
        let empty = ColumnMap::build(&table(), Some(&[])).expect("empty list");
        assert_eq!(empty.missing(), [0, 1, 2]);
    }
}
