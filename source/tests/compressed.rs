//! Compressed data files read end to end (discover, chunk, read): gzip,
//! zstd and snappy. The snappy files are framed by hand here from the
//! framing format's description (stream identifier, an uncompressed chunk,
//! a compressed chunk of snappy literals, masked CRC-32C), so the reader is
//! checked against the format rather than against its own encoder.

mod common;

use std::io::Write;
use std::path::Path;

use common::{config, load, text};

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn masked_crc(data: &[u8]) -> [u8; 4] {
    let c = crc32c(data);
    (c.rotate_right(15).wrapping_add(0xA282_EAD8)).to_le_bytes()
}

fn chunk(kind: u8, uncompressed: &[u8], payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len() + 4).expect("small");
    let mut out = vec![kind];
    out.extend_from_slice(&len.to_le_bytes()[..3]);
    out.extend_from_slice(&masked_crc(uncompressed));
    out.extend_from_slice(payload);
    out
}

/// Snappy's raw format for `data` as literals only (valid, just not smaller).
fn snappy_literals(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut n = data.len();
    loop {
        let byte = (n & 0x7F) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    for piece in data.chunks(256) {
        let len = piece.len() - 1;
        if len < 60 {
            out.push((len as u8) << 2);
        } else {
            out.push(60 << 2);
            out.push(len as u8);
        }
        out.extend_from_slice(piece);
    }
    out
}

/// A framed snappy file: the first half stored, the second compressed.
fn snappy_framed(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, 0x06, 0x00, 0x00, b's', b'N', b'a', b'P', b'p', b'Y'];
    let (a, b) = data.split_at(data.len() / 2);
    out.extend(chunk(0x01, a, a));
    out.extend(chunk(0x00, b, &snappy_literals(b)));
    out
}

fn rows_text(n: std::ops::Range<u32>) -> String {
    n.map(|i| format!("{i},\"name {i} with, a comma\"\n"))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write");
}

#[test]
fn gzip_zstd_and_snappy_files_read_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(d, "cs-schema-create.sql", b"CREATE DATABASE cs;");
    write(
        d,
        "cs.t-schema.sql",
        b"CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(64));",
    );
    let header = "id,name\n";
    let plain = |r| format!("{header}{}", rows_text(r));

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(plain(0..100).as_bytes()).expect("gzip");
    write(d, "cs.t.000000001.csv.gz", &gz.finish().expect("gzip"));
    let zst = zstd::encode_all(plain(100..200).as_bytes(), 3).expect("zstd");
    write(d, "cs.t.000000002.csv.zst", &zst);
    write(
        d,
        "cs.t.000000003.csv.snappy",
        &snappy_framed(plain(200..300).as_bytes()),
    );
    let sql = "INSERT INTO t VALUES (300,'sql, snappy'),(301,'x');\n";
    write(
        d,
        "cs.t.000000004.sql.snappy",
        &snappy_framed(sql.as_bytes()),
    );

    let cfg = config(None, d);
    let loaded = load(&cfg).expect("loads");
    let rows = loaded.rows("cs.t");
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|(r, _)| (text(r, 0).expect("id"), text(r, 1).expect("name")))
        .collect();
    let mut want: Vec<(String, String)> = (0..300)
        .map(|i| (i.to_string(), format!("name {i} with, a comma")))
        .collect();
    want.push(("300".into(), "sql, snappy".into()));
    want.push(("301".into(), "x".into()));
    assert_eq!(got, want);
    // A compressed file is one chunk, whatever its size.
    assert_eq!(loaded.chunks["cs.t"].len(), 4);
}

#[test]
fn a_corrupt_snappy_frame_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(d, "cs-schema-create.sql", b"CREATE DATABASE cs;");
    write(
        d,
        "cs.t-schema.sql",
        b"CREATE TABLE t (id INT PRIMARY KEY);",
    );
    let mut framed = snappy_framed(b"id\n1\n2\n3\n");
    let last = framed.len() - 1;
    framed[last] ^= 0xFF; // breaks the checksum of the last chunk
    write(d, "cs.t.000000001.csv.snappy", &framed);
    let cfg = config(None, d);
    let err = match load(&cfg) {
        Ok(_) => panic!("a corrupt snappy file must not load"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("cs.t.000000001.csv.snappy"), "{err}");
}
