//! An import whose source is an `s3://` URL (a real S3-compatible server,
//! moto, signatures enforced), through `run_import` as `squall import
//! --source s3://…` runs it, ends verified with the same rows, KVs and
//! checksums as importing the same dump from a local directory; the table
//! read back (schema from S3) holds exactly the source rows, the checkpoint
//! holds no secret, and a rerun with the URL finds the job done.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::io::Write;
use std::path::Path;

use import_common::gen::generate;
use import_common::{config, export_rows, import, Row};
use squall_common::config::ByteSize;
use squall_common::TaskConfig;
use squall_tests::s3::start_moto_or_skip;
use squall_tests::sim::start_sim;

const BUCKET: &str = "dumps";
const PREFIX: &str = "rt/2026-12-06";

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort();
    rows
}

fn gzip_in_place(file: &Path) {
    let mut gz_name = file.as_os_str().to_owned();
    gz_name.push(".gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(gz_name).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(&std::fs::read(file).unwrap()).unwrap();
    gz.finish().unwrap();
    std::fs::remove_file(file).unwrap();
}

fn small_engines(work: &Path) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    cfg.mydumper.max_region_size = ByteSize::kib(16);
    cfg.mydumper.batch_size = ByteSize::kib(48);
    cfg.tikv_importer.region_split_size = ByteSize::kib(24);
    cfg
}

/// Every file under `dir`, as text (lossy), to look for a leaked secret.
fn all_text(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_text(&path, out);
        } else {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn import_from_s3_equals_import_from_a_local_dir() {
    let Some(moto) = start_moto_or_skip(&[BUCKET]) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    let generated = generate(&source, 2);
    gzip_in_place(&source.join("rt.users.001.csv"));
    let uploaded = moto.upload_dir(BUCKET, PREFIX, &source).await.unwrap();
    assert!(uploaded >= 8, "{uploaded} files");
    let url = moto.url(BUCKET, PREFIX);

    let (local_work, s3_work) = (work.path().join("local"), work.path().join("s3"));
    let sim_local = start_sim(&work.path().join("sim-local")).await;
    let sim_s3 = start_sim(&work.path().join("sim-s3")).await;
    let local = import(&sim_local, &source, small_engines(&local_work), &local_work)
        .await
        .expect("import from the local dir");
    let cfg = small_engines(&s3_work);
    let remote = import(&sim_s3, Path::new(&url), cfg.clone(), &s3_work)
        .await
        .expect("import from s3");

    eprintln!("from the local dir:\n{local}\nfrom S3:\n{remote}");
    assert!(local.verified && remote.verified, "{local}\n{remote}");
    assert_eq!(remote.source_bytes, local.source_bytes);
    assert_eq!(remote.engines, local.engines);
    assert_eq!(remote.tables.len(), local.tables.len());
    for (r, l) in remote.tables.iter().zip(&local.tables) {
        assert_eq!(
            (&r.name, r.rows, r.kvs, r.kv_bytes, &r.local),
            (&l.name, l.rows, l.kvs, l.kv_bytes, &l.local),
            "{}: same totals and checksum from S3 as from the local dir",
            r.name
        );
        assert_eq!(r.remote, Some(r.local), "{}: TiKV agrees", r.name);
        assert!(r.rows > 0, "{}", r.name);
    }
    for (table, expected) in &generated.tables {
        let got = export_rows(&sim_s3, Path::new(&url), &cfg, table).await;
        assert!(
            sorted(got) == sorted(expected.clone()),
            "{table}: rows read back from TiKV (schema from S3) equal the source rows"
        );
    }

    let mut stored = String::new();
    all_text(&s3_work.join("out"), &mut stored);
    assert!(
        stored.contains(&format!("s3://{BUCKET}/{PREFIX}")),
        "the job names its source"
    );
    assert!(
        !stored.contains(moto.secret_key()),
        "no secret in the checkpoint or reports"
    );

    let again = import(&sim_s3, Path::new(&url), cfg, &s3_work)
        .await
        .expect("rerun");
    assert!(
        again.already_done && again.job_id == remote.job_id,
        "{again}"
    );
}
