//! What DuplicateDetect scans for one table: the record range, and the range
//! of every unique index that writes index KVs (a non-clustered primary key
//! included). Non-unique index keys end with the handle, so two of them can
//! only collide when their records collide, which the record range finds.

use squall_codec::{table_index_range, table_record_range};
use squall_common::schema::TableInfo;

/// Which part of a table a detection range covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetKind {
    Record,
    Index(i64),
}

impl TargetKind {
    /// Short tag used in checkpoint keys and log lines: `r` or `i<id>`.
    pub fn tag(self) -> String {
        match self {
            Self::Record => "r".to_string(),
            Self::Index(id) => format!("i{id}"),
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Record => f.write_str("record range"),
            Self::Index(id) => write!(f, "index {id} range"),
        }
    }
}

/// One raw key range `[start, end)` of one table to scan for duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectTarget {
    pub table_id: i64,
    pub kind: TargetKind,
    pub start: Vec<u8>,
    pub end: Vec<u8>,
}

/// The record range and every unique index range of `table`.
pub fn targets_for(table: &TableInfo) -> Vec<DetectTarget> {
    let (start, end) = table_record_range(table.id);
    let mut out = vec![DetectTarget {
        table_id: table.id,
        kind: TargetKind::Record,
        start,
        end,
    }];
    for index in table.written_indices().filter(|ix| ix.unique || ix.primary) {
        let (start, end) = table_index_range(table.id, index.id);
        out.push(DetectTarget {
            table_id: table.id,
            kind: TargetKind::Index(index.id),
            start,
            end,
        });
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use squall_common::schema::*;

    use super::*;

    /// `t(id INT PRIMARY KEY [clustered or not], u INT UNIQUE, v VARCHAR(20), KEY(v))`.
    pub(crate) fn sample_table(handle: HandleKind) -> TableInfo {
        let int = FieldType::new(MysqlType::Long);
        let mut varchar = FieldType::new(MysqlType::Varchar);
        varchar.flen = 20;
        varchar.collate = "utf8mb4_bin".into();
        let col = |name: &str| IndexColumn {
            offset: ["id", "u", "v"]
                .iter()
                .position(|c| *c == name)
                .expect("column"),
            name: name.into(),
            prefix_len: None,
        };
        TableInfo {
            id: 100,
            db: "db".into(),
            name: "t".into(),
            columns: vec![
                ColumnInfo::new(1, "id", 0, int.clone()),
                ColumnInfo::new(2, "u", 1, int),
                ColumnInfo::new(3, "v", 2, varchar),
            ],
            indices: vec![
                IndexInfo {
                    id: 1,
                    name: "PRIMARY".into(),
                    columns: vec![col("id")],
                    unique: true,
                    primary: true,
                },
                IndexInfo {
                    id: 2,
                    name: "uk_u".into(),
                    columns: vec![col("u")],
                    unique: true,
                    primary: false,
                },
                IndexInfo {
                    id: 3,
                    name: "k_v".into(),
                    columns: vec![col("v")],
                    unique: false,
                    primary: false,
                },
            ],
            handle,
            charset: None,
            collate: None,
            row_ids: Default::default(),
        }
    }

    #[test]
    fn clustered_pk_has_no_index_range() {
        let kinds: Vec<_> = targets_for(&sample_table(HandleKind::IntPk))
            .iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(kinds, [TargetKind::Record, TargetKind::Index(2)]);
    }

    #[test]
    fn non_clustered_pk_is_scanned_like_a_unique_key() {
        let targets = targets_for(&sample_table(HandleKind::RowId));
        let kinds: Vec<_> = targets.iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            [
                TargetKind::Record,
                TargetKind::Index(1),
                TargetKind::Index(2)
            ]
        );
        for t in &targets {
            assert!(t.start < t.end, "{t:?}");
        }
        assert_eq!(TargetKind::Index(2).tag(), "i2");
    }
}
