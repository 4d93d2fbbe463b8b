//! A catalog of malformed inputs: each one must fail with the expected error
//! kind, naming the file and (for file content) the byte offset and line.
//! None may panic.

mod common;

use std::io::Write;

use common::load_with;
use squall_common::config::TaskConfig;
use squall_source::{ErrorKind, ReadOptions, SourceCharset};

const SCHEMA: &str = "CREATE TABLE t (a INT, b VARCHAR(10));";

/// Where the error must point.
#[derive(Debug, Clone, Copy)]
enum Pos {
    /// Offset and line, exactly.
    At(u64, u64),
    /// Some offset and line.
    Some,
    /// Not about a position in a file.
    None,
}

struct Case {
    name: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    config: &'static str,
    charset: SourceCharset,
    max_row: usize,
    kind: ErrorKind,
    /// The file the error must name ("" for config errors).
    file: &'static str,
    pos: Pos,
}

fn case(
    name: &'static str,
    data_file: &'static str,
    data: &[u8],
    kind: ErrorKind,
    pos: Pos,
) -> Case {
    Case {
        name,
        files: vec![
            ("db.t-schema.sql", SCHEMA.as_bytes().to_vec()),
            (data_file, data.to_vec()),
        ],
        config: "[mydumper.csv]\nheader = false\n",
        charset: SourceCharset::Binary,
        max_row: 1 << 20,
        kind,
        file: data_file,
        pos,
    }
}

fn schema_case(name: &'static str, schema: &str, kind: ErrorKind, pos: Pos) -> Case {
    Case {
        files: vec![
            ("db.t-schema.sql", schema.as_bytes().to_vec()),
            ("db.t.sql", b"INSERT INTO t VALUES (1,'x');".to_vec()),
        ],
        file: "db.t-schema.sql",
        ..case(name, "db.t.sql", b"", kind, pos)
    }
}

fn with_config(mut c: Case, config: &'static str, file: &'static str) -> Case {
    c.config = config;
    c.file = file;
    c
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).expect("zstd")
}

