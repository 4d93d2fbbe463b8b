use squall_common::schema::{Charset, ColumnDefault, DatabaseInfo, HandleKind, MysqlType};

use super::*;

fn db() -> DatabaseInfo {
    DatabaseInfo {
        name: "d".into(),
        charset: None,
        collate: None,
    }
}

fn parse(sql: &str) -> ParsedTable {
    parse_create_table(sql, "d.t-schema.sql", &db(), "t").expect("parses")
}

#[test]
fn dump_output_with_executable_comments() {
    let t = parse(
        "/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\nCREATE TABLE `x` (\n  `ID` int(10) UNSIGNED NOT NULL AUTO_INCREMENT,\n  `Name` varchar(64) COLLATE utf8mb4_general_ci DEFAULT NULL COMMENT 'n',\n  `b` blob,\n  PRIMARY KEY (`ID`) /*T![clustered_index] CLUSTERED */,\n  KEY `idx` (`Name`(10), `ID`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_bin AUTO_INCREMENT=42 /*!50100 COMMENT 'c' */;",
    );
    let info = &t.info;
    assert_eq!(info.name, "t");
    assert_eq!(info.handle, HandleKind::IntPk);
    assert_eq!(
        info.columns.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let id = &info.columns[0];
    assert!(id.auto_increment && id.field_type.unsigned && id.field_type.not_null);
    assert_eq!(
        (id.field_type.tp, id.field_type.flen),
        (MysqlType::Long, 10)
    );
    let name = &info.columns[1].field_type;
    assert_eq!(
        (name.charset, name.collate.as_str(), name.flen),
        (Charset::Utf8mb4, "utf8mb4_general_ci", 64)
    );
    assert_eq!(info.columns[2].field_type.charset, Charset::Binary);
    assert_eq!(info.columns[1].default, ColumnDefault::Null);
    assert_eq!(info.indices.len(), 2);
    assert_eq!((info.indices[0].primary, info.indices[0].id), (true, 0));
    let idx = &info.indices[1];
    assert_eq!(
        (idx.id, idx.name.as_str(), idx.columns[0].prefix_len),
        (1, "idx", Some(10))
    );
    assert_eq!(t.auto_increment_base, Some(42));
    assert_eq!(
        info.int_handle_column().map(|c| c.name.as_str()),
        Some("ID")
    );
}

#[test]
fn handle_kinds() {
    let t = parse("create table t (a varchar(6) primary key, b int unique auto_increment) auto_increment=80000");
    assert_eq!(t.info.handle, HandleKind::RowId);
    let names: Vec<(&str, i64, bool)> = t
        .info
        .indices
        .iter()
        .map(|i| (i.name.as_str(), i.id, i.unique))
        .collect();
    assert_eq!(names, vec![("PRIMARY", 1, true), ("b", 2, true)]);
    let t = parse("create table t (a varchar(6), b int, primary key (a, b) clustered)");
    assert_eq!(t.info.handle, HandleKind::Common);
    let t = parse("create table t (a bigint primary key nonclustered)");
    assert_eq!(t.info.handle, HandleKind::RowId);
    let t = parse("create table t (a bigint auto_random(3) primary key)");
    assert_eq!(
        (t.info.handle, t.info.columns[0].auto_random_bits),
        (HandleKind::IntPk, Some(3))
    );
}

#[test]
fn index_ids_table_constraints_first() {
    let t = parse(
        "create table t (a int unique, b int, c int, key (b), unique key (b, c), key b_idx (c))",
    );
    let names: Vec<(&str, i64)> = t
        .info
        .indices
        .iter()
        .map(|i| (i.name.as_str(), i.id))
        .collect();
    assert_eq!(names, vec![("b", 1), ("b_2", 2), ("b_idx", 3), ("a", 4)]);
}

#[test]
fn types_and_defaults() {
    let t = parse(
        "create table t (d decimal(6,4) default '1.5', dt datetime(6) not null default current_timestamp(6) on update current_timestamp(6), e enum('a','b') default 'b', bits bit(2) default b'01', ts timestamp(3), j json, ch char(36) character set latin1, y year, f float(30))",
    );
    let c = &t.info.columns;
    assert_eq!((c[0].field_type.flen, c[0].field_type.decimal), (6, 4));
    assert_eq!(c[1].default, ColumnDefault::CurrentTimestamp);
    assert_eq!((c[1].field_type.decimal, c[1].field_type.flen), (6, 26));
    assert_eq!(
        c[2].field_type.elems,
        vec!["a".to_string(), "b".to_string()]
    );
    assert_eq!(c[3].default, ColumnDefault::Literal("1".into()));
    assert_eq!(c[4].field_type.tp, MysqlType::Timestamp);
    assert_eq!(c[5].field_type.tp, MysqlType::Json);
    assert_eq!(
        (c[6].field_type.charset, c[6].field_type.collate.as_str()),
        (Charset::Latin1, "latin1_bin")
    );
    assert_eq!(c[8].field_type.tp, MysqlType::Double);
}

#[test]
fn partitions_are_recorded() {
    let t = parse("create table t (a int, b varchar(8)) partition by range columns(b) (partition p0 values less than ('x'), partition p1 values less than maxvalue)");
    let p = t.partition.expect("partitioned");
    assert_eq!(p.kind, "RANGE COLUMNS");
    assert_eq!(
        p.partitions
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        vec!["p0", "p1"]
    );
}

#[test]
fn errors_are_precise() {
    let cases = [
        ("create table t (a int, a int)", ErrorKind::Schema, 23),
        ("create table t (a int default 'x')", ErrorKind::Schema, 30),
        (
            "create table t (a date default '2020-13-01')",
            ErrorKind::Schema,
            31,
        ),
        (
            "create table t (a int, b int as (md5(a)))",
            ErrorKind::Unsupported,
            23,
        ),
        ("create table t (a int,", ErrorKind::Schema, 22),
        ("create table t (a varchar)", ErrorKind::Schema, 16),
        ("create table t (a int, key (zz))", ErrorKind::Schema, 23),
        (
            "create table t (a int primary key, b int, primary key (b))",
            ErrorKind::Schema,
            16,
        ),
        ("set names utf8;", ErrorKind::Schema, 0),
        (
            "create table t (a text collate 'utf8_bin' charset latin1)",
            ErrorKind::Schema,
            16,
        ),
        ("create table t (a int) 'x", ErrorKind::Syntax, 23),
    ];
    for (sql, kind, offset) in cases {
        let err = parse_create_table(sql, "f.sql", &db(), "t").expect_err(sql);
        assert_eq!(
            (err.kind, err.pos.offset),
            (kind, Some(offset)),
            "{sql}: {err}"
        );
    }
}

#[test]
fn database_text_is_read_leniently() {
    let d = parse_database(
        "CREATE DATABASE `x` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;",
        "x",
    );
    assert_eq!(d.charset.as_deref(), Some("utf8mb4"));
    let d = parse_database("CREATE DATABASE `perm` IF NOT EXISTS;", "perm");
    assert_eq!((d.name.as_str(), d.charset), ("perm", None));
    let d = parse_database(
        "CREATE DATABASE `m` /* !40100 DEFAULT CHARACTER SET utf8 */;",
        "m",
    );
    assert_eq!(d.charset, None);
}

#[test]
fn view_statement_is_extracted() {
    let v = parse_view("SET x = 1;\nDROP VIEW IF EXISTS `v`;\nCREATE ALGORITHM=UNDEFINED VIEW `v` (`i`) AS SELECT `i` FROM `fr`.`tbl`;\nSET y = 2;", "v.sql")
        .expect("view");
    assert!(
        v.starts_with("CREATE ALGORITHM") && v.ends_with("`tbl`"),
        "{v}"
    );
}

#[test]
fn deterministic_ids_cover_partitions() {
    let mut tables = vec![
        parse("create table t (a int) partition by hash(a) partitions 2"),
        parse_create_table("create table a (x int)", "f", &db(), "a").expect("a"),
    ];
    assign_table_ids(&mut tables, &ConfigTableIds::default()).expect("ids");
    assert_eq!(tables[1].info.id, DETERMINISTIC_TABLE_ID_BASE);
    assert_eq!(tables[0].info.id, DETERMINISTIC_TABLE_ID_BASE + 1);
    let ids: Vec<i64> = tables[0]
        .partition
        .as_ref()
        .expect("p")
        .partitions
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(
        ids,
        vec![
            DETERMINISTIC_TABLE_ID_BASE + 2,
            DETERMINISTIC_TABLE_ID_BASE + 3
        ]
    );
    let map = [
        ("d.t".to_string(), 7i64),
        ("d.t#p0".to_string(), 8),
        ("d.t#p1".to_string(), 9),
    ]
    .into_iter()
    .collect();
    assign_table_ids(&mut tables, &ConfigTableIds::new(&map)).expect("ids");
    assert_eq!(tables[0].info.id, 7);
    assert_eq!(tables[1].info.id, DETERMINISTIC_TABLE_ID_BASE);
}

#[test]
fn table_options_default_charset_and_collation() {
    let t = parse("create table t (a varchar(3)) ENGINE=InnoDB DEFAULT CHARSET=latin1 DEFAULT COLLATE=latin1_general_ci COMMENT='x'");
    let ft = &t.info.columns[0].field_type;
    assert_eq!(
        (ft.charset, ft.collate.as_str()),
        (Charset::Latin1, "latin1_general_ci")
    );
    assert_eq!(t.info.collate.as_deref(), Some("latin1_general_ci"));
}

#[test]
fn shard_row_id_bits_pre_split_and_auto_random_range() {
    let t = parse(
        "CREATE TABLE t (a INT, b VARCHAR(5)) ENGINE=InnoDB /*T! SHARD_ROW_ID_BITS=4 PRE_SPLIT_REGIONS=2 */",
    );
    assert_eq!(t.info.handle, HandleKind::RowId);
    assert_eq!(t.info.row_ids.shard_row_id_bits, 4);
    assert_eq!(t.info.row_ids.pre_split_regions, 2);
    let r = parse(
        "CREATE TABLE t (id BIGINT PRIMARY KEY /*T![auto_rand] AUTO_RANDOM(6, 32) */, v INT) /*T![auto_rand_base] AUTO_RANDOM_BASE=100 */",
    );
    assert_eq!(r.info.columns[0].auto_random_bits, Some(6));
    assert_eq!(r.info.row_ids.auto_random_range_bits, Some(32));
    assert_eq!(r.auto_random_base, Some(100));
    // A clustered primary key has no _tidb_rowid: the option does nothing.
    let pk = parse("CREATE TABLE t (id INT PRIMARY KEY) SHARD_ROW_ID_BITS=3");
    assert_eq!(pk.info.row_ids.shard_row_id_bits, 0);
    let err = parse_create_table(
        "CREATE TABLE t (a INT) SHARD_ROW_ID_BITS=16",
        "f",
        &db(),
        "t",
    )
    .expect_err("too many bits");
    assert!(err.to_string().contains("at most 15"), "{err}");
    let err = parse_create_table(
        "CREATE TABLE t (id BIGINT PRIMARY KEY AUTO_RANDOM(5, 20))",
        "f",
        &db(),
        "t",
    )
    .expect_err("range too small");
    assert!(err.to_string().contains("range bits"), "{err}");
}

#[test]
fn expression_index_becomes_a_hidden_virtual_column() {
    let t = parse(
        "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20) COLLATE utf8mb4_general_ci, d DATE, \
         KEY idx ((LOWER(name))), UNIQUE KEY (id, (YEAR(d) * 100 + MONTH(d))))",
    );
    let cols = &t.info.columns;
    assert_eq!(cols.len(), 5);
    let h = &cols[3];
    assert_eq!((h.id, h.offset, h.name.as_str()), (4, 3, "_V$_idx_0"));
    assert_eq!(h.generated.as_deref(), Some("LOWER(name)"));
    assert!(!h.generated_stored);
    assert_eq!(
        (
            h.field_type.tp,
            h.field_type.flen,
            h.field_type.collate.as_str()
        ),
        (MysqlType::Varchar, 20, "utf8mb4_general_ci")
    );
    let u = &cols[4];
    assert_eq!(u.name, "_V$_expression_index_1");
    assert_eq!(u.field_type.tp, MysqlType::LongLong);
    let idx = &t.info.indices[0];
    assert_eq!((idx.id, idx.name.as_str()), (1, "idx"));
    assert_eq!(idx.columns[0].offset, 3);
    let uq = &t.info.indices[1];
    assert_eq!(uq.name, "expression_index");
    assert_eq!(
        uq.columns.iter().map(|c| c.offset).collect::<Vec<_>>(),
        [0, 4]
    );
    assert!(uq.unique);
}

#[test]
fn functions_squall_cannot_evaluate_are_refused_by_name() {
    let err = parse_create_table(
        "CREATE TABLE t (a VARCHAR(9), b VARCHAR(9) AS (MD5(a)))",
        "d.t-schema.sql",
        &db(),
        "t",
    )
    .expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("`d`.`t`") && msg.contains("`b`") && msg.contains("MD5"),
        "{msg}"
    );
    let err = parse_create_table(
        "CREATE TABLE t (a VARCHAR(9), KEY k ((SHA1(a))))",
        "d.t-schema.sql",
        &db(),
        "t",
    )
    .expect_err("refused");
    assert!(err.to_string().contains("SHA1"), "{err}");
    let err = parse_create_table(
        "CREATE TABLE t (j JSON, KEY k ((j->>'$.a')))",
        "d.t-schema.sql",
        &db(),
        "t",
    )
    .expect_err("TEXT cannot be indexed");
    assert!(err.to_string().contains("index key cannot hold"), "{err}");
}

#[test]
fn comparisons_in_a_partition_expression_are_refused() {
    let err = parse_create_table(
        "CREATE TABLE t (a INT) PARTITION BY HASH ((a > 1)) PARTITIONS 2",
        "d.t-schema.sql",
        &db(),
        "t",
    )
    .expect_err("refused");
    assert!(err.to_string().contains("operator `>`"), "{err}");
}

#[test]
fn expression_index_over_json_with_cast() {
    let t = parse("CREATE TABLE t (j JSON, KEY k ((CAST(j->>'$.name' AS CHAR(32)))))");
    let h = &t.info.columns[1];
    assert_eq!(h.name, "_V$_k_0");
    assert_eq!(
        (
            h.field_type.tp,
            h.field_type.flen,
            h.field_type.collate.as_str()
        ),
        (MysqlType::Varchar, 32, "utf8mb4_bin")
    );
    let err = parse_create_table(
        "CREATE TABLE t (j JSON, KEY k ((CAST(j->>'$.name' AS CHAR))))",
        "d.t-schema.sql",
        &db(),
        "t",
    )
    .expect_err("LONGTEXT");
    assert!(err.to_string().contains("CHAR(n)"), "{err}");
}
