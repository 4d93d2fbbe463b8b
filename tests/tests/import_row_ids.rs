//! Row IDs laid out as TiDB lays them out, end to end. Every expected value
//! here is computed by hand from TiDB's documented layout, not by Squall's
//! code:
//! - `SHARD_ROW_ID_BITS = 4`: `_tidb_rowid` is `[sign 0][4 shard bits]
//!   [59 bits row number]`; `PRE_SPLIT_REGIONS = 2` pre-splits the record
//!   range at handles `4 << 59`, `8 << 59`, `12 << 59` (TiDB's own example in
//!   `preSplitPhysicalTableByShardRowID`).
//! - `AUTO_RANDOM(5)` on a signed BIGINT: `[sign 0][5 shard bits][58 bits]`;
//!   `AUTO_RANDOM(3, 32)`: `[sign 0][3 shard bits][28 bits]` under bit 32;
//!   explicit values in the dump are kept as they are.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeSet;

use import_common::{config, export, export_rows, import, val};
use squall_coordinator::ExportFormat;
use squall_tests::kvproto::{encode_key, Pd};
use squall_tests::sim::{pd_addr, start_sim};

const ROWS: i64 = 60;

/// `(table id, handle)` of a raw record key `t{id}_r{handle}` (both
/// big-endian with the sign bit flipped), `None` for other keys.
fn record_handle(key: &[u8]) -> Option<(i64, i64)> {
    if key.len() != 19 || key[0] != b't' || &key[9..11] != b"_r" {
        return None;
    }
    let id = u64::from_be_bytes(key[1..9].try_into().unwrap()) ^ (1 << 63);
    let h = u64::from_be_bytes(key[11..19].try_into().unwrap()) ^ (1 << 63);
    Some((id as i64, h as i64))
}