fn cases() -> Vec<Case> {
    use ErrorKind::*;
    let big = b"1,x\n".repeat(20_000);
    let long_gz = gzip(&big);
    let long_zst = zstd(&big);
    // A raw snappy block (length, one literal) without the framing format.
    let sql = b"INSERT INTO t VALUES (1);";
    let mut raw_snappy = vec![sql.len() as u8, ((sql.len() - 1) as u8) << 2];
    raw_snappy.extend_from_slice(sql);
    vec![
        // CSV syntax.
        case("csv unterminated quote", "db.t.csv", b"1,a\n2,\"open\n3,c\n", Syntax, Pos::At(6, 2)),
        case("csv quote inside unquoted field", "db.t.csv", b"1,ab\"c\n", Syntax, Pos::At(4, 1)),
        case("csv text after closing quote", "db.t.csv", b"1,\"a\"b\n", Syntax, Pos::At(5, 1)),
        case("csv dangling backslash", "db.t.csv", b"1,a\\", Syntax, Pos::At(3, 1)),
        case("csv unterminated quote at eof", "db.t.csv", b"1,\"", Syntax, Pos::At(2, 1)),
        case("csv row too long", "db.t.csv", &b"1,".iter().chain([b'x'; 5000].iter()).copied().collect::<Vec<u8>>(), Syntax, Pos::At(0, 1)),
        with_config(
            case("csv multi-byte separator, unterminated quote", "db.t.csv", b"1||\"x\n", Syntax, Pos::At(3, 1)),
            "[mydumper.csv]\nheader = false\nseparator = '||'\n",
            "db.t.csv",
        ),
        with_config(
            case("csv custom terminator, text after quote", "db.t.csv", b"1,\"x\"y|\n", Syntax, Pos::At(5, 1)),
            "[mydumper.csv]\nheader = false\nterminator = '|\\n'\n",
            "db.t.csv",
        ),
        // CSV data.
        case("csv too few fields", "db.t.csv", b"1,a\n2\n", Data, Pos::At(4, 2)),
        case("csv too many fields", "db.t.csv", b"1,a,zz\n", Data, Pos::At(0, 1)),
        with_config(
            case("csv header column count", "db.t.csv", b"a,b\n1,x\n2\n", Data, Pos::At(8, 3)),
            "[mydumper.csv]\nheader = true\n",
            "db.t.csv",
        ),
        Case { charset: SourceCharset::Utf8mb4, ..case("csv invalid utf8", "db.t.csv", b"1,ok\n2,\xff\xfe\n", Charset, Pos::At(5, 2)) },
        Case { charset: SourceCharset::Gb18030, ..case("csv invalid gb18030", "db.t.csv", b"1,\x81\n", Charset, Pos::At(0, 1)) },
        // SQL syntax.
        case("sql unterminated string", "db.t.sql", b"INSERT INTO t VALUES (1,'open);", Syntax, Pos::At(24, 1)),
        case("sql missing comma", "db.t.sql", b"INSERT INTO t VALUES (1 'x');", Syntax, Pos::At(24, 1)),
        case("sql invalid number", "db.t.sql", b"INSERT INTO t VALUES\n(12ab,'x');", Syntax, Pos::At(22, 2)),
        case("sql invalid exponent", "db.t.sql", b"INSERT INTO t VALUES (1e,'x');", Syntax, Pos::At(22, 1)),
        case("sql invalid hex", "db.t.sql", b"INSERT INTO t VALUES (x'4g','x');", Syntax, Pos::At(22, 1)),
        case("sql odd hex string", "db.t.sql", b"INSERT INTO t VALUES (x'abc','x');", Syntax, Pos::At(22, 1)),
        case("sql invalid bit", "db.t.sql", b"INSERT INTO t VALUES (b'102','x');", Syntax, Pos::At(22, 1)),
        case("sql invalid 0x", "db.t.sql", b"INSERT INTO t VALUES (0xZZ,'x');", Syntax, Pos::At(22, 1)),
        case("sql insert select", "db.t.sql", b"INSERT INTO t SELECT * FROM u;", Syntax, Pos::At(0, 1)),
        case("sql unterminated comment", "db.t.sql", b"/* dump\nINSERT INTO t VALUES (1,'x');", Syntax, Pos::At(0, 1)),
        case("sql eof inside values", "db.t.sql", b"INSERT INTO t VALUES (1,'x'),\n", Syntax, Pos::Some),
        case("sql eof inside row", "db.t.sql", b"INSERT INTO t VALUES (1,", Syntax, Pos::Some),
        case("sql two rows without comma", "db.t.sql", b"INSERT INTO t VALUES (1,'x') (2,'y');", Syntax, Pos::At(29, 1)),
        case("sql unknown word", "db.t.sql", b"INSERT INTO t VALUES (1,foo);", Syntax, Pos::At(24, 1)),
        case("sql convert without using", "db.t.sql", b"INSERT INTO t VALUES (1,CONVERT('x' AS utf8));", Syntax, Pos::Some),
        case("sql backquoted value", "db.t.sql", b"INSERT INTO t VALUES (1,`x`);", Syntax, Pos::At(24, 1)),
        case("sql string ending in backslash", "db.t.sql", b"INSERT INTO t VALUES (1,'x\\", Syntax, Pos::At(24, 1)),
        case("sql bad column list", "db.t.sql", b"INSERT INTO t (a b) VALUES (1,'x');", Syntax, Pos::At(17, 1)),
        // SQL data.
        case("sql values vs column list", "db.t.sql", b"INSERT INTO t (a,b) VALUES (1);", Data, Pos::At(27, 1)),
        case("sql values vs table", "db.t.sql", b"INSERT INTO t VALUES\n(1,'x'),\n(1,'x',3);", Data, Pos::At(30, 3)),
        Case { charset: SourceCharset::Utf8mb4, ..case("sql invalid utf8 string", "db.t.sql", b"INSERT INTO t VALUES (1,'\xc3');", Charset, Pos::At(24, 1)) },
        // Compression.
        case("truncated gzip", "db.t.sql.gz", &long_gz[..long_gz.len() / 2], Io, Pos::None),
        case("not gzip", "db.t.csv.gz", b"1,x\n", Io, Pos::None),
        case("truncated zstd", "db.t.csv.zst", &long_zst[..long_zst.len() / 2], Io, Pos::None),
        case("not snappy", "db.t.sql.snappy", b"x", Io, Pos::None),
        case("snappy without framing", "db.t.sql.snappy", &raw_snappy, Io, Pos::None),
        case("unknown compression", "db.t.sql.bak", b"x", Routing, Pos::None),
        // Schemas.
        schema_case("broken create table", "CREATE TABLE t (a INT, b VARCHAR(10);", Schema, Pos::At(36, 1)),
        schema_case("unknown type", "CREATE TABLE t (a INTEGRAL);", Schema, Pos::At(16, 1)),
        schema_case("invalid int default", "CREATE TABLE t (a INT DEFAULT 'x1', b INT);", Schema, Pos::At(30, 1)),
        schema_case("invalid decimal default", "CREATE TABLE t (a DECIMAL(5,2) DEFAULT 'abc', b INT);", Schema, Pos::At(39, 1)),
        schema_case("invalid date default", "CREATE TABLE t (\na DATE DEFAULT '2021-02-40', b INT);", Schema, Pos::At(32, 2)),
        schema_case("invalid datetime default", "CREATE TABLE t (a DATETIME DEFAULT '2021-01-01 25:00:00', b INT);", Schema, Pos::At(35, 1)),
        schema_case("generated column Squall cannot evaluate", "CREATE TABLE t (a INT, b INT AS (SHA1(a)));", Unsupported, Pos::At(23, 1)),
        schema_case("duplicate column", "CREATE TABLE t (a INT, A INT);", Schema, Pos::At(23, 1)),
        schema_case("key on missing column", "CREATE TABLE t (a INT, b INT, KEY k (c));", Schema, Pos::At(30, 1)),
        schema_case("two primary keys", "CREATE TABLE t (a INT PRIMARY KEY, b INT, PRIMARY KEY (b));", Schema, Pos::Some),
        schema_case("no create table", "SET NAMES binary;", Schema, Pos::At(0, 1)),
        schema_case("unterminated quote in schema", "CREATE TABLE t (a INT COMMENT 'x, b INT);", Syntax, Pos::At(30, 1)),
        schema_case("unknown charset", "CREATE TABLE t (a INT, b TEXT CHARSET klingon);", Schema, Pos::At(23, 1)),
        schema_case("auto_random on int", "CREATE TABLE t (a INT AUTO_RANDOM PRIMARY KEY, b INT);", Schema, Pos::At(16, 1)),
        with_config(schema_case("unknown character-set", SCHEMA, Routing, Pos::None), "[mydumper]\ncharacter-set = 'klingon'\n", ""),
        Case {
            files: vec![("db.t-schema.sql", b"CREATE TABLE t (`\xd6\xf7` INT, b INT);".to_vec()), ("db.t.sql", b"".to_vec())],
            ..with_config(schema_case("gb18030 schema read as utf8mb4", "", Charset, Pos::At(17, 1)), "[mydumper]\ncharacter-set = 'utf8mb4'\n", "db.t-schema.sql")
        },
        // Routing.
        Case {
            files: vec![("db.t.sql", b"INSERT INTO t VALUES (1,'x');".to_vec())],
            ..case("data without schema (unknown table)", "db.t.sql", b"", Routing, Pos::None)
        },
        with_config(
            case("routing rule to a table without schema", "x/data.sql", b"INSERT INTO t VALUES (1,'x');", Routing, Pos::None),
            "[mydumper]\n[[mydumper.files]]\npattern = '^x/(data)\\.sql$'\nschema = 'db'\ntable = 'nope'\ntype = 'sql'\n",
            "x/data.sql",
        ),
        with_config(
            case("bad routing regex", "db.t.sql", b"", Routing, Pos::None),
            "[[mydumper.files]]\npattern = '(unclosed'\nschema = 'db'\ntable = 't'\ntype = 'sql'\n",
            "",
        ),
        with_config(
            case("routing type from capture", "db.t.sql", b"", Routing, Pos::None),
            "[[mydumper.files]]\npattern = '^db\\.t\\.(sql)$'\nschema = 'db'\ntable = 't'\ntype = 'text'\n",
            "",
        ),
        with_config(
            case("routing gives empty table", "db.t.sql", b"", Routing, Pos::None),
            "[[mydumper.files]]\npattern = '^db\\.(t)\\.sql$'\nschema = 'db'\ntable = '$2'\ntype = 'sql'\n",
            "db.t.sql",
        ),
        case("not a parquet file", "db.t.parquet", b"PAR1", Syntax, Pos::None),
        case("parquet with an outer compression", "db.t.parquet.gz", b"x", Unsupported, Pos::None),
        with_config(case("malformed filter", "db.t.sql", b"", Routing, Pos::None), "[mydumper]\nfilter = ['db.[a']\n", ""),
        Case {
            files: vec![
                ("db.t-schema.sql", SCHEMA.as_bytes().to_vec()),
                ("sub/db.t-schema.sql", SCHEMA.as_bytes().to_vec()),
            ],
            ..case("two schema files for one table", "sub/db.t-schema.sql", b"", Routing, Pos::None)
        },
    ]
}

