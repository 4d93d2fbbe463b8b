//! Row tags: the `u64` the local engine keeps with every KV, so a duplicate
//! key found later can be traced to its source row. The high 24 bits are the
//! chunk's ordinal in its table, the low 40 bits the row's byte offset from
//! the chunk start (chunks are at most a few hundred MiB; 40 bits is 1 TiB).
//! Among copies of one key the engine ingests the smallest tag: the row that
//! came first in the source.

const OFFSET_BITS: u32 = 40;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;

pub fn pack(chunk_ordinal: u32, offset_in_chunk: u64) -> u64 {
    (u64::from(chunk_ordinal & 0xFF_FFFF) << OFFSET_BITS) | (offset_in_chunk & OFFSET_MASK)
}

/// `(chunk ordinal, offset from the chunk start)`.
pub fn unpack(tag: u64) -> (u32, u64) {
    ((tag >> OFFSET_BITS) as u32, tag & OFFSET_MASK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders_by_chunk_then_offset() {
        assert_eq!(unpack(pack(7, 123_456)), (7, 123_456));
        assert_eq!(
            unpack(pack(0xFF_FFFF, OFFSET_MASK)),
            (0xFF_FFFF, OFFSET_MASK)
        );
        assert!(pack(1, 0) > pack(0, OFFSET_MASK));
        assert!(pack(2, 5) < pack(2, 6));
    }
}
