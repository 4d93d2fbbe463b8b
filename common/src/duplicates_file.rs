//! The local-duplicates file: one JSON line per extra copy of a key inside
//! one engine, `<output>/duplicates/t<table>-e<engine>.jsonl`. The worker
//! writes it after ingest (it walks the engine, where every copy of a key is
//! kept, smallest row tag first); the coordinator reads it to resolve
//! conflicts. This is the one definition of the format, used by both sides;
//! `tests/duplicates_line.golden.jsonl` pins it.
//!
//! Every line names both rows of the pair *with their source positions*: the
//! copy that was ingested (`kept`, with its value, so resolution knows the
//! row without reading TiKV) and the copy that was not (`duplicate`). A key
//! with n copies has n - 1 lines, all with the same `kept`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where a source row starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowPosition {
    /// Path relative to the job's source directory.
    pub file: String,
    /// Byte offset of the row's first byte in the (decompressed) file.
    pub offset: u64,
}

/// One line: a copy of `key` that was not ingested, and the one that was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateRecord {
    /// `db.table`, for people reading the file.
    pub table: String,
    /// `record`, or `index <id>` for an index key.
    pub kind: String,
    #[serde(with = "hex_bytes")]
    pub key: Vec<u8>,
    /// The value of the copy that was not ingested.
    #[serde(with = "hex_bytes")]
    pub value: Vec<u8>,
    /// The ingested copy (the key's first row in source order).
    pub kept: RowPosition,
    /// The ingested copy's value.
    #[serde(with = "hex_bytes")]
    pub kept_value: Vec<u8>,
    pub duplicate: RowPosition,
}

impl DuplicateRecord {
    /// The `kind` of a record key (`None`) or an index key.
    pub fn kind_of(index_id: Option<i64>) -> String {
        index_id.map_or_else(|| "record".to_string(), |id| format!("index {id}"))
    }

    /// One line of the file, without the newline.
    pub fn to_line(&self) -> String {
        // Only strings and integers: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn parse_line(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }
}

/// The file of one engine.
pub fn duplicates_path(output_dir: &Path, table_id: i64, engine_id: u32) -> PathBuf {
    output_dir
        .join("duplicates")
        .join(format!("t{table_id}-e{engine_id}.jsonl"))
}

/// Byte strings as lowercase hex (the file is read by people too).
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let text: String = bytes
            .iter()
            .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
            .map(char::from)
            .collect();
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).ok_or_else(|| serde::de::Error::custom(format!("not hex: {text:?}")))
    }

    fn decode(text: &str) -> Option<Vec<u8>> {
        let digits = text.as_bytes();
        if !digits.len().is_multiple_of(2) {
            return None;
        }
        let nibble = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
        digits
            .chunks(2)
            .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = include_str!("../tests/duplicates_line.golden.jsonl");

    fn sample() -> DuplicateRecord {
        DuplicateRecord {
            table: "dup.ta".into(),
            kind: DuplicateRecord::kind_of(Some(1)),
            key: vec![0x74, 0x80, 0x00, 0xff],
            value: vec![0x00, 0x7d, 0x01],
            kept: RowPosition {
                file: "dup.ta.0.sql".into(),
                offset: 27,
            },
            kept_value: vec![0x00, 0x7d, 0x02],
            duplicate: RowPosition {
                file: "dup.ta.1.sql".into(),
                offset: 4096,
            },
        }
    }

    #[test]
    fn golden_line_round_trips() {
        let golden = GOLDEN.trim_end();
        assert_eq!(sample().to_line(), golden, "the writer's bytes");
        let back = DuplicateRecord::parse_line(golden).expect("the golden line parses");
        assert_eq!(back, sample());
        assert_eq!(back.to_line(), golden);
    }

    #[test]
    fn rejects_what_the_writer_never_writes() {
        let golden = GOLDEN.trim_end();
        let missing = golden.replace(r#""kept_value":"007d02","#, "");
        assert!(
            DuplicateRecord::parse_line(&missing).is_err(),
            "kept_value is required"
        );
        let odd = golden.replace(r#""key":"748000ff""#, r#""key":"748""#);
        assert!(DuplicateRecord::parse_line(&odd).is_err());
        let bad = golden.replace(r#""key":"748000ff""#, r#""key":"zz""#);
        assert!(DuplicateRecord::parse_line(&bad).is_err());
        let extra = format!("{},\"more\":1}}", &golden[..golden.len() - 1]);
        assert!(DuplicateRecord::parse_line(&extra).is_err());
    }

    #[test]
    fn paths_and_kinds() {
        assert_eq!(
            duplicates_path(Path::new("/o"), 7, 3),
            PathBuf::from("/o/duplicates/t7-e3.jsonl")
        );
        assert_eq!(DuplicateRecord::kind_of(None), "record");
        assert_eq!(DuplicateRecord::kind_of(Some(2)), "index 2");
    }
}
