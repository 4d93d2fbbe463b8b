//! `sst-ingest` yardstick: RocksDB's bulk load of KVs that are already
//! sorted (the file `sort --export` wrote): SstFileWriter files of
//! `--sst-size` bytes, then one `ingest_external_file` into a fresh DB,
//! uncompressed and without auto compactions like the worker's engine. The
//! fastest a sorted engine can be written on this machine; the `sort`
//! stage is shown as a ratio to it.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rocksdb::{DBCompressionType, IngestExternalFileOptions, Options, SstFileWriter, DB};

use crate::measure::{Meter, Report};

pub fn run(kvs: &Path, work: &Path, source_bytes: u64, sst_size: u64) -> anyhow::Result<Report> {
    std::fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.set_compression_type(DBCompressionType::None);
    opts.set_disable_auto_compactions(true);
    let file = std::fs::File::open(kvs).with_context(|| format!("opening {}", kvs.display()))?;
    let mut input = BufReader::with_capacity(1 << 20, file);

    let meter = Meter::start();
    let (mut ssts, mut n, mut bytes) = (Vec::<PathBuf>::new(), 0u64, 0u64);
    let mut writer: Option<SstFileWriter> = None;
    let mut in_file = 0u64;
    let (mut key, mut value) = (Vec::new(), Vec::new());
    while read_kv(&mut input, &mut key, &mut value)
        .with_context(|| format!("reading {}", kvs.display()))?
    {
        if writer.is_none() {
            let path = work.join(format!("{:05}.sst", ssts.len()));
            let w = SstFileWriter::create(&opts);
            w.open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            ssts.push(path);
            writer = Some(w);
        }
        let w = writer.as_mut().context("an open SST writer")?;
        w.put(&key, &value)?;
        n += 1;
        bytes += (key.len() + value.len()) as u64;
        in_file += (key.len() + value.len()) as u64;
        if in_file >= sst_size {
            if let Some(mut w) = writer.take() {
                w.finish()?;
            }
            in_file = 0;
        }
    }
    if let Some(mut w) = writer.take() {
        w.finish()?;
    }
    let written = meter.stop();
    let db_dir = work.join("db");
    let db = DB::open(&opts, &db_dir).with_context(|| format!("opening {}", db_dir.display()))?;
    let mut ingest = IngestExternalFileOptions::default();
    ingest.set_move_files(true);
    db.ingest_external_file_opts(&ingest, ssts.clone())
        .context("ingesting the SST files")?;
    let total = meter.stop();
    drop(db);
    let _ = std::fs::remove_dir_all(work);
    Ok(Report::new("sst-ingest", 1, source_bytes, n, total)
        .with("kvs", n)
        .with("kv_bytes", bytes)
        .with("sst_files", ssts.len())
        .with("sst_write_secs", written.secs)
        .with(
            "kv_mb_per_s",
            if total.secs > 0.0 {
                bytes as f64 / 1e6 / total.secs
            } else {
                0.0
            },
        ))
}

/// The next `u32 klen, u32 vlen, key, value` record; `false` at the end.
fn read_kv(r: &mut impl Read, key: &mut Vec<u8>, value: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let (k, v) = head.split_at(4);
    let klen = u32::from_le_bytes(k.try_into().unwrap_or_default()) as usize;
    let vlen = u32::from_le_bytes(v.try_into().unwrap_or_default()) as usize;
    key.resize(klen, 0);
    value.resize(vlen, 0);
    r.read_exact(key)?;
    r.read_exact(value)?;
    Ok(true)
}
