//! `s3://` sources against a real S3-compatible server (moto, with
//! signatures enforced): listing, ranged reads, discovery, schemas, chunking
//! and parsing give exactly what the same files give from a local
//! directory, compressed files included; a wrong bucket, wrong credentials
//! and an unreachable endpoint fail with the URL (never the secret) and
//! what to check.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::io::{Read, Write};
use std::path::Path;

use import_common::gen::generate;
use squall_common::config::ByteSize;
use squall_common::TaskConfig;
use squall_source::{
    chunk_table, discover, load_schemas, open_chunk_in, ReadOptions, Row, SourceStore,
};
use squall_tests::s3::{start_moto_or_skip, MotoServer};

const BUCKET: &str = "src";
const PREFIX: &str = "dumps/one";

/// The generated dump with one CSV file gzip-compressed, uploaded under
/// `PREFIX`, plus objects next to it that must not be seen.
fn dump_in_moto(moto: &MotoServer, dir: &Path) {
    generate(dir, 2);
    let plain = dir.join("rt.users.001.csv");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.join("rt.users.001.csv.gz")).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(&std::fs::read(&plain).unwrap()).unwrap();
    gz.finish().unwrap();
    std::fs::remove_file(plain).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        moto.upload_dir(BUCKET, PREFIX, dir).await.unwrap();
        for decoy in ["dumps/one-more/rt.users.009.csv", "dumps/x.csv", "top.csv"] {
            moto.put(BUCKET, decoy, b"1,2\n".to_vec()).await.unwrap();
        }
    });
}

fn read_from(store: &SourceStore, path: &str, start: u64) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .reader(path, start)
        .unwrap_or_else(|e| panic!("{path} at {start}: {e}"))
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Every row of every chunk of every table, in plan order.
fn all_rows(store: &SourceStore, cfg: &TaskConfig) -> (Vec<(String, Row)>, usize) {
    let catalog = discover(store, &cfg.mydumper).unwrap();
    let mut rows = Vec::new();
    let mut offset_chunks = 0;
    for table in &catalog.tables {
        let chunks = chunk_table(store, table, &cfg.mydumper, None).unwrap();
        for chunk in &chunks {
            offset_chunks += usize::from(chunk.start > 0);
            let file = &table.data_files[chunk.file_index];
            let read = ReadOptions::default();
            let mut reader = open_chunk_in(store, file, chunk, &cfg.mydumper, &read).unwrap();
            while let Some(row) = reader.next_row().unwrap() {
                rows.push((chunk.path.clone(), row));
            }
        }
    }
    (rows, offset_chunks)
}

#[test]
fn s3_source_reads_exactly_like_the_local_directory() {
    let Some(moto) = start_moto_or_skip(&[BUCKET]) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("dump");
    dump_in_moto(&moto, &dir);
    let local = SourceStore::open(dir.to_str().unwrap()).unwrap();
    let remote = SourceStore::open(&moto.url(BUCKET, PREFIX)).unwrap();
    assert!(!remote.root().contains(moto.secret_key()), "{remote:?}");

    let listed = remote.list().unwrap();
    assert_eq!(listed, local.list().unwrap(), "same files, same sizes");
    assert!(listed.iter().any(|f| f.path.ends_with(".csv.gz")));
    assert!(listed.iter().any(|f| f.path.ends_with(".sql")));
    for file in &listed {
        for start in [0, 1, file.size / 2, file.size.saturating_sub(1), file.size] {
            assert!(
                read_from(&remote, &file.path, start) == read_from(&local, &file.path, start),
                "{} from byte {start}",
                file.path
            );
        }
    }

    let mut cfg = TaskConfig::default();
    cfg.mydumper.max_region_size = ByteSize::kib(2);
    let schemas = |store: &SourceStore| {
        let catalog = discover(store, &cfg.mydumper).unwrap();
        (
            catalog.clone(),
            load_schemas(store, &catalog, &cfg, None).unwrap(),
        )
    };
    assert_eq!(schemas(&remote), schemas(&local), "catalog and schemas");
    let (remote_rows, offset_chunks) = all_rows(&remote, &cfg);
    let (local_rows, _) = all_rows(&local, &cfg);
    assert!(offset_chunks > 0, "chunks start inside files");
    assert!(remote_rows.len() > 100, "{} rows", remote_rows.len());
    assert!(
        remote_rows == local_rows,
        "rows parsed from S3 equal the local rows"
    );
    assert!(remote_rows
        .iter()
        .any(|(path, _)| path.ends_with(".csv.gz")));
}

