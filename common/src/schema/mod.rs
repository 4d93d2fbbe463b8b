//! The table model every crate shares: what a `CREATE TABLE` means to the
//! encoder. It mirrors the parts of TiDB's `model.TableInfo` that decide how
//! rows and indexes are laid out as key/value pairs.

mod column;
mod partition;
mod table;

pub use column::{Charset, ColumnDefault, ColumnInfo, FieldType, MysqlType};
pub use partition::{PartitionBound, PartitionExpr, PartitionMethod, PartitionScheme};
pub use table::{DatabaseInfo, HandleKind, IndexColumn, IndexInfo, RowIdSharding, TableInfo};
