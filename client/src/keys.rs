//! The one place where raw keys and PD/TiKV region keys meet.
//!
//! Engines, `Write` pairs, `SplitRegion` and KV reads use **raw** keys. PD region
//! boundaries, `GetRegion`/`ScanRegions` arguments and `SSTMeta` ranges are
//! **memcomparable-encoded** (TiDB's `codec.EncodeBytes`): the key is cut into
//! groups of 8 bytes, the last one zero-padded, and each group is followed by a
//! marker byte `0xFF - pad`. The encoding preserves order, so a raw key and a
//! decoded region boundary compare exactly as their encoded forms do.

use std::fmt;

/// Bytes per group of the memcomparable encoding.
const GROUP: usize = 8;
/// Marker of a full group (no padding).
const MARKER: u8 = 0xFF;

/// Why a region key could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyDecodeError {
    #[error("encoded key ends inside a group at byte {offset}")]
    Truncated { offset: usize },
    #[error("invalid group marker {marker:#04x} at byte {offset}")]
    BadMarker { offset: usize, marker: u8 },
    #[error("non-zero padding in the group at byte {offset}")]
    BadPadding { offset: usize },
}

/// Memcomparable `EncodeBytes` of a raw key.
pub fn encode_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity((raw.len() / GROUP + 1) * (GROUP + 1));
    let mut chunks = raw.chunks_exact(GROUP);
    for chunk in &mut chunks {
        out.extend_from_slice(chunk);
        out.push(MARKER);
    }
    // The tail group always exists (an empty key encodes to one padded group),
    // which is what makes the encoding prefix-free.
    let tail = chunks.remainder();
    let pad = GROUP - tail.len();
    out.extend_from_slice(tail);
    out.extend(std::iter::repeat_n(0u8, pad));
    out.push(MARKER - pad as u8);
    out
}

/// Decodes one memcomparable-encoded key from the front of `encoded`; returns
/// the raw key and the bytes that follow it (TiKV may append a timestamp).
pub fn decode_bytes(encoded: &[u8]) -> Result<(Vec<u8>, &[u8]), KeyDecodeError> {
    let mut out = Vec::with_capacity(encoded.len() / (GROUP + 1) * GROUP);
    let mut offset = 0;
    loop {
        let group = encoded
            .get(offset..offset + GROUP + 1)
            .ok_or(KeyDecodeError::Truncated { offset })?;
        let marker = group[GROUP];
        let pad = usize::from(MARKER - marker);
        if pad > GROUP {
            return Err(KeyDecodeError::BadMarker { offset, marker });
        }
        let (data, padding) = group[..GROUP].split_at(GROUP - pad);
        out.extend_from_slice(data);
        offset += GROUP + 1;
        if pad == 0 {
            continue;
        }
        if padding.iter().any(|&b| b != 0) {
            return Err(KeyDecodeError::BadPadding {
                offset: offset - GROUP - 1,
            });
        }
        return Ok((out, &encoded[offset..]));
    }
}

/// Encodes a raw range bound for PD, keeping the empty key as "unbounded".
pub fn encode_bound(raw: &[u8]) -> Vec<u8> {
    if raw.is_empty() {
        Vec::new()
    } else {
        encode_bytes(raw)
    }
}

/// Decodes a PD/TiKV region boundary; the empty key (−∞ or +∞) stays empty.
pub fn decode_region_key(encoded: &[u8]) -> Result<Vec<u8>, KeyDecodeError> {
    if encoded.is_empty() {
        return Ok(Vec::new());
    }
    // A boundary normally decodes exactly; bytes after the key (a timestamp a
    // split checker forgot to truncate) do not move it in raw order by more than
    // the key itself, which is the convention Lightning and BR use too.
    decode_bytes(encoded).map(|(raw, _rest)| raw)
}

/// The `SSTMeta.range` of an SST holding raw keys `first..=last`: encoded, as
/// TiKV compares it with the (encoded) region bounds when it ingests, and
/// inclusive of `last`, as Lightning sends it.
pub fn sst_range(first: &[u8], last: &[u8]) -> squall_proto::import_sstpb::Range {
    squall_proto::import_sstpb::Range {
        start: encode_bytes(first),
        end: encode_bytes(last),
    }
}