#[test]
fn every_malformed_input_fails_precisely() {
    let all = cases();
    assert!(all.len() >= 40, "{} cases", all.len());
    let mut failures = Vec::new();
    for c in all {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in &c.files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        }
        let mut cfg = TaskConfig::from_toml(c.config, std::path::Path::new("case.toml"))
            .expect("case config parses");
        cfg.mydumper.data_source_dir = dir.path().to_str().expect("utf8").to_string();
        let read = ReadOptions {
            data_charset: c.charset,
            max_row_bytes: if c.name == "csv row too long" {
                1000
            } else {
                c.max_row
            },
            ..ReadOptions::default()
        };
        let result = std::panic::catch_unwind(|| load_with(&cfg, &read));
        let err = match result {
            Err(_) => {
                failures.push(format!("{}: panicked", c.name));
                continue;
            }
            Ok(Ok(_)) => {
                failures.push(format!("{}: no error", c.name));
                continue;
            }
            Ok(Err(e)) => e,
        };
        let pos_ok = match c.pos {
            Pos::At(o, l) => err.pos.offset == Some(o) && err.pos.line == Some(l),
            Pos::Some => err.pos.offset.is_some() && err.pos.line.is_some(),
            Pos::None => true,
        };
        if err.kind != c.kind || err.pos.file != c.file || !pos_ok || err.reason.is_empty() {
            failures.push(format!(
                "{}: want {:?} in {:?} at {:?}, got {:?}: {err}",
                c.name, c.kind, c.file, c.pos, err.kind
            ));
        }
        if err.kind == ErrorKind::Data && err.is_fatal() {
            failures.push(format!("{}: data errors must be skippable", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
