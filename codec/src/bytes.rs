//! Memcomparable and compact byte strings (`bytes.go`).
//!
//! `EncodeBytes` cuts the data into groups of 8, pads the last group with zeros
//! and follows every group with a marker telling how many of its bytes are
//! data. The encoding preserves byte order and is self-delimiting, which is
//! why keys use it for variable-length values.

use crate::error::{take, CodecError};
use crate::number::{decode_varint, encode_varint};

const GROUP: usize = 8;
const MARKER: u8 = 0xFF;
const PAD: u8 = 0x00;

/// Length of `encode_bytes(data)`.
pub fn encoded_bytes_len(data_len: usize) -> usize {
    (data_len / GROUP + 1) * (GROUP + 1)
}

/// `EncodeBytes` (ascending).
pub fn encode_bytes(buf: &mut Vec<u8>, data: &[u8]) {
    buf.reserve(encoded_bytes_len(data.len()));
    let mut chunks = data.chunks_exact(GROUP);
    for group in &mut chunks {
        buf.extend_from_slice(group);
        buf.push(MARKER);
    }
    let rest = chunks.remainder();
    buf.extend_from_slice(rest);
    buf.extend(std::iter::repeat_n(PAD, GROUP - rest.len()));
    buf.push(MARKER - (GROUP - rest.len()) as u8);
}

/// `EncodeBytesDesc`: [`encode_bytes`] with every output byte inverted.
pub fn encode_bytes_desc(buf: &mut Vec<u8>, data: &[u8]) {
    let start = buf.len();
    encode_bytes(buf, data);
    for b in &mut buf[start..] {
        *b = !*b;
    }
}

/// `DecodeBytes`, with TiDB's rejections of bad markers, bad padding and
/// truncated groups. Advances `buf` past the encoded value.
pub fn decode_bytes(buf: &mut &[u8]) -> Result<Vec<u8>, CodecError> {
    decode_groups(buf, false)
}

pub fn decode_bytes_desc(buf: &mut &[u8]) -> Result<Vec<u8>, CodecError> {
    decode_groups(buf, true)
}

fn decode_groups(buf: &mut &[u8], desc: bool) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(buf.len() / (GROUP + 1) * GROUP);
    let mut consumed = 0usize;
    loop {
        let g = take(buf, GROUP + 1, "memcomparable bytes group")?;
        consumed += GROUP + 1;
        let (group, marker) = (&g[..GROUP], g[GROUP]);
        let pad_count = usize::from(if desc { marker } else { MARKER - marker });
        if pad_count > GROUP {
            return Err(CodecError::InvalidMarker {
                marker,
                offset: consumed,
            });
        }
        let real = GROUP - pad_count;
        let pad = if desc { !PAD } else { PAD };
        if group[real..].iter().any(|&b| b != pad) {
            return Err(CodecError::InvalidPadding { offset: consumed });
        }
        if desc {
            out.extend(group[..real].iter().map(|b| !b));
        } else {
            out.extend_from_slice(&group[..real]);
        }
        if pad_count != 0 {
            return Ok(out);
        }
    }
}

/// `EncodeCompactBytes`: zig-zag varint length, then the raw bytes.
pub fn encode_compact_bytes(buf: &mut Vec<u8>, data: &[u8]) {
    encode_varint(buf, data.len() as i64);
    buf.extend_from_slice(data);
}

