//! The TiDB Lightning integration-test datasets in `../shared/fixtures/lightning`
//! are discovered, routed and parsed as their EXPECTED.md says. Value
//! conversion (text → typed datum) is the codec's job and is checked there;
//! here the raw values must be exactly what the conversion will see.

mod common;

use std::collections::BTreeSet;

use common::{config, copy_renamed, fixtures, hex, load, text};
use squall_common::schema::{HandleKind, MysqlType};
use squall_source::{ErrorKind, ValueKind};

fn int(row: &squall_source::Row, i: usize) -> i128 {
    text(row, i).expect("not null").parse().expect("integer")
}

#[test]
fn lightning_examples_with_each_read_block_size() {
    let Some(root) = fixtures() else { return };
    let ds = root.join("lightning_examples");
    for conf in ["512.toml", "1.toml", "131072.toml"] {
        let cfg = config(Some(&ds.join(conf)), &ds.join("examples"));
        let l = load(&cfg).expect("loads");
        let names: Vec<String> = l.catalog.tables.iter().map(|t| t.qualified()).collect();
        assert_eq!(
            names,
            [
                "mocker_test.i",
                "mocker_test.report_case_high_risk",
                "mocker_test.tbl_autoid",
                "mocker_test.tbl_multi_index"
            ],
            "{conf}"
        );
        let skipped: BTreeSet<&str> = l.catalog.skipped.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(skipped, BTreeSet::from(["metadata", "test.parquet"]));

        let autoid = l.rows("mocker_test.tbl_autoid");
        assert_eq!(autoid.len(), 10000);
        let ids: BTreeSet<i128> = autoid.iter().map(|(r, _)| int(r, 0)).collect();
        assert_eq!((ids.len(), ids.iter().sum::<i128>()), (10000, 50005000));
        let names: Vec<String> = autoid
            .iter()
            .map(|(r, _)| text(r, 1).expect("name"))
            .collect();
        assert_eq!(
            (
                names.iter().max().expect("max").as_str(),
                names.iter().min().expect("min").as_str()
            ),
            ("4-9-9", "0-0-0")
        );
        let t = l.table("mocker_test.tbl_autoid");
        assert_eq!(t.info.handle, HandleKind::IntPk);
        assert_eq!(t.info.columns[1].field_type.collate, "utf8_bin");

        let multi = l.rows("mocker_test.tbl_multi_index");
        let names: BTreeSet<String> = multi
            .iter()
            .map(|(r, _)| text(r, 0).expect("name"))
            .collect();
        assert_eq!(names.len(), 10000);
        let ages: Vec<i128> = multi.iter().map(|(r, _)| int(r, 1)).collect();
        assert_eq!(ages.iter().sum::<i128>(), 4_777_500, "avg(age) = 477.75");
        assert_eq!(ages.iter().filter(|&&a| a == 6).count(), 20);
        let age_of = multi
            .iter()
            .find(|(r, _)| text(r, 0).as_deref() == Some("1+2+3"))
            .map(|(r, _)| int(r, 1));
        assert_eq!(age_of, Some(6));
        let t = l.table("mocker_test.tbl_multi_index");
        assert_eq!(t.info.handle, HandleKind::RowId);
        assert_eq!(
            t.info
                .indices
                .iter()
                .map(|i| (i.name.as_str(), i.id))
                .collect::<Vec<_>>(),
            [("idx_name", 1), ("idx_age_name", 2)]
        );

        let risk = l.rows("mocker_test.report_case_high_risk");
        let vals: Vec<Option<String>> = (0..5).map(|i| text(&risk[0].0, i)).collect();
        assert_eq!(
            vals,
            ["2", "4", "6", "8", "10"].map(|s| Some(s.to_string()))
        );
        let t = l.table("mocker_test.report_case_high_risk");
        assert_eq!(
            (t.info.handle, t.info.indices[1].id),
            (HandleKind::IntPk, 1)
        );

        let i = l.rows("mocker_test.i");
        assert_eq!((i.len(), text(&i[0].0, 0).as_deref()), (1, Some("🤪")));
        assert_eq!(l.table("mocker_test.i").info.columns[0].name, "ſ");
    }
}

