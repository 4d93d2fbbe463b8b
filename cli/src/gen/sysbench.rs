//! sysbench's `sbtest1`: the row shape every MySQL loader is measured on.

use std::path::Path;

use rand::rngs::StdRng;
use rand::Rng;

use super::writer::{DumpWriter, Format};
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
pub fn digit_groups(rng: &mut StdRng, groups: usize) -> String {
    let mut s = String::with_capacity(groups * 12);
    for g in 0..groups {
        if g > 0 {
            s.push('-');
        }
        for _ in 0..11 {
            s.push(char::from(b'0' + rng.gen_range(0..10u8)));
        }
    }
    s
}

pub fn generate(dir: &Path, opts: &GenOptions, rng: &mut StdRng) -> std::io::Result<GenSummary> {
    DumpWriter::write_db(dir, "sbtest")?;
    DumpWriter::write_schema(dir, "sbtest", "sbtest1", DDL)?;
    let mut w = DumpWriter::new(
        dir,
        "sbtest",
        "sbtest1",
        &["id", "k", "c", "pad"],
        Format::Sql,
        opts.file_bytes,
    );
    let mut id: i64 = 0;
    while w.total_bytes < opts.bytes {
        id += 1;
        let row_id = if id > 1 && rng.gen_bool(opts.duplicate_ratio.clamp(0.0, 1.0)) {
            rng.gen_range(1..id)
        } else {
            id
        };
        let k = rng.gen_range(1..=i32::MAX as i64 / 1024);
        let c = digit_groups(rng, 10);
        let pad = digit_groups(rng, 5);
        w.row(&[
            row_id.to_string(),
            k.to_string(),
            format!("'{c}'"),
            format!("'{pad}'"),
        ])?;
    }
    let (rows, bytes) = w.finish()?;
    Ok(GenSummary {
        tables: vec![("sbtest.sbtest1".into(), rows)],
        bytes,
    })
}
