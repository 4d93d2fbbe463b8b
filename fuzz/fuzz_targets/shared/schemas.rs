//! Table schemas the decoder targets read with: one column of every row-v2
//! kind (`_tidb_rowid` handle), a clustered common-handle table and an
//! integer-PK table, so typed decoding and handle filling run on fuzz input.
#![allow(dead_code)]

use squall_common::schema::{
    Charset, ColumnInfo, FieldType, HandleKind, IndexColumn, IndexInfo, MysqlType, TableInfo,
};

fn col(id: i64, offset: usize, tp: MysqlType) -> ColumnInfo {
    let mut ft = FieldType::new(tp);
    match tp {
        MysqlType::Varchar => {
            ft.charset = Charset::Utf8mb4;
            ft.collate = "utf8mb4_general_ci".into();
            ft.flen = 64;
        }
        MysqlType::NewDecimal => (ft.flen, ft.decimal) = (12, 4),
        MysqlType::Datetime | MysqlType::Duration => ft.decimal = 3,
        MysqlType::Enum | MysqlType::Set => ft.elems = vec!["a".into(), "b".into()],
        _ => {}
    }
    ColumnInfo::new(id, format!("c{id}"), offset, ft)
}

fn index(id: i64, offsets: &[usize], unique: bool, primary: bool) -> IndexInfo {
    IndexInfo {
        id,
        name: format!("i{id}"),
        columns: offsets
            .iter()
            .map(|&offset| IndexColumn {
                offset,
                name: format!("c{offset}"),
                prefix_len: None,
            })
            .collect(),
        unique,
        primary,
    }
}

fn table(
    id: i64,
    columns: Vec<ColumnInfo>,
    indices: Vec<IndexInfo>,
    handle: HandleKind,
) -> TableInfo {
    TableInfo {
        id,
        db: "db".into(),
        name: format!("t{id}"),
        columns,
        indices,
        handle,
        charset: None,
        collate: None,
        row_ids: Default::default(),
    }
}

const KINDS: [MysqlType; 16] = [
    MysqlType::LongLong,
    MysqlType::Tiny,
    MysqlType::Year,
    MysqlType::Varchar,
    MysqlType::NewDecimal,
    MysqlType::Datetime,
    MysqlType::Date,
    MysqlType::Timestamp,
    MysqlType::Duration,
    MysqlType::Json,
    MysqlType::Double,
    MysqlType::Blob,
    MysqlType::Enum,
    MysqlType::Set,
    MysqlType::Bit,
    MysqlType::Float,
];

/// Column `i` has ID `i + 1` and type `KINDS[i]`.
pub fn wide() -> TableInfo {
    let columns = KINDS
        .iter()
        .enumerate()
        .map(|(i, &tp)| col(i as i64 + 1, i, tp))
        .collect();
    table(
        45,
        columns,
        vec![index(1, &[0], true, false), index(2, &[3, 4], false, false)],
        HandleKind::RowId,
    )
}

pub fn clustered() -> TableInfo {
    table(
        46,
        vec![col(1, 0, MysqlType::Varchar), col(2, 1, MysqlType::Long)],
        vec![index(1, &[0, 1], true, true), index(2, &[1], true, false)],
        HandleKind::Common,
    )
}

pub fn int_pk() -> TableInfo {
    table(
        47,
        vec![
            col(1, 0, MysqlType::LongLong),
            col(2, 1, MysqlType::Varchar),
        ],
        vec![index(1, &[0], true, true), index(2, &[1], false, false)],
        HandleKind::IntPk,
    )
}

pub fn all() -> [TableInfo; 3] {
    [wide(), clustered(), int_pk()]
}

/// Every column type the row decoder distinguishes, for typed value decoding.
pub fn field_types() -> Vec<FieldType> {
    let mut out: Vec<FieldType> = KINDS.iter().map(|&tp| col(1, 0, tp).field_type).collect();
    let mut unsigned = FieldType::new(MysqlType::LongLong);
    unsigned.unsigned = true;
    out.push(unsigned);
    out.push(FieldType::new(MysqlType::Null));
    out
}
