//! `tpch.lineitem`: TPC-H's biggest table, its columns and types, with
//! `dbgen`'s value distributions (TPC-H 2.x, section 4.2.3): sparse order
//! keys (8 used in each 32), 1..7 lines per order, quantity 1..50, price
//! from the part key, discount 0..0.10, tax 0..0.08, ship/commit/receipt
//! dates from the order date, flags from the dates. Primary key
//! `(l_orderkey, l_linenumber)`, clustered. Duplicates repeat an earlier
//! order line's key with new values.

use std::path::Path;

use rand::rngs::StdRng;
use rand::Rng;

use super::dups::Dups;
use super::values::{days_from_civil, push_date, push_words};
use super::writer::DumpWriter;
use super::{GenOptions, GenSummary};

const DDL: &str = "CREATE TABLE `lineitem` (
  `l_orderkey` bigint NOT NULL,
  `l_partkey` bigint NOT NULL,
  `l_suppkey` bigint NOT NULL,
  `l_linenumber` int NOT NULL,
  `l_quantity` decimal(15,2) NOT NULL,
  `l_extendedprice` decimal(15,2) NOT NULL,
  `l_discount` decimal(15,2) NOT NULL,
  `l_tax` decimal(15,2) NOT NULL,
  `l_returnflag` char(1) NOT NULL,
  `l_linestatus` char(1) NOT NULL,
  `l_shipdate` date NOT NULL,
  `l_commitdate` date NOT NULL,
  `l_receiptdate` date NOT NULL,
  `l_shipinstruct` char(25) NOT NULL,
  `l_shipmode` char(10) NOT NULL,
  `l_comment` varchar(44) NOT NULL,
  PRIMARY KEY (`l_orderkey`,`l_linenumber`) CLUSTERED
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
";

const COLUMNS: [&str; 16] = [
    "l_orderkey",
    "l_partkey",
    "l_suppkey",
    "l_linenumber",
    "l_quantity",
    "l_extendedprice",
    "l_discount",
    "l_tax",
    "l_returnflag",
    "l_linestatus",
    "l_shipdate",
    "l_commitdate",
    "l_receiptdate",
    "l_shipinstruct",
    "l_shipmode",
    "l_comment",
];

const INSTRUCT: [&[u8]; 4] = [
    b"DELIVER IN PERSON",
    b"COLLECT COD",
    b"NONE",
    b"TAKE BACK RETURN",
];
const MODES: [&[u8]; 7] = [
    b"REG AIR", b"AIR", b"RAIL", b"SHIP", b"TRUCK", b"MAIL", b"FOB",
];

/// Parts and suppliers of scale factor 1 (200 000 parts, 10 000 suppliers).
const PARTS: i64 = 200_000;
const SUPPLIERS: i64 = 10_000;

/// dbgen's order key of the `n`-th order (1-based): 8 keys used in each 32.
fn order_key(n: u64) -> u64 {
    (n - 1) / 8 * 32 + (n - 1) % 8 + 1
}

/// dbgen's retail price of a part, in cents.
fn retail_cents(part: i64) -> i64 {
    90_000 + (part / 10) % 20_001 + 100 * (part % 1000)
}

pub fn generate(dir: &Path, opts: &GenOptions, rng: &mut StdRng) -> std::io::Result<GenSummary> {
    DumpWriter::write_db(dir, "tpch")?;
    DumpWriter::write_schema(dir, "tpch", "lineitem", DDL)?;
    let mut w = DumpWriter::new(
        dir,
        "tpch",
        "lineitem",
        &COLUMNS,
        opts.format(),
        opts.file_bytes,
    );
    // Key numbers: order n, line l → n * 8 + l.
    let mut dups = Dups::new(opts.duplicate_ratio);
    // Lines of each order so far, to pick a line to repeat.
    let mut lines_of: Vec<u8> = Vec::new();
    let start = days_from_civil(1992, 1, 1);
    let end = days_from_civil(1998, 8, 2) - 151;
    let current = days_from_civil(1995, 6, 17);
    let (mut order, mut line, mut lines, mut order_date) = (0u64, 0u8, 0u8, start);
    while w.bytes() < opts.bytes {
        let (key_order, key_line) = if !lines_of.is_empty() && dups.next_is_dup(rng) {
            let n = rng.gen_range(1..=lines_of.len() as u64);
            let l = rng.gen_range(1..=lines_of[(n - 1) as usize]);
            dups.mark(n * 8 + u64::from(l));
            (n, l)
        } else {
            if line == lines {
                order += 1;
                line = 0;
                lines = rng.gen_range(1..=7);
                order_date = rng.gen_range(start..=end);
            }
            line += 1;
            // Counts the row (key numbers are `n * 8 + l` here).
            dups.fresh_original();
            if line == lines {
                lines_of.push(lines);
            }
            (order, line)
        };
        let part = rng.gen_range(1..=PARTS);
        let supp =
            (part + rng.gen_range(0..4) * (SUPPLIERS / 4 + (part - 1) / SUPPLIERS)) % SUPPLIERS + 1;
        let quantity = rng.gen_range(1..=50i64);
        let ship = order_date + rng.gen_range(1..=121);
        let commit = order_date + rng.gen_range(30..=90);
        let receipt = ship + rng.gen_range(1..=30);
        w.begin_row()?;
        w.uint(order_key(key_order));
        w.int(part);
        w.int(supp);
        w.uint(u64::from(key_line));
        w.fixed(quantity * 100, 2);
        w.fixed(quantity * retail_cents(part), 2);
        w.fixed(rng.gen_range(0..=10), 2);
        w.fixed(rng.gen_range(0..=8), 2);
        let returned = receipt <= current && rng.gen_bool(0.5);
        w.str(match (receipt <= current, returned) {
            (false, _) => b"N",
            (true, true) => b"R",
            (true, false) => b"A",
        });
        w.str(if ship > current { b"O" } else { b"F" });
        w.str_with(|b| push_date(b, ship));
        w.str_with(|b| push_date(b, commit));
        w.str_with(|b| push_date(b, receipt));
        w.str(INSTRUCT[rng.gen_range(0..INSTRUCT.len())]);
        w.str(MODES[rng.gen_range(0..MODES.len())]);
        let words = rng.gen_range(1..=4);
        // dbgen's comments: 10..43 characters of text.
        w.str_with(|b| {
            let from = b.len();
            push_words(b, rng, words);
            if b.len() - from < 10 {
                b.extend_from_slice(b" furiously");
            }
            b.truncate(from + 43);
        });
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
    fn order_keys_are_sparse_like_dbgen() {
        let keys: Vec<u64> = (1..=10).map(order_key).collect();
        assert_eq!(keys, [1, 2, 3, 4, 5, 6, 7, 8, 33, 34]);
    }
}