#[test]
fn lightning_examples_renamed_to_dotless_i() {
    let Some(root) = fixtures() else { return };
    let ds = root.join("lightning_examples");
    let dir = copy_renamed(
        &ds.join("examples"),
        &[
            ("mocker_test.i-schema.sql", "mocker_test.ı-schema.sql"),
            ("mocker_test.i.sql", "mocker_test.ı.sql"),
        ],
    );
    let l = load(&config(Some(&ds.join("512.toml")), dir.path())).expect("loads");
    assert_eq!(l.table("mocker_test.ı").info.name, "ı");
    assert_eq!(
        text(&l.rows("mocker_test.ı")[0].0, 0).as_deref(),
        Some("🤪")
    );
}

#[test]
fn lightning_exotic_filenames() {
    let Some(root) = fixtures() else { return };
    let ds = root.join("lightning_exotic_filenames");
    let plain = load(&config(Some(&ds.join("config.toml")), &ds.join("data"))).expect("loads");
    assert_eq!(plain.rows("xfn.etn").len(), 5);
    assert_eq!(
        text(&plain.rows("zwk.zwb")[0].0, 0).as_deref(),
        Some("2345")
    );

    let dir = copy_renamed(
        &ds.join("data"),
        &[
            ("zwk-schema-create.sql", "中文庫-schema-create.sql"),
            ("zwk.zwb-schema.sql", "中文庫.中文表-schema.sql"),
            ("zwk.zwb.sql", "中文庫.中文表.sql"),
            ("xfn-schema-create.sql", "x`f\"n-schema-create.sql"),
            ("xfn.etn-schema.sql", "x`f\"n.exotic`table``name-schema.sql"),
            ("xfn.etn.sql", "x`f\"n.exotic`table``name.sql"),
        ],
    );
    let l = load(&config(Some(&ds.join("config.toml")), dir.path())).expect("loads");
    let dbs: Vec<&str> = l
        .catalog
        .databases
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(dbs, ["x`f\"n", "中文庫"]);
    let rows = l.rows("x`f\"n.exotic`table``name");
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[0].1.as_deref(),
        Some(&["a".to_string(), "b".to_string(), "_tidb_rowid".to_string()][..])
    );
    let last = &rows[4].0;
    assert_eq!(
        (text(last, 0).as_deref(), int(last, 1), int(last, 2)),
        (Some("eeeeee"), 55, 79999)
    );
    let t = l.table("x`f\"n.exotic`table``name");
    assert_eq!(
        (t.info.handle, t.auto_increment_base),
        (HandleKind::RowId, Some(80000))
    );
    assert_eq!(
        text(&l.rows("中文庫.中文表")[0].0, 0).as_deref(),
        Some("2345")
    );
}

#[test]
fn lightning_column_permutation_strict_chunks() {
    let Some(root) = fixtures() else { return };
    let ds = root.join("lightning_column_permutation");
    let l = load(&config(Some(&ds.join("config.toml")), &ds.join("data"))).expect("loads");
    assert_eq!(l.catalog.databases[0].name, "perm");
    let chunks = &l.chunks["perm.test_perm"];
    assert!(chunks.len() >= 3, "659 bytes in chunks of 200: {chunks:?}");
    for w in chunks.windows(2) {
        assert_eq!(w[0].end, w[1].start);
        assert_eq!(w[0].row_id_max, w[1].row_id_base);
        assert!(w[1].columns.is_some(), "later chunks carry the header");
    }
    let rows = l.rows("perm.test_perm");
    assert_eq!(rows.len(), 5);
    let header: Vec<String> = "contract_no,fund_seq_no,term_no,contract_type,internal_transfer_tag,prin_amt,start_date,end_date,region_code,credit_code"
        .split(',')
        .map(String::from)
        .collect();
    assert!(rows.iter().all(|(_, cols)| cols.as_ref() == Some(&header)));
    let (r, _) = rows
        .iter()
        .find(|(r, _)| text(r, 0).as_deref() == Some("2020061000019011020164030597"))
        .expect("row");
    assert_eq!(
        text(r, 1).as_deref(),
        Some("202006100001901102016403059520200627")
    );
    assert_eq!(
        (text(r, 8).as_deref(), text(r, 9).as_deref()),
        (Some("000002"), Some("33"))
    );
    assert_eq!(
        text(&rows[0].0, 9).as_deref(),
        Some(""),
        "empty credit_code is '' not NULL"
    );
    let t = l.table("perm.test_perm");
    assert_eq!(t.info.columns.len(), 13);
    assert_eq!(t.info.columns[12].field_type.collate, "utf8mb4_bin");
    let p = t.partition.as_ref().expect("partitioned");
    assert_eq!((p.kind.as_str(), p.partitions.len()), ("RANGE COLUMNS", 5));
    // Re-chunking gives the same chunks.
    let again = load(&config(Some(&ds.join("config.toml")), &ds.join("data"))).expect("loads");
    assert_eq!(&again.chunks["perm.test_perm"], chunks);
}