fn record_key(table_id: i64, handle: i64) -> Vec<u8> {
    let mut k = vec![b't'];
    k.extend_from_slice(&((table_id as u64) ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(b"_r");
    k.extend_from_slice(&((handle as u64) ^ (1 << 63)).to_be_bytes());
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shard_row_id_bits_pre_split_and_auto_random() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("r-schema-create.sql"), "CREATE DATABASE r;\n").unwrap();
    std::fs::write(
        source.join("r.s-schema.sql"),
        "CREATE TABLE `s` (`a` INT, `b` VARCHAR(10)) ENGINE=InnoDB \
         /*T! SHARD_ROW_ID_BITS=4 PRE_SPLIT_REGIONS=2 */;\n",
    )
    .unwrap();
    let values: Vec<String> = (1..=ROWS).map(|i| format!("({i},'v{i}')")).collect();
    std::fs::write(
        source.join("r.s.000000001.sql"),
        format!("INSERT INTO `s` VALUES {};\n", values.join(",")),
    )
    .unwrap();
    std::fs::write(
        source.join("r.ar-schema.sql"),
        "CREATE TABLE `ar` (`id` BIGINT NOT NULL /*T![auto_rand] AUTO_RANDOM(5) */, `v` INT, \
         PRIMARY KEY (`id`) /*T![clustered_index] CLUSTERED */);\n",
    )
    .unwrap();
    std::fs::write(
        source.join("r.ar.000000001.sql"),
        "INSERT INTO `ar` (`id`,`v`) VALUES (1000000,1),(NULL,2),(123456789,3),(NULL,4);\n\
         INSERT INTO `ar` (`v`) VALUES (5),(6),(7);\n",
    )
    .unwrap();
    std::fs::write(
        source.join("r.ar32-schema.sql"),
        "CREATE TABLE `ar32` (`id` BIGINT NOT NULL AUTO_RANDOM(3, 32) PRIMARY KEY, `v` INT);\n",
    )
    .unwrap();
    std::fs::write(
        source.join("r.ar32.000000001.sql"),
        "INSERT INTO `ar32` (`v`) VALUES (1),(2),(3),(4),(5),(6),(7),(8);\n",
    )
    .unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = config(None, work.path());
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    let kvs = export(&sim, &source, &cfg, "r.s", ExportFormat::Kv).await;
    let s_rows = export_rows(&sim, &source, &cfg, "r.s").await;
    let ar = export_rows(&sim, &source, &cfg, "r.ar").await;
    let ar32 = export_rows(&sim, &source, &cfg, "r.ar32").await;
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let region_starts: BTreeSet<Vec<u8>> = pd
        .scan(b"", b"", 0)
        .await
        .into_iter()
        .map(|r| r.region.expect("region").start_key)
        .collect();
    sim.shutdown().await;

    // SHARD_ROW_ID_BITS = 4.
    let handles: Vec<(i64, i64)> = kvs
        .lines()
        .filter_map(|l| record_handle(&hex::decode(l.split('\t').next().unwrap()).unwrap()))
        .collect();
    assert_eq!(handles.len(), ROWS as usize, "one record per row");
    let table_id = handles[0].0;
    let mut row_numbers = BTreeSet::new();
    let mut shards = BTreeSet::new();
    for &(id, h) in &handles {
        assert_eq!(id, table_id);
        assert!(h > 0, "the sign bit stays clear: {h:#x}");
        shards.insert(h >> 59);
        row_numbers.insert(h & ((1 << 59) - 1));
    }
    assert_eq!(
        row_numbers,
        (1..=ROWS).collect::<BTreeSet<_>>(),
        "the low 59 bits are the row numbers, each once"
    );
    assert!(shards.iter().all(|s| (0..16).contains(s)));
    assert!(
        shards.len() >= 4,
        "60 rows spread over the 16 shards: {shards:?}"
    );
    assert_eq!(s_rows.len(), ROWS as usize);
    // PRE_SPLIT_REGIONS = 2: regions start at the three shard boundaries.
    for p in [4i64, 8, 12] {
        let key = encode_key(&record_key(table_id, p << 59));
        assert!(
            region_starts.contains(&key),
            "no region starts at handle {p} << 59"
        );
    }

    // AUTO_RANDOM(5): explicit values kept; filled ones sharded and unique.
    let ids: Vec<(i64, i64)> = ar
        .iter()
        .map(|r| (val(r, "v").parse().unwrap(), val(r, "id").parse().unwrap()))
        .collect();
    assert_eq!(ids.len(), 7);
    let by_v = |v: i64| ids.iter().find(|(x, _)| *x == v).unwrap().1;
    assert_eq!(by_v(1), 1_000_000);
    assert_eq!(by_v(3), 123_456_789);
    let filled: Vec<i64> = [2, 4, 5, 6, 7].iter().map(|&v| by_v(v)).collect();
    let low: BTreeSet<i64> = filled.iter().map(|id| id & ((1 << 58) - 1)).collect();
    assert_eq!(low.len(), filled.len(), "increments unique: {filled:x?}");
    for id in &filled {
        assert!(*id > 0, "sign bit clear: {id:#x}");
        assert!((1..=1000).contains(&(id & ((1 << 58) - 1))), "{id:#x}");
    }
    assert!(
        filled.iter().any(|id| id >> 58 != 0),
        "some shard bits set: {filled:x?}"
    );

    // AUTO_RANDOM(3, 32): values under 2^31, shard bits 28..31.
    let ids32: Vec<i64> = ar32.iter().map(|r| val(r, "id").parse().unwrap()).collect();
    assert_eq!(ids32.len(), 8);
    let low32: BTreeSet<i64> = ids32.iter().map(|id| id & ((1 << 28) - 1)).collect();
    assert_eq!(low32.len(), 8, "{ids32:x?}");
    for id in &ids32 {
        assert!((1..1i64 << 31).contains(id), "range bits 32: {id:#x}");
    }
    assert!(ids32.iter().any(|id| id >> 28 != 0), "{ids32:x?}");
}
