//! `mydumper.data-character-set`: GBK, GB18030 and latin1 CSV files are
//! converted to UTF-8 before they are parsed, imported into tikv-sim and read
//! back exactly; invalid bytes are replaced with
//! `data-invalid-char-replace`, or, when it is "", stop the import with an
//! error naming the file, the byte offset and the bytes.
//!
//! The encoded bytes below come from Python's codecs (`'中文'.encode('gbk')`),
//! not from the decoder under test, and latin1's 0x80–0x9F from MySQL's
//! latin1 table (code page 1252, its five holes mapped to C1 controls).
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::Path;

use import_common::{config, export_rows, import, val};
use squall_common::config::DataCharset;
use squall_common::TaskConfig;
use squall_tests::sim::start_sim;

const SCHEMA: &str = "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(255) NOT NULL);";

/// Writes database `cs`, table `t` and `cs.t.csv` with `data` (a header line first).
fn write_dump(dir: &Path, data: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("cs-schema-create.sql"), "CREATE DATABASE cs;").unwrap();
    std::fs::write(dir.join("cs.t-schema.sql"), SCHEMA).unwrap();
    let mut csv = b"id,name\n".to_vec();
    csv.extend_from_slice(data);
    std::fs::write(dir.join("cs.t.csv"), csv).unwrap();
}

fn cfg_with(work: &Path, charset: DataCharset, replace: &str) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.mydumper.data_character_set = charset;
    cfg.mydumper.data_invalid_char_replace = replace.into();
    cfg
}

/// Imports `data` under `cfg` and returns (id, name) as TiKV holds them.
async fn import_and_read(work: &Path, data: &[u8], cfg: TaskConfig) -> Vec<(String, String)> {
    let src = work.join("dump");
    write_dump(&src, data);
    let sim = start_sim(&work.join("sim")).await;
    let summary = import(&sim, &src, cfg.clone(), work)
        .await
        .unwrap_or_else(|e| panic!("import failed: {e}"));
    assert!(summary.verified, "{summary}");
    let mut rows: Vec<(String, String)> = export_rows(&sim, &src, &cfg, "cs.t")
        .await
        .iter()
        .map(|r| (val(r, "id").to_string(), val(r, "name").to_string()))
        .collect();
    rows.sort_by_key(|r| r.0.parse::<i64>().unwrap());
    sim.shutdown().await;
    rows
}

fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// GBK, including 昞 (0x95 0x5C: its second byte is a backslash) at the end
/// of a quoted field, where a byte-level parser would see an escaped quote,
/// and an invalid byte (0x81 before a space) replaced with U+FFFD.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gbk_csv_imports_exactly() {
    let work = tempfile::tempdir().unwrap();
    let mut data = Vec::new();
    data.extend_from_slice(b"1,\xd6\xd0\xce\xc4\n"); // 中文
    data.extend_from_slice(b"2,\"\xb1\xed\xb8\xf1\x95\x5c\"\n"); // "表格昞"
                                                                 // 0x81 starts a pair but 0x20 cannot end one: 0x81 alone is replaced
                                                                 // and the space is read again as itself (the WHATWG rule).
    data.extend_from_slice(b"3,a\x81\x20b\n");
    let cfg = cfg_with(work.path(), DataCharset::Gbk, "\u{FFFD}");
    let rows = import_and_read(work.path(), &data, cfg).await;
    assert_eq!(
        rows,
        pairs(&[("1", "中文"), ("2", "表格昞"), ("3", "a\u{FFFD} b")])
    );
}

/// Without a replacement, an invalid byte stops the import and the error
/// says where: the file, its byte offset in the file as stored, the bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invalid_gbk_without_replacement_is_an_error_naming_file_offset_and_bytes() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("dump");
    // The header is 8 bytes, "1,ok\n" 5 more, "2,a" 3 more: 0x81 is at byte 16.
    write_dump(&src, b"1,ok\n2,a\x81\x20b\n");
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = cfg_with(work.path(), DataCharset::Gbk, "");
    let err = import(&sim, &src, cfg, work.path())
        .await
        .expect_err("invalid GBK must stop the import")
        .to_string();
    for needle in ["cs.t.csv", "byte 16", "bytes 0x81 are not valid gbk"] {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
    sim.shutdown().await;
}

/// GB18030 with 4-byte sequences (𠀀 U+20000, 😀 U+1F600).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gb18030_four_byte_characters_import_exactly() {
    let work = tempfile::tempdir().unwrap();
    let mut data = Vec::new();
    data.extend_from_slice(b"1,\x95\x32\x82\x36\n"); // 𠀀
    data.extend_from_slice(b"2,\"x\x94\x39\xfc\x36,y\"\n"); // "x😀,y"
    data.extend_from_slice(b"3,\xd6\xd0\n"); // 中
    let cfg = cfg_with(work.path(), DataCharset::Gb18030, "");
    let rows = import_and_read(work.path(), &data, cfg).await;
    assert_eq!(
        rows,
        pairs(&[("1", "\u{20000}"), ("2", "x\u{1F600},y"), ("3", "中")])
    );
}

/// MySQL's latin1 (code page 1252) 0x80–0x9F; 0x81, 0x8D, 0x8F, 0x90 and
/// 0x9D are C1 controls. 0xA0–0xFF are U+00A0–U+00FF.
const LATIN1_80_9F: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

/// Every byte 0x80–0xFF in latin1.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn latin1_high_bytes_import_exactly() {
    let work = tempfile::tempdir().unwrap();
    let mut data = b"1,".to_vec();
    data.extend(0x80u8..=0xFF);
    data.extend_from_slice(b"\n2,\"caf\xe9, cr\xe8me\"\n");
    let expected: String = LATIN1_80_9F
        .iter()
        .copied()
        .chain((0xA0u32..=0xFF).filter_map(char::from_u32))
        .collect();
    let cfg = cfg_with(work.path(), DataCharset::Latin1, "");
    let rows = import_and_read(work.path(), &data, cfg).await;
    assert_eq!(
        rows,
        vec![
            ("1".to_string(), expected),
            ("2".to_string(), "café, crème".to_string())
        ]
    );
}
