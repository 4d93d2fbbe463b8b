//! Key encodings TiKV and PD use on the wire and on disk.
//!
//! * Region boundaries (PD, `metapb.Region`) and SST meta ranges are
//!   memcomparable `EncodeBytes(raw)`: groups of 8 bytes, each followed by a
//!   marker `0xFF - padding`, so encoded keys sort like raw keys.
//! * RocksDB data keys are `'z' + EncodeBytes(raw) + BE64(!ts)`: the inverted
//!   timestamp puts newer versions of a key first.

/// Prefix of every data key in RocksDB (TiKV's `DATA_PREFIX_KEY`).
pub const DATA_PREFIX: u8 = b'z';
const GROUP: usize = 8;
const MARKER: u8 = 0xFF;
const TS_LEN: usize = 8;

/// Why bytes are not a valid encoded key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("encoded key {0} is truncated (groups are 9 bytes)")]
    Truncated(String),
    #[error("encoded key {0} has a bad group marker")]
    BadMarker(String),
    #[error("encoded key {0} has non-zero padding")]
    BadPadding(String),
    #[error("data key {0} lacks the 'z' prefix or the 8-byte timestamp")]
    NotDataKey(String),
}

/// Memcomparable encoding of `raw` (TiDB's `codec.EncodeBytes`).
pub fn encode_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity((raw.len() / GROUP + 1) * (GROUP + 1));
    let mut rest = raw;
    loop {
        if rest.len() >= GROUP {
            out.extend_from_slice(&rest[..GROUP]);
            out.push(MARKER);
            rest = &rest[GROUP..];
            continue;
        }
        let pad = GROUP - rest.len();
        out.extend_from_slice(rest);
        out.extend(std::iter::repeat_n(0u8, pad));
        // `pad` is at most 8, so the marker never underflows.
        out.push(MARKER - pad as u8);
        return out;
    }
}

/// Decodes one memcomparable key from the front of `enc`; returns the raw
/// bytes and how many encoded bytes it used.
pub fn decode_bytes(enc: &[u8]) -> Result<(Vec<u8>, usize), KeyError> {
    let mut raw = Vec::with_capacity(enc.len() / (GROUP + 1) * GROUP);
    let mut used = 0;
    loop {
        let group = enc
            .get(used..used + GROUP + 1)
            .ok_or_else(|| KeyError::Truncated(hex::encode(enc)))?;
        used += GROUP + 1;
        let pad = usize::from(MARKER - group[GROUP]);
        if pad > GROUP {
            return Err(KeyError::BadMarker(hex::encode(enc)));
        }
        let real = GROUP - pad;
        if group[real..GROUP].iter().any(|b| *b != 0) {
            return Err(KeyError::BadPadding(hex::encode(enc)));
        }
        raw.extend_from_slice(&group[..real]);
        if pad > 0 {
            return Ok((raw, used));
        }
    }
}

/// `'z' + encoded + BE64(!ts)`.
pub fn data_key(encoded: &[u8], ts: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + encoded.len() + TS_LEN);
    key.push(DATA_PREFIX);
    key.extend_from_slice(encoded);
    key.extend_from_slice(&(!ts).to_be_bytes());
    key
}

/// `'z' + encoded`: the smallest data key of an encoded user key, and the
/// bound to seek to for a region boundary.
pub fn data_prefix(encoded: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + encoded.len());
    key.push(DATA_PREFIX);
    key.extend_from_slice(encoded);
    key
}

/// Splits a data key into its encoded user key and timestamp.
pub fn split_data_key(key: &[u8]) -> Result<(&[u8], u64), KeyError> {
    if key.len() < 1 + TS_LEN || key[0] != DATA_PREFIX {
        return Err(KeyError::NotDataKey(hex::encode(key)));
    }
    let (user, ts) = key[1..].split_at(key.len() - 1 - TS_LEN);
    let mut be = [0u8; TS_LEN];
    be.copy_from_slice(ts);
    Ok((user, !u64::from_be_bytes(be)))
}

/// Decodes the raw user key of an encoded user key, requiring that the
/// encoding spans all of it.
pub fn decode_user_key(encoded: &[u8]) -> Result<Vec<u8>, KeyError> {
    let (raw, used) = decode_bytes(encoded)?;
    if used != encoded.len() {
        return Err(KeyError::Truncated(hex::encode(encoded)));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_tidb() {
        // Values from TiDB's codec tests (bytes_test.go).
        assert_eq!(encode_bytes(b""), [0, 0, 0, 0, 0, 0, 0, 0, 0xF7]);
        assert_eq!(encode_bytes(&[1, 2, 3]), [1, 2, 3, 0, 0, 0, 0, 0, 0xFA]);
        assert_eq!(encode_bytes(&[1, 2, 3, 0]), [1, 2, 3, 0, 0, 0, 0, 0, 0xFB]);
        assert_eq!(
            encode_bytes(&[1, 2, 3, 4, 5, 6, 7, 8]),
            [1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0xF7]
        );
        assert_eq!(
            encode_bytes(&[1, 2, 3, 4, 5, 6, 7, 8, 9]),
            [1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 9, 0, 0, 0, 0, 0, 0, 0, 0xF8]
        );
    }

    #[test]
    fn decode_inverts_encode_and_order_is_kept() {
        let keys: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            b"a".to_vec(),
            b"abcdefgh".to_vec(),
            b"abcdefgh\0".to_vec(),
            b"abcdefghi".to_vec(),
            vec![0xFF; 17],
        ];
        for k in &keys {
            let enc = encode_bytes(k);
            assert_eq!(decode_user_key(&enc).expect("valid"), *k);
        }
        for a in &keys {
            for b in &keys {
                assert_eq!(
                    a.cmp(b),
                    encode_bytes(a).cmp(&encode_bytes(b)),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn rejects_malformed_encodings() {
        assert!(matches!(
            decode_bytes(&[1, 2, 3]),
            Err(KeyError::Truncated(_))
        ));
        assert!(matches!(
            decode_bytes(&[0, 0, 0, 0, 0, 0, 0, 0, 0x10]),
            Err(KeyError::BadMarker(_))
        ));
        assert!(matches!(
            decode_bytes(&[1, 2, 3, 0, 0, 0, 0, 9, 0xFA]),
            Err(KeyError::BadPadding(_))
        ));
    }

    #[test]
    fn newer_versions_sort_first_and_split_back() {
        let enc = encode_bytes(b"k");
        let old = data_key(&enc, 10);
        let new = data_key(&enc, 20);
        assert!(new < old);
        assert!(data_prefix(&enc) < new);
        assert_eq!(
            split_data_key(&new).expect("data key"),
            (enc.as_slice(), 20)
        );
        assert!(split_data_key(b"zabc").is_err());
    }
}
