//! sysbench's `sbtest1`: the row shape every MySQL loader is measured on.

use std::path::Path;

use rand::rngs::StdRng;
use rand::Rng;

use super::dups::Dups;
use super::values::push_digits;
use super::writer::DumpWriter;
use super::{GenOptions, GenSummary};

const DDL: &str = "CREATE TABLE `sbtest1` (
  `id` int NOT NULL AUTO_INCREMENT,
  `k` int NOT NULL DEFAULT '0',
  `c` char(120) NOT NULL DEFAULT '',
  `pad` char(60) NOT NULL DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `k_1` (`k`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
";

/// sysbench's `c`/`pad` shape: groups of 11 digits joined by dashes.
fn digit_groups(buf: &mut Vec<u8>, rng: &mut StdRng, groups: usize) {
    for g in 0..groups {
        if g > 0 {
            buf.push(b'-');
        }
        push_digits(buf, rng, 11);
    }
}

pub fn generate(dir: &Path, opts: &GenOptions, rng: &mut StdRng) -> std::io::Result<GenSummary> {
    DumpWriter::write_db(dir, "sbtest")?;
    DumpWriter::write_schema(dir, "sbtest", "sbtest1", DDL)?;
    let mut w = DumpWriter::new(
        dir,
        "sbtest",
        "sbtest1",
        &["id", "k", "c", "pad"],
        opts.format(),
        opts.file_bytes,
    );
    let mut dups = Dups::new(opts.duplicate_ratio);
    while w.bytes() < opts.bytes {
        let id = if dups.next_is_dup(rng) {
            dups.copy_any(rng)
        } else {
            dups.fresh_original()
        };
        w.begin_row()?;
        w.uint(id);
        w.int(rng.gen_range(1..=i64::from(i32::MAX) / 1024));
        w.str_with(|b| digit_groups(b, rng, 10));
        w.str_with(|b| digit_groups(b, rng, 5));
        w.end_row()?;
    }
    let table = w.finish_table(Some(dups.dup_rows), Some(dups.conflicting_rows()))?;
    Ok(GenSummary::of(vec![table]))
}
