//! Sorting a sort buffer's entries by their stored keys without a key
//! comparison per step.
//!
//! A plain comparison sort reads both keys from the arena at every step:
//! after the first passes the entries point all over the arena, so nearly
//! every comparison is two cache misses (the profile of the engine's sort
//! was `memcmp` stalls, ~28% of encode + sort). Here each entry carries
//! `head`, the 8 key bytes at the current depth (big-endian, zero-padded past
//! the key's end), and entries are sorted on that integer alone; runs of
//! equal heads are then sorted the same way on the next 8 bytes (a multikey
//! radix/quicksort hybrid). The arena is read once per entry and level, in a
//! streaming pass, instead of `log n` times per entry at random. Levels where
//! every head is equal (the table prefix every key of a buffer shares) cost
//! one pass and no sort.
//!
//! Zero padding never inverts the order: if key `a` ends inside the 8 bytes,
//! `a` and `b` either differ at a byte both have (the heads order them as the
//! bytes do) or `a` is a prefix of `b` there, and then `a`'s zero padding is
//! ≤ `b`'s bytes — `a < b` or a tie. Ties go one level deeper and end in a
//! full key comparison once every key of the group has ended, so the result
//! is exactly the byte order of the keys. (Stored keys are prefix-free
//! anyway, see `key_adapter`.)

/// One KV of a sort buffer: where its record starts in the arena, and the
/// sort head. 16 bytes, as the entry was before heads: the lengths live in
/// the record itself ([`put_record`]), read with the key they describe.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// 8 key bytes at the depth being sorted (scratch, set by [`sort`]).
    head: u64,
    off: usize,
}

/// Bytes the record header takes for these lengths (two LEB128 varints).
pub fn header_len(key_len: usize, val_len: usize) -> usize {
    varint_len(key_len) + varint_len(val_len)
}

fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - (n | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

fn put_varint(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn get_varint(arena: &[u8], pos: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = arena[*pos];
        *pos += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

/// Appends a record (`varint key len, varint value len, key, value`) whose
/// key `write_key` appends (exactly `key_len` bytes); returns its entry.
pub fn put_record(
    arena: &mut Vec<u8>,
    key_len: usize,
    value: &[u8],
    write_key: impl FnOnce(&mut Vec<u8>),
) -> Entry {
    let off = arena.len();
    put_varint(key_len, arena);
    put_varint(value.len(), arena);
    write_key(arena);
    debug_assert_eq!(
        arena.len(),
        off + header_len(key_len, value.len()) + key_len
    );
    arena.extend_from_slice(value);
    Entry { head: 0, off }
}

impl Entry {
    /// The whole record's bytes in the arena (header, key, value).
    pub fn span(&self, arena: &[u8]) -> std::ops::Range<usize> {
        let (key, value) = self.kv(arena);
        let end = self.off + header_len(key.len(), value.len()) + key.len() + value.len();
        self.off..end
    }

    /// Points the entry at its record's new place.
    pub fn moved_to(&mut self, off: usize) {
        self.off = off;
    }

    /// The record's key and value.
    pub fn kv<'a>(&self, arena: &'a [u8]) -> (&'a [u8], &'a [u8]) {
        let mut pos = self.off;
        let key_len = get_varint(arena, &mut pos);
        let val_len = get_varint(arena, &mut pos);
        let (key, rest) = arena[pos..].split_at(key_len);
        (key, &rest[..val_len])
    }

    pub fn key<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        self.kv(arena).0
    }
}

/// Groups this small are sorted by comparing whole keys.
const SMALL: usize = 24;
/// Head sorts nested deeper than this fall back to comparing whole keys,
/// bounding the recursion whatever the keys look like.
const MAX_NESTING: usize = 48;
const HEAD: usize = 8;

fn head_at(key: &[u8], depth: usize) -> u64 {
    let mut bytes = [0u8; HEAD];
    if let Some(rest) = key.get(depth..) {
        let n = rest.len().min(HEAD);
        bytes[..n].copy_from_slice(&rest[..n]);
    }
    u64::from_be_bytes(bytes)
}

fn sort_by_keys(arena: &[u8], entries: &mut [Entry]) {
    entries.sort_unstable_by(|a, b| a.key(arena).cmp(b.key(arena)));
}

/// Sorts `entries` by the bytes of their keys in `arena`.
pub fn sort(arena: &[u8], entries: &mut [Entry]) {
    sort_from(arena, entries, 0, 0);
}

/// Sorts a group whose keys all share their first `depth` bytes.
fn sort_from(arena: &[u8], entries: &mut [Entry], mut depth: usize, nesting: usize) {
    loop {
        if entries.len() <= SMALL || nesting > MAX_NESTING {
            sort_by_keys(arena, entries);
            return;
        }
        let (mut lo, mut hi, mut longest) = (u64::MAX, 0u64, 0usize);
        for e in entries.iter_mut() {
            e.head = head_at(e.key(arena), depth);
            lo = lo.min(e.head);
            hi = hi.max(e.head);
            longest = longest.max(e.key(arena).len());
        }
        if lo == hi {
            if longest <= depth + HEAD {
                // Every key ends here: equal, or zero-padding ties.
                sort_by_keys(arena, entries);
                return;
            }
            // A prefix the whole group shares: no sort at this level.
            depth += HEAD;
            continue;
        }
        entries.sort_unstable_by_key(|e| e.head);
        let mut start = 0;
        while start < entries.len() {
            let head = entries[start].head;
            let end = start
                + entries[start..]
                    .iter()
                    .position(|e| e.head != head)
                    .unwrap_or(entries.len() - start);
            if end - start > 1 {
                sort_from(arena, &mut entries[start..end], depth + HEAD, nesting + 1);
            }
            start = end;
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sorted(keys: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut arena = Vec::new();
        let mut entries = Vec::new();
        for k in keys {
            entries.push(put_record(&mut arena, k.len(), b"v", |a| {
                a.extend_from_slice(k)
            }));
        }
        sort(&arena, &mut entries);
        entries.iter().map(|e| e.key(&arena).to_vec()).collect()
    }

    #[test]
    fn shared_prefixes_and_zero_bytes_sort_as_bytes() {
        let prefix = b"t\x80\0\0\0\0\0\0\x2a_r".to_vec();
        let mut keys: Vec<Vec<u8>> = (0..200u32)
            .rev()
            .map(|i| {
                let mut k = prefix.clone();
                k.extend_from_slice(&(i % 67).to_be_bytes());
                k.extend(std::iter::repeat_n(0u8, (i % 5) as usize));
                k
            })
            .collect();
        keys.push(prefix.clone());
        keys.push(Vec::new());
        keys.push(vec![0; 30]);
        keys.push(vec![0; 29]);
        let mut want = keys.clone();
        want.sort();
        assert_eq!(sorted(&keys), want);
    }

    #[test]
    fn records_round_trip_with_their_header_lengths() {
        let mut arena = vec![9u8];
        for (k, v) in [(0usize, 0usize), (127, 128), (300, 20_000)] {
            let key = vec![1u8; k];
            let value = vec![2u8; v];
            let start = arena.len();
            let e = put_record(&mut arena, k, &value, |a| a.extend_from_slice(&key));
            assert_eq!(e.kv(&arena), (&key[..], &value[..]));
            assert_eq!(arena.len() - start, header_len(k, v) + k + v);
        }
    }

    proptest! {
        #[test]
        fn same_order_as_comparing_keys(
            keys in proptest::collection::vec(
                // Few distinct bytes and a shared start: many ties per level.
                (0usize..3, proptest::collection::vec(0u8..3, 0..40)).prop_map(|(p, tail)| {
                    let mut k = vec![7u8; p * 8];
                    k.extend(tail);
                    k
                }),
                0..300,
            )
        ) {
            let mut want = keys.clone();
            want.sort();
            prop_assert_eq!(sorted(&keys), want);
        }
    }
}