pub fn decode_compact_bytes(buf: &mut &[u8]) -> Result<Vec<u8>, CodecError> {
    let n = decode_varint(buf)?;
    let n = usize::try_from(n)
        .map_err(|_| CodecError::invalid("compact bytes", format!("negative length {n}")))?;
    Ok(take(buf, n, "compact bytes")?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
            .collect()
    }

    #[test]
    fn golden_tidb_bytes_codec() {
        // Spec §2.1 (TiDB TestBytesCodec) and §3.3.
        let cases: &[(&[u8], &str, &str)] = &[
            (
                &[],
                "00 00 00 00 00 00 00 00 F7",
                "FF FF FF FF FF FF FF FF 08",
            ),
            (
                &[0],
                "00 00 00 00 00 00 00 00 F8",
                "FF FF FF FF FF FF FF FF 07",
            ),
            (
                &[1, 2, 3],
                "01 02 03 00 00 00 00 00 FA",
                "FE FD FC FF FF FF FF FF 05",
            ),
            (
                &[1, 2, 3, 0],
                "01 02 03 00 00 00 00 00 FB",
                "FE FD FC FF FF FF FF FF 04",
            ),
            (
                &[1, 2, 3, 4, 5, 6, 7],
                "01 02 03 04 05 06 07 00 FE",
                "FE FD FC FB FA F9 F8 FF 01",
            ),
            (
                &[0; 8],
                "00 00 00 00 00 00 00 00 FF 00 00 00 00 00 00 00 00 F7",
                "FF FF FF FF FF FF FF FF 00 FF FF FF FF FF FF FF FF 08",
            ),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8],
                "01 02 03 04 05 06 07 08 FF 00 00 00 00 00 00 00 00 F7",
                "FE FD FC FB FA F9 F8 F7 00 FF FF FF FF FF FF FF FF 08",
            ),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8, 9],
                "01 02 03 04 05 06 07 08 FF 09 00 00 00 00 00 00 00 F8",
                "FE FD FC FB FA F9 F8 F7 00 F6 FF FF FF FF FF FF FF 07",
            ),
            (b"a", "61 00 00 00 00 00 00 00 F8", ""),
            (
                b"12345678",
                "31 32 33 34 35 36 37 38 FF 00 00 00 00 00 00 00 00 F7",
                "",
            ),
            (
                b"123456789",
                "31 32 33 34 35 36 37 38 FF 39 00 00 00 00 00 00 00 F8",
                "",
            ),
        ];
        for (input, asc, desc) in cases {
            let mut got = Vec::new();
            encode_bytes(&mut got, input);
            assert_eq!(got, hex(asc), "asc {input:?}");
            assert_eq!(got.len(), encoded_bytes_len(input.len()));
            let mut rest = got.as_slice();
            assert_eq!(decode_bytes(&mut rest).expect("decodes"), *input);
            assert!(rest.is_empty());
            if !desc.is_empty() {
                let mut got = Vec::new();
                encode_bytes_desc(&mut got, input);
                assert_eq!(got, hex(desc), "desc {input:?}");
                assert_eq!(
                    decode_bytes_desc(&mut got.as_slice()).expect("decodes"),
                    *input
                );
            }
        }
    }

    #[test]
    fn golden_tidb_rejections() {
        // Spec §2.1: inputs DecodeBytes must reject.
        let bad = [
            "01 02 03 04",
            "00 00 00 00 00 00 00 F7",
            "00 00 00 00 00 00 00 00 F6",
            "00 00 00 00 00 00 00 01 F7",
            "01 02 03 04 05 06 07 08 00",
            "01 02 03 04 05 06 07 08 FF 01",
            "01 02 03 04 05 06 07 08 FF 01 02 03 04 05 06 07 08",
            "01 02 03 04 05 06 07 08 FF 01 02 03 04 05 06 07 08 FF",
            "01 02 03 04 05 06 07 08 FF 01 02 03 04 05 06 07 08 00",
        ];
        for b in bad {
            let bytes = hex(b);
            assert!(
                decode_bytes(&mut bytes.as_slice()).is_err(),
                "{b} must be rejected"
            );
        }
    }

    #[test]
    fn golden_compact_bytes() {
        // Spec §3.3: "abc" as a value datum body is `06 61 62 63` after the 02 flag.
        let mut got = Vec::new();
        encode_compact_bytes(&mut got, b"abc");
        assert_eq!(got, hex("06 61 62 63"));
        assert_eq!(
            decode_compact_bytes(&mut got.as_slice()).expect("decodes"),
            b"abc"
        );
        assert!(decode_compact_bytes(&mut &[0x08u8, 1][..]).is_err());
    }
}
