//! Helpers shared by the integration tests: building schemas and hex.
#![allow(dead_code)]

use squall_common::schema::*;

pub fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

pub fn col(id: i64, name: &str, offset: usize, tp: MysqlType) -> ColumnInfo {
    let mut ft = FieldType::new(tp);
    if tp.is_string_like() && tp != MysqlType::Blob {
        ft.charset = Charset::Utf8mb4;
        ft.collate = "utf8mb4_bin".into();
        ft.flen = 255;
    }
    ColumnInfo::new(id, name, offset, ft)
}

pub fn varchar(id: i64, name: &str, offset: usize, collate: &str) -> ColumnInfo {
    let mut c = col(id, name, offset, MysqlType::Varchar);
    c.field_type.collate = collate.into();
    c
}

pub fn index(id: i64, name: &str, offsets: &[usize], unique: bool) -> IndexInfo {
    IndexInfo {
        id,
        name: name.into(),
        columns: offsets
            .iter()
            .map(|&o| IndexColumn {
                offset: o,
                name: format!("c{o}"),
                prefix_len: None,
            })
            .collect(),
        unique,
        primary: false,
    }
}

pub fn table(
    id: i64,
    columns: Vec<ColumnInfo>,
    indices: Vec<IndexInfo>,
    handle: HandleKind,
) -> TableInfo {
    TableInfo {
        id,
        db: "db".into(),
        name: "t".into(),
        columns,
        indices,
        handle,
        charset: None,
        collate: None,
        row_ids: Default::default(),
    }
}
