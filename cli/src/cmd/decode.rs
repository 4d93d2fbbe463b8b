//! `squall decode <hex>`: print a raw TiDB key or value (record key, index
//! key, row v2 value, index value) in human-readable form — what operators
//! reach for when a conflict report shows raw bytes.

use std::process::ExitCode;

use anyhow::{bail, Context};
use squall_codec::key::decode_table_id;
use squall_common::schema::{DatabaseInfo, TableInfo};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bytes in hex (spaces, `0x` prefix and `\x` escapes are ignored).
    pub hex: String,
    /// A table schema to name columns and type row values: a
    /// `CREATE TABLE` SQL file, or a TableInfo as JSON.
    #[arg(long)]
    pub table_schema: Option<std::path::PathBuf>,
    /// The table's ID, when the bytes are a value (keys carry their own).
    #[arg(long)]
    pub table_id: Option<i64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let table = args.table_schema.as_deref().map(load_table).transpose()?;
    println!("{}", render(&args.hex, table, args.table_id)?);
    Ok(ExitCode::SUCCESS)
}

/// The text `squall decode` prints for `hex`, or why it cannot: not hex, or
/// bytes that are no key or value TiDB writes (with what each reading
/// stopped at). The decoders are total, so this never panics.
fn render(hex: &str, table: Option<TableInfo>, table_id: Option<i64>) -> anyhow::Result<String> {
    let bytes = parse_hex(hex)?;
    let table = table.map(|mut t| {
        if let Some(id) = table_id.or_else(|| decode_table_id(&bytes).ok()) {
            t.id = id;
        }
        t
    });
    Ok(squall_codec::try_describe(&bytes, table.as_ref())?)
}

fn parse_hex(s: &str) -> anyhow::Result<Vec<u8>> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let cleaned: String = t
        .replace("\\x", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if cleaned.is_empty() {
        bail!("no bytes given");
    }
    hex::decode(&cleaned).with_context(|| format!("`{s}` is not hex"))
}

fn load_table(path: &std::path::Path) -> anyhow::Result<TableInfo> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(&text)
            .with_context(|| format!("{}: not a TableInfo JSON", path.display()));
    }
    let db = DatabaseInfo {
        name: "db".into(),
        charset: None,
        collate: None,
    };
    let parsed = squall_source::schema_parse::parse_create_table(
        &text,
        &path.display().to_string(),
        &db,
        "t",
    )
    .with_context(|| format!("parsing {}", path.display()))?;
    Ok(parsed.info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use squall_common::schema::MysqlType;
    use squall_common::schema::{ColumnInfo, FieldType, HandleKind, IndexColumn, IndexInfo};

    #[test]
    fn hex_forms_are_accepted() {
        assert_eq!(parse_hex("0x7480").expect("hex"), vec![0x74, 0x80]);
        assert_eq!(parse_hex("74 80").expect("hex"), vec![0x74, 0x80]);
        assert_eq!(parse_hex("\\x74\\x80").expect("hex"), vec![0x74, 0x80]);
        assert!(parse_hex("zz").is_err());
        assert!(parse_hex("").is_err());
    }

    /// A schema whose offsets point nowhere, as a hand-written TableInfo
    /// JSON might: decoding with it must still not panic.
    fn odd_table() -> TableInfo {
        let mut a = ColumnInfo::new(1, "a", 7, FieldType::new(MysqlType::Json));
        a.field_type.decimal = 99;
        let b = ColumnInfo::new(2, "b", 0, FieldType::new(MysqlType::NewDecimal));
        TableInfo {
            id: 45,
            db: "db".into(),
            name: "t".into(),
            columns: vec![a, b],
            indices: vec![IndexInfo {
                id: 1,
                name: "i".into(),
                columns: vec![IndexColumn {
                    offset: 9,
                    name: "x".into(),
                    prefix_len: None,
                }],
                unique: true,
                primary: true,
            }],
            handle: HandleKind::IntPk,
            charset: None,
            collate: None,
            row_ids: Default::default(),
        }
    }

    #[test]
    fn hostile_inputs_print_a_result_or_an_error() {
        let hostile = [
            // Issue 20: version-1 index value whose tail overlaps the header.
            "017d01",
            "01 7d 01 31",
            "00 7d 01 7f ff ff",
            "00 7d 01 7e 80",
            "ff 00 00 00 00 00 00 00 00 00 00",
            // Row v2: offsets past the data, descending, huge counts.
            "80",
            "80 00 ff ff ff ff",
            "80 00 01 00 00 00 01 ff 00",
            "80 01 01 00 00 00 01 00 00 00 ff ff ff ff",
            "80 00 02 00 00 00 01 02 05 00 03 00 61 62 63 64 65",
            // Keys cut inside the table ID, the handle, a datum.
            "74",
            "74 80 00 00 00 00 00 00 2d 5f 72 80 00",
            "74 80 00 00 00 00 00 00 2d 5f 69 80 00 00 00 00 00 00 01 06 ff 00",
            "74 80 00 00 00 00 00 00 2d 5f 69 80 00 00 00 00 00 00 01 02 ff ff ff ff 0f",
            "7a 74 80 00 00 00 00 00 00 2d 5f 69",
            // A JSON row value whose container points at itself.
            "80 00 01 00 00 00 01 0e 00 03 01 00 00 00 0d 00 00 00 03 00 00 00 00",
            "00",
            "30",
        ];
        for input in hostile {
            for table in [None, Some(odd_table())] {
                match render(input, table, None) {
                    Ok(text) => assert!(!text.is_empty(), "{input}: empty output"),
                    Err(e) => assert!(!format!("{e:#}").is_empty(), "{input}: empty error"),
                }
            }
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = render("017d01", None, None).expect_err("not a valid value");
        let msg = format!("{err:#}");
        assert!(
            msg.contains("unrecognised 3 bytes 017d01") && msg.contains("version header"),
            "{msg}"
        );
        let err = render("0x7", None, None).expect_err("odd digits");
        assert!(format!("{err:#}").contains("is not hex"), "{err:#}");
        let err = render("  ", None, None).expect_err("nothing");
        assert!(format!("{err:#}").contains("no bytes"), "{err:#}");
        let ok = render(
            "74 80 00 00 00 00 00 00 2D 5F 72 80 00 00 00 00 00 00 01",
            None,
            None,
        )
        .expect("a record key");
        assert_eq!(ok, "record key: table 45, handle 1");
    }
}
