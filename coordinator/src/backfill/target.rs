//! Which table and which of its indexes a check or a backfill works on.

use squall_common::schema::{IndexInfo, TableInfo};

use crate::error::CoordinatorError;
use crate::export::ExportTable;

/// A table, the physical tables its rows live under and the indexes to
/// check or build: only indexes that write entries (a clustered primary key
/// is the handle and has none).
#[derive(Debug, Clone)]
pub struct IndexTarget {
    pub table: TableInfo,
    pub physical_ids: Vec<i64>,
    pub indexes: Vec<IndexInfo>,
}

impl IndexTarget {
    /// Every written index of `table`, or only the one named `index`
    /// (case-insensitive, as MySQL compares index names).
    pub fn new(table: ExportTable, index: Option<&str>) -> Result<Self, CoordinatorError> {
        let name = table.info.qualified_name();
        let written: Vec<IndexInfo> = table.info.written_indices().cloned().collect();
        let indexes = match index {
            None => written,
            Some(wanted) => {
                let found = written
                    .into_iter()
                    .find(|ix| ix.name.eq_ignore_ascii_case(wanted));
                match found {
                    Some(ix) => vec![ix],
                    None => {
                        let clustered = table
                            .info
                            .indices
                            .iter()
                            .any(|ix| ix.primary && ix.name.eq_ignore_ascii_case(wanted));
                        let reason = if clustered {
                            format!(
                                "index {wanted} is the clustered primary key: it is the row's \
                                 handle and has no index entries to check or build"
                            )
                        } else {
                            let names: Vec<&str> = table
                                .info
                                .indices
                                .iter()
                                .map(|ix| ix.name.as_str())
                                .collect();
                            format!(
                                "no index named {wanted}; the table has: {}",
                                names.join(", ")
                            )
                        };
                        return Err(CoordinatorError::Schema {
                            table: name,
                            reason,
                        });
                    }
                }
            }
        };
        Ok(Self {
            table: table.info,
            physical_ids: table.physical_ids,
            indexes,
        })
    }

    /// The schema as one physical table (a partition) sees it: its rows and
    /// index entries are keyed by the physical ID.
    pub fn physical(&self, id: i64) -> TableInfo {
        TableInfo {
            id,
            ..self.table.clone()
        }
    }

    pub fn index_name(&self, id: i64) -> &str {
        self.indexes
            .iter()
            .find(|ix| ix.id == id)
            .map_or("?", |ix| ix.name.as_str())
    }
}
