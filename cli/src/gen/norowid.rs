//! `norowid.norowid1`: no integer primary key. The primary key is a
//! varchar UUID declared NONCLUSTERED, so TiDB keys the rows by the hidden
//! `_tidb_rowid` and the primary key is a unique index; one secondary
//! (composite) index. Duplicates repeat an earlier row's UUID: they
//! conflict on the primary-key index, not on the row keys.

use std::path::Path;

use rand::rngs::StdRng;
use rand::Rng;

use super::dups::Dups;
use super::values::{push_datetime, push_words};
use super::writer::DumpWriter;
use super::{GenOptions, GenSummary};

const DDL: &str = "CREATE TABLE `norowid1` (
  `uuid` varchar(36) NOT NULL,
  `tenant` int NOT NULL,
  `kind` varchar(16) NOT NULL,
  `at` datetime NOT NULL,
  `amount` decimal(10,2) DEFAULT NULL,
  `body` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`uuid`) NONCLUSTERED,
  KEY `idx_tenant_at` (`tenant`,`at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
";

const KINDS: [&[u8]; 5] = [b"view", b"click", b"cart", b"buy", b"leave"];
const HEX: &[u8; 16] = b"0123456789abcdef";

/// splitmix64's finalizer: a bijection on u64, so distinct key numbers
/// give distinct UUIDs that still look random.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The UUID of key number `k` (its first 64 bits are `mix(k)`).
fn push_uuid(buf: &mut Vec<u8>, k: u64) {
    let (hi, lo) = (mix(k), mix(!k));
    let nibbles = (0..32).map(|i| {
        let word = if i < 16 { hi } else { lo };
        HEX[((word >> (60 - 4 * (i % 16))) & 15) as usize]
    });
    for (i, c) in nibbles.enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            buf.push(b'-');
        }
        buf.push(c);
    }
}

pub fn generate(dir: &Path, opts: &GenOptions, rng: &mut StdRng) -> std::io::Result<GenSummary> {
    DumpWriter::write_db(dir, "norowid")?;
    DumpWriter::write_schema(dir, "norowid", "norowid1", DDL)?;
    let mut w = DumpWriter::new(
        dir,
        "norowid",
        "norowid1",
        &["uuid", "tenant", "kind", "at", "amount", "body"],
        opts.format(),
        opts.file_bytes,
    );
    let mut dups = Dups::new(opts.duplicate_ratio);
    // The seed also moves the UUIDs, so two seeds do not share keys.
    let salt = rng.gen::<u64>();
    while w.bytes() < opts.bytes {
        let k = if dups.next_is_dup(rng) {
            dups.copy_any(rng)
        } else {
            dups.fresh_original()
        };
        w.begin_row()?;
        w.str_with(|b| push_uuid(b, k ^ salt));
        w.uint(rng.gen_range(1..=10_000));
        w.str(KINDS[rng.gen_range(0..KINDS.len())]);
        let (day, secs) = (rng.gen_range(18_000..20_000), rng.gen_range(0..86_400));
        w.str_with(|b| push_datetime(b, day, secs));
        if rng.gen_ratio(1, 10) {
            w.null();
        } else {
            w.fixed(rng.gen_range(0..10_000_000), 2);
        }
        if rng.gen_ratio(1, 10) {
            w.null();
        } else {
            let n = rng.gen_range(4..20);
            w.str_with(|b| push_words(b, rng, n));
        }
        w.end_row()?;
    }
    let table = w.finish_table(Some(dups.dup_rows), Some(dups.conflicting_rows()))?;
    Ok(GenSummary::of(vec![table]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_distinct_and_shaped() {
        let mut seen = std::collections::HashSet::new();
        for k in 0..10_000u64 {
            let mut b = Vec::new();
            push_uuid(&mut b, k);
            assert_eq!(b.len(), 36);
            assert_eq!(b[8], b'-');
            assert!(seen.insert(b));
        }
    }
}
