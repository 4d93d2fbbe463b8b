//! The duplicate-preserving key adapter.
//!
//! Two rows of one engine may produce the same TiDB key (a duplicate primary or
//! unique key). To keep every copy, the engine stores
//!
//! ```text
//! stored = EncodeBytes(user_key) ++ row_tag (u64, big-endian)
//! ```
//!
//! `EncodeBytes` is TiDB's memcomparable byte encoding: 8-byte groups, the last
//! one zero-padded, each followed by a marker `0xFF - pad`. It is order-preserving
//! (`a < b` ⇔ `enc(a) < enc(b)`) and *prefix-free*: no encoding is a proper
//! prefix of another, because the marker of a key's last group (< 0xFF) differs
//! from the marker of the longer key's same group (0xFF, or a smaller pad count
//! with a non-zero data byte inside the pad area). So for `a != b` the first
//! difference between `enc(a)++x` and `enc(b)++y` lies inside the encodings and the
//! tag never decides; for `a == b` the big-endian tag orders copies by row tag.
//! Stored order is therefore exactly `(user_key, row_tag)` order. Plain
//! concatenation would break it: `"a"++tag` vs `"a\0"++tag` compares a tag byte
//! with `0x00`.
//!
//! The fixed-width tag is the "length marker": the encoded part is always the
//! stored key minus its last 8 bytes, and its length is a multiple of 9.

/// Width of the row tag suffix.
pub const TAG_LEN: usize = 8;
const GROUP: usize = 8;
const ENC_GROUP: usize = GROUP + 1;
const MARKER: u8 = 0xFF;

/// Length of `EncodeBytes(user_key)` for a key of `user_len` bytes.
pub fn encoded_len(user_len: usize) -> usize {
    (user_len / GROUP + 1) * ENC_GROUP
}

/// Length of the stored (adapted) key for a user key of `user_len` bytes.
pub fn adapted_len(user_len: usize) -> usize {
    encoded_len(user_len) + TAG_LEN
}

/// Appends `EncodeBytes(user_key)` to `out`. Used alone it is a bound that sorts
/// before every copy of `user_key` and after every copy of smaller keys.
pub fn encode_user_key_into(user_key: &[u8], out: &mut Vec<u8>) {
    out.reserve(encoded_len(user_key.len()));
    let mut chunks = user_key.chunks_exact(GROUP);
    for chunk in &mut chunks {
        out.extend_from_slice(chunk);
        out.push(MARKER);
    }
    let rest = chunks.remainder();
    let pad = GROUP - rest.len();
    out.extend_from_slice(rest);
    out.extend(std::iter::repeat_n(0u8, pad));
    // pad is 1..=8, so the marker is 0xF7..=0xFE: always below a full group's 0xFF.
    out.push(MARKER - pad as u8);
}

/// Appends the stored form of `(user_key, row_tag)` to `out`.
pub fn encode_key_into(user_key: &[u8], row_tag: u64, out: &mut Vec<u8>) {
    encode_user_key_into(user_key, out);
    out.extend_from_slice(&row_tag.to_be_bytes());
}

/// The stored form of `(user_key, row_tag)`.
pub fn encode_key(user_key: &[u8], row_tag: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(adapted_len(user_key.len()));
    encode_key_into(user_key, row_tag, &mut out);
    out
}

/// `EncodeBytes(user_key)`: an iteration bound in stored-key space.
pub fn user_key_bound(user_key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(user_key.len()));
    encode_user_key_into(user_key, &mut out);
    out
}

/// Splits a stored key into its encoded user key and its row tag. Checks the
/// shape only; [`decode_user_key_into`] checks the groups.
pub fn split_stored(stored: &[u8]) -> Result<(&[u8], u64), &'static str> {
    if stored.len() < ENC_GROUP + TAG_LEN || !(stored.len() - TAG_LEN).is_multiple_of(ENC_GROUP) {
        return Err("length is not 9*n + 8");
    }
    let (enc, tag) = stored.split_at(stored.len() - TAG_LEN);
    let mut tag_bytes = [0u8; TAG_LEN];
    tag_bytes.copy_from_slice(tag);
    Ok((enc, u64::from_be_bytes(tag_bytes)))
}

/// Length of the user key inside an encoded user key, read from the last
/// marker without decoding (used by the split walk, which only needs sizes).
pub fn decoded_len(enc: &[u8]) -> Result<usize, &'static str> {
    let marker = *enc.last().ok_or("empty encoded key")?;
    let pad = usize::from(MARKER - marker);
    if pad == 0 || pad > GROUP {
        return Err("bad final group marker");
    }
    Ok(enc.len() / ENC_GROUP * GROUP - pad)
}