#[test]
fn lightning_default_columns() {
    let Some(root) = fixtures() else { return };
    let ds = root.join("lightning_default-columns");
    let l = load(&config(Some(&ds.join("config.toml")), &ds.join("data"))).expect("loads");
    let t = l.rows("defcol.t");
    assert_eq!(t.len(), 9);
    assert!(t.iter().all(|(r, _)| r.fields.is_empty()));
    let u = l.rows("defcol.u");
    assert_eq!(
        u.iter().map(|(r, _)| int(r, 0)).collect::<Vec<_>>(),
        [40, 60]
    );
    assert_eq!(u[0].1.as_deref(), Some(&["yy".to_string()][..]));
    let u = l.table("defcol.u");
    assert_eq!(u.info.handle, HandleKind::IntPk);
    assert!(u.info.columns[0].auto_increment);
    assert_eq!(
        l.table("defcol.t").info.columns[2].default,
        squall_common::schema::ColumnDefault::Literal("123".into())
    );
}

#[test]
fn lightning_issue_282() {
    let Some(root) = fixtures() else { return };
    let ds = root.join("lightning_issue_282");
    let l = load(&config(Some(&ds.join("config.toml")), &ds.join("data"))).expect("loads");
    let hexes: Vec<String> = l
        .rows("issue282.t_access3")
        .iter()
        .map(|(r, _)| hex(r, 0))
        .collect();
    assert_eq!(hexes, ["405026464C415348534841", "1A"]);
    assert_eq!(l.schemas.databases[0].charset.as_deref(), Some("utf8mb4"));
    assert_eq!(
        l.table("issue282.t_access3").info.columns[0]
            .field_type
            .collate,
        "utf8_bin"
    );
}

#[test]
fn lightning_csv() {
    let Some(root) = fixtures() else { return };
    let ds = root.join("lightning_csv");
    let l = load(&config(Some(&ds.join("config.toml")), &ds.join("data"))).expect("loads");
    assert_eq!(l.catalog.databases[0].name, "csv");
    let threads = l.rows("csv.threads");
    assert_eq!(threads.len(), 43);
    let sum = |i: usize| {
        threads
            .iter()
            .filter_map(|(r, _)| text(r, i))
            .map(|v| v.parse::<i128>().expect("int"))
            .sum::<i128>()
    };
    assert_eq!((sum(8), sum(16)), (322253, 303775702));
    assert_eq!(
        threads
            .iter()
            .filter(|(r, _)| r.fields[9].is_some())
            .count(),
        3
    );
    assert_eq!(
        threads
            .iter()
            .filter(|(r, _)| r.fields[8].is_some())
            .count(),
        12
    );
    let last = &threads[42].0;
    assert!(text(last, 10)
        .expect("info")
        .ends_with("ENCLOSED BY '\"' LINES TERMINATED BY '\\n'"));
    assert_eq!(l.table("csv.threads").info.indices.len(), 7);

    let esc = l.rows("csv.escapes");
    let got: Vec<(String, String, String)> = esc
        .iter()
        .map(|(r, _)| (hex(r, 1), text(r, 2).expect("j"), hex(r, 3)))
        .collect();
    assert_eq!(
        got,
        [
            (
                "5C".to_string(),
                "{\"?\": []}".to_string(),
                "FFFFFFFF".to_string()
            ),
            (
                "22".to_string(),
                "\"\\n\\n\\n\"".to_string(),
                "0D0A0D0A".to_string()
            ),
            (
                "0A".to_string(),
                "[\",,,\"]".to_string(),
                "5C2C5C2C".to_string()
            ),
        ]
    );

    let empty = l.rows("csv.empty_strings");
    let vals: Vec<Vec<Option<String>>> = empty
        .iter()
        .map(|(r, _)| (0..3).map(|i| text(r, i)).collect())
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        vals,
        [
            [s("1"), s(""), s("")],
            [s("2"), s(""), s("")],
            [s("3"), s("\""), s("")],
            [s("4"), s(""), s("")]
        ]
    );
}

