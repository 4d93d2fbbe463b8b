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
    let bytes = parse_hex(&args.hex)?;
    let text = match &args.table_schema {
        None => squall_codec::describe(&bytes),
        Some(path) => {
            let mut table = load_table(path)?;
            if let Some(id) = args.table_id.or_else(|| decode_table_id(&bytes).ok()) {
                table.id = id;
            }
            squall_codec::describe_with_table(&bytes, &table)
        }
    };
    println!("{text}");
    Ok(ExitCode::SUCCESS)
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

    #[test]
    fn hex_forms_are_accepted() {
        assert_eq!(parse_hex("0x7480").expect("hex"), vec![0x74, 0x80]);
        assert_eq!(parse_hex("74 80").expect("hex"), vec![0x74, 0x80]);
        assert_eq!(parse_hex("\\x74\\x80").expect("hex"), vec![0x74, 0x80]);
        assert!(parse_hex("zz").is_err());
        assert!(parse_hex("").is_err());
    }
}
