//! Table IDs: from `[squall] table-ids`, from another source (TiDB's status
//! API `/schema/{db}/{table}` can implement [`TableIdSource`]), or assigned
//! deterministically so that a re-run of the same job picks the same IDs.

use std::collections::BTreeMap;

use crate::error::{ErrorKind, SourceError};

use super::ParsedTable;

/// First ID given out when no source knows a table: far above the IDs a
/// fresh TiDB cluster uses for its own tables.
pub const DETERMINISTIC_TABLE_ID_BASE: i64 = 100_000;

/// Something that knows the IDs TiDB gave a table (and its partitions).
pub trait TableIdSource {
    /// The table's ID, if known.
    fn table_id(&self, db: &str, table: &str) -> Result<Option<i64>, SourceError>;
    /// A partition's physical ID, if known.
    fn partition_id(
        &self,
        db: &str,
        table: &str,
        partition: &str,
    ) -> Result<Option<i64>, SourceError>;
}

/// `[squall] table-ids = { "db.t" = 100, "db.p#p0" = 101 }`; keys compare
/// case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct ConfigTableIds {
    ids: BTreeMap<String, i64>,
}

impl ConfigTableIds {
    pub fn new(map: &BTreeMap<String, i64>) -> Self {
        Self {
            ids: map.iter().map(|(k, v)| (k.to_lowercase(), *v)).collect(),
        }
    }
}

impl TableIdSource for ConfigTableIds {
    fn table_id(&self, db: &str, table: &str) -> Result<Option<i64>, SourceError> {
        Ok(self
            .ids
            .get(&format!("{db}.{table}").to_lowercase())
            .copied())
    }

    fn partition_id(
        &self,
        db: &str,
        table: &str,
        partition: &str,
    ) -> Result<Option<i64>, SourceError> {
        Ok(self
            .ids
            .get(&format!("{db}.{table}#{partition}").to_lowercase())
            .copied())
    }
}

/// Sets `info.id` (and partition IDs) of every table. Tables `source` does
/// not know get IDs from [`DETERMINISTIC_TABLE_ID_BASE`] in the order of
/// their lower-cased `db.table` names, each followed by its partitions.
pub fn assign_table_ids(
    tables: &mut [ParsedTable],
    source: &dyn TableIdSource,
) -> Result<(), SourceError> {
    let mut order: Vec<usize> = (0..tables.len()).collect();
    order.sort_by_key(|&i| {
        (
            tables[i].info.db.to_lowercase(),
            tables[i].info.name.to_lowercase(),
        )
    });
    let mut next = DETERMINISTIC_TABLE_ID_BASE;
    let mut assigned = Vec::new();
    for i in order {
        let t = &mut tables[i];
        let (db, name) = (t.info.db.clone(), t.info.name.clone());
        let known = source.table_id(&db, &name)?;
        let id = match known {
            Some(id) => id,
            None => {
                let id = next;
                next += 1;
                assigned.push(format!("`{db}`.`{name}`={id}"));
                id
            }
        };
        t.info.id = id;
        if let Some(p) = &mut t.partition {
            for (k, spec) in p.partitions.iter_mut().enumerate() {
                spec.id = match (source.partition_id(&db, &name, &spec.name)?, known) {
                    (Some(pid), _) => pid,
                    (None, None) => {
                        next += 1;
                        id + 1 + k as i64
                    }
                    (None, Some(_)) => {
                        let reason = format!(
                            "table `{db}`.`{name}` has a configured ID but partition `{}` has none (add \"{db}.{name}#{}\" to [squall] table-ids)",
                            spec.name, spec.name
                        );
                        return Err(SourceError::new(ErrorKind::Schema, "", reason));
                    }
                };
            }
        }
    }
    if !assigned.is_empty() {
        tracing::warn!(
            tables = %assigned.join(", "),
            "no table ID known from [squall] table-ids or TiDB; assigned IDs deterministically from {DETERMINISTIC_TABLE_ID_BASE}: the target tables must be created with these IDs"
        );
    }
    Ok(())
}
