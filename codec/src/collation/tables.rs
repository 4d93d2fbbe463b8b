//! The committed weight tables (`data/*.bin`, written by
//! `scripts/gen-collation-tables.py`) and their decoding.
//!
//! Both formats are a fixed header followed by a zlib stream:
//! * UCA: `SQUCA\0\0\x01`, then big-endian u32 version (400 or 900), u32
//!   table length, u32 entry count and u64 FNV-1a digest of the whole
//!   effective table; the stream holds, per stored code point, the LEB128 gap
//!   since the previous one, a weight count and that many big-endian u16
//!   primary weights. Code points not stored take the implicit weight.
//! * GBK: `SQGBK\0\0\x01`, u64 FNV-1a digest of the stream's bytes; the stream
//!   is 65 536 big-endian u16 GBK codes (`gbk_bin`) then 65 536 u16
//!   `gbk_chinese_ci` weights, one per BMP code point.
//!
//! The bytes are compiled in, so a failure to decode them is a build defect,
//! not bad input: the loaders panic with the reason (and the unit tests load
//! every table, so such a build never passes CI).

use std::io::Read;

pub(crate) const UCA_0400: &[u8] = include_bytes!("data/uca0400.bin");
pub(crate) const UCA_0900: &[u8] = include_bytes!("data/uca0900.bin");
pub(crate) const GBK: &[u8] = include_bytes!("data/gbk.bin");

const UCA_MAGIC: &[u8; 8] = b"SQUCA\x00\x00\x01";
const GBK_MAGIC: &[u8; 8] = b"SQGBK\x00\x00\x01";

/// A decoded UCA table: the weights stored for listed code points.
pub(crate) struct UcaEntries {
    pub version: u32,
    pub length: u32,
    /// `(code point, primary weights)` in code point order.
    pub entries: Vec<(u32, Vec<u16>)>,
}

/// The FNV-1a 64 hash the generator uses for its digests.
pub(crate) fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

pub(crate) const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;

fn inflate(what: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if let Err(e) = flate2::read::ZlibDecoder::new(bytes).read_to_end(&mut out) {
        panic!("collation table {what} is corrupt ({e}); regenerate it with scripts/gen-collation-tables.py");
    }
    out
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

pub(crate) fn decode_uca(what: &str, blob: &[u8]) -> UcaEntries {
    let bad = |why: &str| -> ! {
        panic!("collation table {what}: {why}; regenerate it with scripts/gen-collation-tables.py")
    };
    if blob.len() < 28 || &blob[..8] != UCA_MAGIC {
        bad("bad header");
    }
    let (version, length, count) = (be_u32(blob, 8), be_u32(blob, 12), be_u32(blob, 16));
    let body = inflate(what, &blob[28..]);
    let mut entries = Vec::with_capacity(count as usize);
    let mut at = 0usize;
    let mut prev: i64 = -1;
    while at < body.len() {
        let mut gap: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = body.get(at) else {
                bad("truncated gap")
            };
            at += 1;
            gap |= u64::from(b & 0x7F) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let cp = prev + 1 + gap as i64;
        prev = cp;
        let Some(&n) = body.get(at) else {
            bad("truncated count")
        };
        at += 1;
        let Some(ws) = body.get(at..at + 2 * usize::from(n)) else {
            bad("truncated weights")
        };
        at += ws.len();
        let ws = ws
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        entries.push((cp as u32, ws));
    }
    if entries.len() != count as usize || prev >= i64::from(length) {
        bad("entry count or range does not match the header");
    }
    UcaEntries {
        version,
        length,
        entries,
    }
}

/// `(gbk_bin codes, gbk_chinese_ci weights)`, one per BMP code point.
pub(crate) fn decode_gbk() -> (Vec<u16>, Vec<u16>) {
    let what = "gbk.bin";
    if GBK.len() < 16 || &GBK[..8] != GBK_MAGIC {
        panic!("collation table {what}: bad header; regenerate it with scripts/gen-collation-tables.py");
    }
    let digest = be_u64(GBK, 8);
    let body = inflate(what, &GBK[16..]);
    if body.len() != 4 * 0x10000 || fnv1a(FNV_OFFSET, &body) != digest {
        panic!("collation table {what}: wrong size or digest; regenerate it with scripts/gen-collation-tables.py");
    }
    let words: Vec<u16> = body
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let (codes, ci) = words.split_at(0x10000);
    (codes.to_vec(), ci.to_vec())
}