#[test]
fn s3_credentials_and_endpoint_from_the_environment() {
    let Some(moto) = start_moto_or_skip(&[BUCKET]) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(moto.put(BUCKET, "env/db.t.000.csv", b"a,b\n1,2\n".to_vec()))
        .unwrap();
    // Each test runs in its own process under nextest; the others in this
    // file name everything in their URL, which wins over the environment.
    std::env::set_var("AWS_ACCESS_KEY_ID", moto.access_key());
    std::env::set_var("AWS_SECRET_ACCESS_KEY", moto.secret_key());
    std::env::set_var("AWS_ENDPOINT_URL", moto.endpoint());
    std::env::set_var("AWS_REGION", squall_tests::s3::REGION);
    let store = SourceStore::open(&format!("s3://{BUCKET}/env")).unwrap();
    let files = store.list().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(read_from(&store, &files[0].path, 4), b"1,2\n");
}

/// The error of listing `url`, checked to name the redacted URL and never
/// the secret.
fn list_error(url: &str, shown: &str, secret: &str) -> String {
    let store = SourceStore::open(url).unwrap();
    let text = store.list().unwrap_err().to_string();
    assert!(text.contains(shown), "names {shown}: {text}");
    assert!(!text.contains(secret), "leaks the secret: {text}");
    eprintln!("refused as expected: {text}");
    text
}

#[test]
fn s3_failures_name_the_url_and_what_to_check() {
    let Some(moto) = start_moto_or_skip(&[BUCKET]) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(moto.put(BUCKET, "db.t.000.csv", b"1\n".to_vec()))
        .unwrap();
    // Bucket-root URLs: moto mis-verifies signed LISTs under a prefix.
    moto.enforce_signatures().unwrap();
    let (key, secret) = (moto.access_key(), moto.secret_key());
    let good = SourceStore::open(&moto.url(BUCKET, "")).unwrap();
    assert_eq!(good.list().unwrap().len(), 1, "signed with the right key");

    let text = list_error(
        &moto.url("nobucket", ""),
        "s3://nobucket/?endpoint=",
        secret,
    );
    assert!(
        text.contains("NoSuchBucket") && text.contains("check the bucket name"),
        "{text}"
    );

    let wrong = "WrongSecret0123456789";
    let url = moto.url_with(BUCKET, "", key, wrong);
    let text = list_error(&url, "s3://src/?endpoint=", wrong);
    assert!(
        text.contains("SignatureDoesNotMatch") && text.contains("check the credentials"),
        "{text}"
    );

    let url = moto.url_with(BUCKET, "", "AKIANOSUCHKEY0000000", secret);
    let text = list_error(&url, "s3://src/?endpoint=", secret);
    assert!(
        text.contains("InvalidAccessKeyId") && text.contains("check the credentials"),
        "{text}"
    );

    let port = squall_tests::free_port();
    let url = format!(
        "s3://{BUCKET}/p?endpoint=http://127.0.0.1:{port}&access-key={key}&secret-access-key={}",
        squall_tests::s3::query_encode(secret)
    );
    let started = std::time::Instant::now();
    let shown = format!("s3://{BUCKET}/p?endpoint=http://127.0.0.1:{port}");
    let text = list_error(&url, &shown, secret);
    assert!(text.contains("check the endpoint"), "{text}");
    assert!(
        started.elapsed().as_secs() < 60,
        "bounded retries: {:?}",
        started.elapsed()
    );

    let err = good.reader("db.t.999.csv", 0).err().unwrap().to_string();
    assert!(
        err.contains("db.t.999.csv") && err.contains("s3://src/"),
        "{err}"
    );
    assert!(
        err.contains("check the bucket name and the prefix"),
        "{err}"
    );
}
