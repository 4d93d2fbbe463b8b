//! Expression indexes (MySQL 8 functional key parts) end to end: TiDB keeps
//! each expression as a hidden virtual column `_V$_{index}_{n}` and indexes
//! the computed value. The expected index keys are built here by hand from
//! `../shared/reference/tidb-codec.md` (§1.5 index key, §1.2 EncodeBytes /
//! EncodeInt), not with Squall's codec. The JSON key part goes through
//! `CAST(... AS CHAR(n))`, as MySQL and TiDB require for JSON.
#![allow(clippy::unwrap_used)]

mod import_common;

use import_common::{config, export, export_rows, import, val};
use squall_coordinator::ExportFormat;
use squall_tests::sim::start_sim;

const SCHEMA: &str = "CREATE TABLE `e` (\n\
  `id` INT NOT NULL PRIMARY KEY,\n\
  `name` VARCHAR(20),\n\
  `d` DATE,\n\
  `j` JSON,\n\
  KEY `idx` ((LOWER(`name`))),\n\
  UNIQUE KEY `uy` ((YEAR(`d`) * 100 + MONTH(`d`))),\n\
  KEY `jn` ((CAST(`j`->>'$.n' AS CHAR(8))))\n\
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;\n";

/// EncodeInt: big-endian with the sign bit flipped.
fn enc_int(v: i64) -> Vec<u8> {
    ((v as u64) ^ (1 << 63)).to_be_bytes().to_vec()
}

/// EncodeBytes: groups of 8, each full one followed by 0xFF, the last
/// zero-padded and followed by 0xFF - padding.
fn enc_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let group = &data[i.min(data.len())..(i + 8).min(data.len())];
        let mut g = [0u8; 8];
        g[..group.len()].copy_from_slice(group);
        out.extend_from_slice(&g);
        if group.len() == 8 {
            out.push(0xFF);
            i += 8;
        } else {
            out.push(0xFF - (8 - group.len() as u8));
            return out;
        }
    }
}

fn index_prefix(table_id: i64, index_id: i64) -> Vec<u8> {
    let mut k = vec![b't'];
    k.extend(enc_int(table_id));
    k.extend_from_slice(b"_i");
    k.extend(enc_int(index_id));
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expression_index_keys_hold_the_computed_values() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("x-schema-create.sql"), "CREATE DATABASE x;\n").unwrap();
    std::fs::write(source.join("x.e-schema.sql"), SCHEMA).unwrap();
    std::fs::write(
        source.join("x.e.000000001.sql"),
        "INSERT INTO `e` VALUES (1,'HeLLo World','2021-05-06','{\"n\": \"Ann\"}'),\
         (2,NULL,'2022-01-01',NULL),(3,'ABC',NULL,'{\"x\": 1, \"n\": \"Bob\"}');\n",
    )
    .unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = config(None, work.path());
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    let rows = export_rows(&sim, &source, &cfg, "x.e").await;
    let kvs = export(&sim, &source, &cfg, "x.e", ExportFormat::Kv).await;
    sim.shutdown().await;
    let names: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|r| (val(r, "id").to_string(), r["name"].clone()))
        .collect();
    assert_eq!(
        names,
        [
            ("1".into(), Some("HeLLo World".into())),
            ("2".into(), None),
            ("3".into(), Some("ABC".into()))
        ]
    );
    let keys: Vec<Vec<u8>> = kvs
        .lines()
        .map(|l| hex::decode(l.split('\t').next().unwrap()).unwrap())
        .collect();
    let table_id = i64::from_be_bytes(keys[0][1..9].try_into().unwrap()) ^ i64::MIN;
    let index_keys = |id: i64| -> Vec<Vec<u8>> {
        let p = index_prefix(table_id, id);
        let mut v: Vec<Vec<u8>> = keys.iter().filter(|k| k.starts_with(&p)).cloned().collect();
        v.sort();
        v
    };
    // `idx` (index 1, not unique): LOWER(name) as a utf8mb4_bin string
    // (`01` + EncodeBytes, trailing spaces trimmed: none here), NULL as `00`,
    // then the int handle `03` + EncodeInt(id).
    let key = |value: Option<&str>, handle: i64| {
        let mut k = index_prefix(table_id, 1);
        match value {
            Some(s) => {
                k.push(0x01);
                k.extend(enc_bytes(s.as_bytes()));
            }
            None => k.push(0x00),
        }
        k.push(0x03);
        k.extend(enc_int(handle));
        k
    };
    let mut want = vec![
        key(Some("hello world"), 1),
        key(None, 2),
        key(Some("abc"), 3),
    ];
    want.sort();
    assert_eq!(index_keys(1), want);
    // `uy` (index 2, unique): YEAR(d) * 100 + MONTH(d) as BIGINT (`03` +
    // EncodeInt); distinct values keep the handle out of the key; the NULL
    // of row 3 makes its entry non-distinct, with the handle appended.
    let unique = |v: i64| {
        let mut k = index_prefix(table_id, 2);
        k.push(0x03);
        k.extend(enc_int(v));
        k
    };
    let mut null_entry = index_prefix(table_id, 2);
    null_entry.push(0x00);
    null_entry.push(0x03);
    null_entry.extend(enc_int(3));
    let mut want = vec![unique(202_105), unique(202_201), null_entry];
    want.sort();
    assert_eq!(index_keys(2), want);
    // `jn` (index 3): CAST(j->>'$.n' AS CHAR(8)), a utf8mb4_bin VARCHAR(8):
    // the unquoted JSON string, case kept; a NULL document gives NULL.
    let jn = |value: Option<&str>, handle: i64| {
        let mut k = index_prefix(table_id, 3);
        match value {
            Some(s) => {
                k.push(0x01);
                k.extend(enc_bytes(s.as_bytes()));
            }
            None => k.push(0x00),
        }
        k.push(0x03);
        k.extend(enc_int(handle));
        k
    };
    let mut want = vec![jn(Some("Ann"), 1), jn(None, 2), jn(Some("Bob"), 3)];
    want.sort();
    assert_eq!(index_keys(3), want);
}