/// The smallest raw key greater than `key`.
pub fn next_key(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

/// True when `key` lies in `[start, end)`, an empty `end` meaning +∞.
pub fn in_range(key: &[u8], start: &[u8], end: &[u8]) -> bool {
    key >= start && (end.is_empty() || key < end)
}

/// `a < b` for range ends, where the empty key means +∞.
pub fn end_before(a: &[u8], b: &[u8]) -> bool {
    !a.is_empty() && (b.is_empty() || a < b)
}

/// The smaller of two range ends (empty = +∞).
pub fn min_end<'a>(a: &'a [u8], b: &'a [u8]) -> &'a [u8] {
    if end_before(b, a) {
        b
    } else {
        a
    }
}

/// Formats keys as hex in logs and errors.
pub struct HexKey<'a>(pub &'a [u8]);

impl fmt::Display for HexKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("\"\"");
        }
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_tidb() {
        // Vectors from TiDB's codec tests (util/codec/bytes_test.go).
        let cases: &[(&[u8], &[u8])] = &[
            (b"", &[0, 0, 0, 0, 0, 0, 0, 0, 0xf7]),
            (&[1, 2, 3], &[1, 2, 3, 0, 0, 0, 0, 0, 0xfa]),
            (&[1, 2, 3, 0], &[1, 2, 3, 0, 0, 0, 0, 0, 0xfb]),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8],
                &[1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0xf7],
            ),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8, 9],
                &[1, 2, 3, 4, 5, 6, 7, 8, 0xff, 9, 0, 0, 0, 0, 0, 0, 0, 0xf8],
            ),
        ];
        for (raw, enc) in cases {
            assert_eq!(encode_bytes(raw), *enc, "encode {raw:?}");
            let (dec, rest) = decode_bytes(enc).expect("valid encoding");
            assert_eq!(dec, *raw);
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn decode_returns_suffix_and_rejects_garbage() {
        let mut enc = encode_bytes(b"abc");
        enc.extend_from_slice(&[9, 9]);
        let (dec, rest) = decode_bytes(&enc).expect("valid prefix");
        assert_eq!(dec, b"abc");
        assert_eq!(rest, &[9, 9]);
        assert_eq!(
            decode_bytes(&[1, 2, 3]),
            Err(KeyDecodeError::Truncated { offset: 0 })
        );
        let bad_marker = [0u8, 0, 0, 0, 0, 0, 0, 0, 0x10];
        assert!(matches!(
            decode_bytes(&bad_marker),
            Err(KeyDecodeError::BadMarker { .. })
        ));
        let bad_pad = [1u8, 2, 3, 0, 0, 0, 7, 0, 0xfa];
        assert!(matches!(
            decode_bytes(&bad_pad),
            Err(KeyDecodeError::BadPadding { .. })
        ));
    }

    #[test]
    fn encoding_preserves_order() {
        let mut keys: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            vec![1, 2, 3, 4, 5, 6, 7, 8],
            vec![1, 2, 3, 4, 5, 6, 7, 8, 0],
            vec![1, 2, 3, 4, 5, 6, 7, 9],
            vec![0xff; 9],
            b"t\x80\x00\x00\x00\x00\x00\x00\x05_r".to_vec(),
            b"t\x80\x00\x00\x00\x00\x00\x00\x05_i".to_vec(),
        ];
        keys.sort();
        for pair in keys.windows(2) {
            assert!(encode_bytes(&pair[0]) < encode_bytes(&pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn range_helpers_treat_empty_end_as_infinity() {
        assert!(in_range(b"b", b"a", b""));
        assert!(!in_range(b"c", b"a", b"c"));
        assert!(end_before(b"a", b""));
        assert!(!end_before(b"", b"a"));
        assert_eq!(min_end(b"", b"x"), b"x");
        assert_eq!(min_end(b"a", b"x"), b"a");
        assert_eq!(next_key(b"a"), b"a\0");
        assert_eq!(decode_region_key(b"").expect("empty"), b"");
        assert_eq!(encode_bound(b""), b"");
        assert_eq!(HexKey(b"\x01\xab").to_string(), "01ab");
        let r = sst_range(b"a", b"b");
        assert_eq!((r.start, r.end), (encode_bytes(b"a"), encode_bytes(b"b")));
    }
}
