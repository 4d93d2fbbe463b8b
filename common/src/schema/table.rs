//! Tables, indexes and how rows are addressed (the handle).

use serde::{Deserialize, Serialize};

use super::ColumnInfo;

/// How a table's rows are keyed in TiKV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandleKind {
    /// No clustered primary key: TiDB assigns `_tidb_rowid` (Squall assigns it
    /// from each chunk's row-id range).
    RowId,
    /// Clustered single integer primary key: the column value is the handle
    /// (`pk_is_handle` in TiDB).
    IntPk,
    /// Clustered non-integer (or composite) primary key: the handle is the
    /// memcomparable encoding of the primary key columns (`is_common_handle`).
    Common,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexColumn {
    /// Offset of the column in [`TableInfo::columns`].
    pub offset: usize,
    pub name: String,
    /// Prefix length in characters (`col(10)`), `None` for the whole value.
    pub prefix_len: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexInfo {
    pub id: i64,
    pub name: String,
    pub columns: Vec<IndexColumn>,
    pub unique: bool,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInfo {
    pub id: i64,
    pub db: String,
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    /// Every index of the table, the primary key included (`primary = true`).
    /// A clustered primary key (`IntPk`, `Common`) writes no index KV: it is
    /// the handle. See [`TableInfo::written_indices`].
    pub indices: Vec<IndexInfo>,
    pub handle: HandleKind,
    /// Table charset/collation defaults, as declared.
    pub charset: Option<String>,
    pub collate: Option<String>,
    /// `SHARD_ROW_ID_BITS`, `PRE_SPLIT_REGIONS`, AUTO_RANDOM range bits.
    #[serde(default)]
    pub row_ids: RowIdSharding,
}

/// How TiDB lays out the handles it generates (`_tidb_rowid`, AUTO_RANDOM).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowIdSharding {
    /// `SHARD_ROW_ID_BITS = n`: implicit row IDs get `n` shard bits under
    /// the sign bit (0: none).
    #[serde(default)]
    pub shard_row_id_bits: u32,
    /// `PRE_SPLIT_REGIONS = n`: split the record range into `2^n` regions at
    /// shard boundaries before ingest (0: no pre-split).
    #[serde(default)]
    pub pre_split_regions: u32,
    /// `AUTO_RANDOM(s, r)`: the range bits `r` (64 when not given).
    #[serde(default)]
    pub auto_random_range_bits: Option<u32>,
}

impl TableInfo {
    /// The column that is the integer handle, for `HandleKind::IntPk`.
    pub fn int_handle_column(&self) -> Option<&ColumnInfo> {
        if self.handle != HandleKind::IntPk {
            return None;
        }
        self.primary_index()
            .and_then(|ix| ix.columns.first())
            .map(|c| &self.columns[c.offset])
    }

    /// The primary key index, clustered or not.
    pub fn primary_index(&self) -> Option<&IndexInfo> {
        self.indices.iter().find(|ix| ix.primary)
    }

    /// Indexes for which index KVs are written.
    pub fn written_indices(&self) -> impl Iterator<Item = &IndexInfo> {
        self.indices
            .iter()
            .filter(|ix| !(ix.primary && self.handle != HandleKind::RowId))
    }

    pub fn column_by_name(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// `db.table` with backquotes, as in log lines and error messages.
    pub fn qualified_name(&self) -> String {
        format!("`{}`.`{}`", self.db, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    pub name: String,
    pub charset: Option<String>,
    pub collate: Option<String>,
}