#[test]
fn lightning_various_types() {
    let Some(root) = fixtures() else { return };
    let ds = root.join("lightning_various_types");
    let l = load(&config(Some(&ds.join("config.toml")), &ds.join("data"))).expect("loads");
    let counts: Vec<(String, usize)> = l.rows.iter().map(|(k, v)| (k.clone(), v.len())).collect();
    let want = [
        ("vt.bigint", 6),
        ("vt.binary", 51),
        ("vt.bit", 16),
        ("vt.char", 50),
        ("vt.datetime", 70),
        ("vt.decimal", 50),
        ("vt.double", 41),
        ("vt.empty_strings", 6),
        ("vt.enum-set", 26),
        ("vt.json", 92),
        ("vt.precise_types", 1),
    ];
    assert_eq!(counts, want.map(|(k, n)| (k.to_string(), n)));
    let bigint: i128 = l.rows("vt.bigint").iter().map(|(r, _)| int(r, 0)).sum();
    assert_eq!(bigint, -3341565093352173667);

    let binary = l.rows("vt.binary");
    assert!(binary.iter().all(|(r, _)| r.kind(1) == ValueKind::Binary));
    assert!(
        binary
            .iter()
            .any(|(r, _)| r.fields[1].as_deref() == Some(&[][..])),
        "x'' is empty"
    );
    let (r, _) = binary
        .iter()
        .find(|(r, _)| hex(r, 1) == "55DC0343DB6A420898729096305B8C07")
        .expect("pk");
    assert_eq!(int(r, 0), 41);

    let bit = l.rows("vt.bit");
    let by_ref = |n: i128| {
        bit.iter()
            .find(|(r, _)| int(r, 0) == n)
            .map(|(r, _)| (r.kind(1), r.fields[1].clone()))
    };
    assert_eq!(by_ref(3), Some((ValueKind::Binary, Some(vec![2]))));
    assert_eq!(by_ref(13), Some((ValueKind::Binary, Some(vec![2]))));
    assert_eq!(by_ref(23), Some((ValueKind::Binary, Some(vec![2]))));
    assert_eq!(by_ref(43), Some((ValueKind::Number, Some(b"2".to_vec()))));

    let decimal_sum: i128 = l
        .rows("vt.decimal")
        .iter()
        .map(|(r, _)| {
            let v = text(r, 1).expect("pk");
            let (neg, v) = v
                .strip_prefix('-')
                .map_or((false, v.as_str()), |x| (true, x));
            let (i, f) = v.split_once('.').unwrap_or((v, ""));
            let scaled: i128 = format!("{i}{f:0<4}").parse().expect("decimal");
            if neg {
                -scaled
            } else {
                scaled
            }
        })
        .sum();
    assert_eq!(decimal_sum, -99123, "sum(pk) = -9.9123");

    let es = l.rows("vt.empty_strings");
    let sum_where = |a: &str| {
        es.iter()
            .filter(|(r, _)| text(r, 1).as_deref() == Some(a))
            .map(|(r, _)| int(r, 0))
            .sum::<i128>()
    };
    assert_eq!(
        (sum_where(""), sum_where("\""), sum_where("'")),
        (5, 18, 40)
    );

    let json = l.rows("vt.json");
    let (r, _) = json
        .iter()
        .find(|(r, _)| int(r, 0) == 2000)
        .expect("convert row");
    assert_eq!(
        text(r, 1).as_deref(),
        Some("{\"52\": 1, \"54\": 1, \"68\": 1, \"126\": 1}")
    );
    let distinct: BTreeSet<Option<String>> = json.iter().map(|(r, _)| text(r, 1)).collect();
    assert_eq!(distinct.len(), 92);

    let enum_set = l.rows("vt.enum-set");
    assert!(enum_set
        .iter()
        .any(|(r, _)| text(r, 0).as_deref() == Some("154")
            && text(r, 1).as_deref() == Some("11937444798263156608")));
    let t = l.table("vt.enum-set");
    assert_eq!(
        (
            t.info.columns[0].field_type.elems.len(),
            t.info.columns[1].field_type.elems.len()
        ),
        (256, 64)
    );
    assert_eq!(
        t.info.handle,
        HandleKind::RowId,
        "SET primary key is not an int handle"
    );

    let p = &l.rows("vt.precise_types")[0].0;
    let vals: Vec<String> = (0..4).map(|i| text(p, i).expect("value")).collect();
    assert_eq!(
        vals,
        [
            "18446744073709551614",
            "-9223372036854775806",
            "99999999999999999999",
            "18446744073709551614"
        ]
    );

    let dt = l.table("vt.datetime");
    assert_eq!(
        (
            dt.info.columns[1].field_type.decimal,
            dt.info.columns[2].field_type.tp
        ),
        (6, MysqlType::Timestamp)
    );
    assert_eq!(l.table("vt.bigint").info.handle, HandleKind::IntPk);
    assert_eq!(l.table("vt.char").info.handle, HandleKind::RowId);
}