/// Decodes `EncodeBytes` output into `out` (cleared first), validating every group.
pub fn decode_user_key_into(enc: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    out.clear();
    if enc.is_empty() || !enc.len().is_multiple_of(ENC_GROUP) {
        return Err("encoded length is not a multiple of 9");
    }
    let groups = enc.len() / ENC_GROUP;
    for (i, group) in enc.chunks_exact(ENC_GROUP).enumerate() {
        let (data, marker) = group.split_at(GROUP);
        let pad = usize::from(MARKER - marker[0]);
        let last = i + 1 == groups;
        match (pad, last) {
            (0, false) => out.extend_from_slice(data),
            (1..=GROUP, true) => {
                let (keep, padding) = data.split_at(GROUP - pad);
                if padding.iter().any(|&b| b != 0) {
                    return Err("non-zero padding");
                }
                out.extend_from_slice(keep);
            }
            (0, true) => return Err("missing final group"),
            _ => return Err("bad group marker"),
        }
    }
    Ok(())
}

/// Decodes a stored key into `(user_key, row_tag)`.
pub fn decode_key(stored: &[u8]) -> Result<(Vec<u8>, u64), &'static str> {
    let (enc, tag) = split_stored(stored)?;
    let mut key = Vec::with_capacity(enc.len());
    decode_user_key_into(enc, &mut key)?;
    Ok((key, tag))
}

/// The smallest key strictly greater than `key` (`key ++ 0x00`): the exclusive
/// end of a range whose last key is `key`.
pub fn next_key(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_tidb_encode_bytes() {
        // Values from TiDB's codec tests (util/codec/bytes_test.go).
        assert_eq!(user_key_bound(b""), vec![0, 0, 0, 0, 0, 0, 0, 0, 0xF7]);
        assert_eq!(
            user_key_bound(&[1, 2, 3]),
            vec![1, 2, 3, 0, 0, 0, 0, 0, 0xFA]
        );
        assert_eq!(
            user_key_bound(&[1, 2, 3, 4, 5, 6, 7, 8]),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0xF7]
        );
    }

    #[test]
    fn prefix_key_sorts_before_extension() {
        // Plain concatenation would put ("a", 0xFF..) after ("a\0", 0).
        let short = encode_key(b"a", u64::MAX);
        let long = encode_key(b"a\0", 0);
        assert!(short < long);
        let bound = user_key_bound(b"a\0");
        assert!(short < bound && bound < long);
    }

    #[test]
    fn rejects_corrupt_keys() {
        assert!(split_stored(&[0; 16]).is_err());
        let mut bad = encode_key(b"abc", 1);
        bad[5] = 7; // inside the padding
        let (enc, _) = split_stored(&bad).expect("shape is fine");
        assert_eq!(
            decode_user_key_into(enc, &mut Vec::new()),
            Err("non-zero padding")
        );
        let mut no_end = encode_key(b"abcdefgh", 1);
        no_end[17] = 0xFF; // final marker claims another group follows
        let (enc, _) = split_stored(&no_end).expect("shape is fine");
        assert!(decode_user_key_into(enc, &mut Vec::new()).is_err());
        assert!(decoded_len(enc).is_err());
    }

    proptest! {
        #[test]
        fn stored_order_is_user_key_then_tag(
            a in proptest::collection::vec(any::<u8>(), 0..40),
            b in proptest::collection::vec(any::<u8>(), 0..40),
            ta in any::<u64>(),
            tb in any::<u64>(),
        ) {
            let expected = (&a, ta).cmp(&(&b, tb));
            prop_assert_eq!(encode_key(&a, ta).cmp(&encode_key(&b, tb)), expected);
        }

        #[test]
        fn prefix_pairs_keep_order(
            a in proptest::collection::vec(any::<u8>(), 0..24),
            ext in proptest::collection::vec(any::<u8>(), 1..10),
            ta in any::<u64>(),
            tb in any::<u64>(),
        ) {
            // b extends a: the case plain concatenation gets wrong.
            let b: Vec<u8> = a.iter().chain(&ext).copied().collect();
            prop_assert!(encode_key(&a, ta) < encode_key(&b, tb));
            prop_assert!(encode_key(&a, ta) < user_key_bound(&b));
            prop_assert!(user_key_bound(&a) < encode_key(&a, ta));
        }

        #[test]
        fn round_trips(key in proptest::collection::vec(any::<u8>(), 0..64), tag in any::<u64>()) {
            let stored = encode_key(&key, tag);
            prop_assert_eq!(stored.len(), adapted_len(key.len()));
            let (enc, _) = split_stored(&stored).expect("valid shape");
            prop_assert_eq!(decoded_len(enc), Ok(key.len()));
            prop_assert_eq!(decode_key(&stored), Ok((key, tag)));
        }
    }
}