#[test]
fn lightning_character_sets() {
    let Some(root) = fixtures() else { return };
    let ds = root.join("lightning_character_sets");
    // (dir, config, expected column name or None for failure, sum)
    let cases = [
        ("gb18030", "auto", Some("主键"), 267),
        ("gb18030", "gb18030", Some("主键"), 267),
        ("gb18030", "utf8mb4", None, 0),
        ("gb18030", "binary", Some("Ö÷¼ü"), 267),
        ("utf8mb4", "auto", Some("主键"), 1119),
        ("utf8mb4", "gb18030", Some("涓婚敭"), 1119),
        ("utf8mb4", "utf8mb4", Some("主键"), 1119),
        ("utf8mb4", "binary", Some("主键"), 1119),
        ("mixed", "auto", None, 0),
        ("mixed", "gb18030", None, 0),
        ("mixed", "utf8mb4", None, 0),
        ("mixed", "binary", Some("唯一键"), 5291),
    ];
    for (dir, conf, column, sum) in cases {
        let cfg = config(Some(&ds.join(format!("{conf}.toml"))), &ds.join(dir));
        let result = load(&cfg);
        match column {
            None => {
                let err = result
                    .err()
                    .unwrap_or_else(|| panic!("{dir} with {conf} must fail"));
                assert!(
                    matches!(
                        err.kind,
                        ErrorKind::Charset | ErrorKind::Schema | ErrorKind::Syntax
                    ),
                    "{err}"
                );
                assert!(err.pos.file.ends_with("-schema.sql"), "{err}");
            }
            Some(name) => {
                let l = result.unwrap_or_else(|e| panic!("{dir} with {conf}: {e}"));
                let q = format!("charsets.{dir}");
                assert_eq!(l.table(&q).info.columns[0].name, name, "{dir} with {conf}");
                let total: i128 = l.rows(&q).iter().map(|(r, _)| int(r, 0)).sum();
                assert_eq!((l.rows(&q).len(), total), (10, sum), "{dir} with {conf}");
            }
        }
    }
}

#[test]
fn lightning_file_routing() {
    let Some(root) = fixtures() else { return };
    let ds = root.join("lightning_file_routing");
    let l = load(&config(Some(&ds.join("config.toml")), &ds.join("data"))).expect("loads");
    let files: Vec<&str> = l
        .catalog
        .tables
        .iter()
        .find(|t| t.name == "tbl")
        .expect("tbl")
        .data_files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        files,
        [
            "ff/test.SQL",
            "fr/tbl.sql",
            "fr/tbl1.sql.0",
            "fr/tbl2.sql.0",
            "tbl1.sql.1"
        ]
    );
    let rows = l.rows("fr.tbl");
    assert_eq!(rows.len(), 10);
    assert_eq!(rows.iter().map(|(r, _)| int(r, 1)).sum::<i128>(), 55);
    assert!(l
        .catalog
        .skipped
        .iter()
        .any(|s| s.path == "fr/tbl-noused.sql"));
    assert_eq!(l.catalog.views.len(), 1);
    assert_eq!(
        (
            l.catalog.views[0].db.as_str(),
            l.catalog.views[0].name.as_str()
        ),
        ("fr", "v")
    );
    assert!(
        l.schemas.views[0].contains("VIEW `v` (`i`) AS SELECT `i` FROM `fr`.`tbl` WHERE i <= 5")
    );
    assert_eq!(l.table("fr.tbl").info.handle, HandleKind::IntPk);
    assert!(
        l.rows("fr.v").is_empty(),
        "the placeholder table has no data"
    );
}
