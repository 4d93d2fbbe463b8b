//! `encode`: parse, then convert and encode every row into TiDB KVs and
//! checksum them, without the local engine. The per-row work is the worker's
//! (`squall_worker::task::encode`): its column map, squall-codec's
//! `Converter` (text → datum, defaults, auto IDs) and `TableEncoder`, and the
//! per-KV checksum; only the engine append is left out. Skipped-row
//! bookkeeping is not here: a generated dump has no bad rows (one is an error).

use anyhow::Context;
use squall_codec::{Converter, Datum, EncodedKv, KvChecksum, TableEncoder, ValueForm};
use squall_source::{open_chunk_in, Chunk, DataFile, Row, ValueKind};
use squall_worker::task::columns::{ColumnMap, Target};

use crate::dump::{par_map, Dump, DumpTable};
use crate::measure::{Meter, Report};

#[derive(Default)]
struct Encoded {
    rows: u64,
    kvs: u64,
    kv_bytes: u64,
    checksum: KvChecksum,
}

pub fn run(dump: &Dump, threads: usize) -> anyhow::Result<Report> {
    let converter = Converter::new(&dump.cfg.tidb.sql_mode, &dump.cfg.tidb.time_zone)
        .context("the default sql-mode and time zone")?;
    let chunks: Vec<_> = dump
        .tables
        .iter()
        .flat_map(|t| t.chunks.iter().map(move |c| (t, &t.files[c.file_index], c)))
        .collect();
    for t in &dump.tables {
        anyhow::ensure!(
            t.parsed.partition.is_none(),
            "table {} is partitioned: the encode stage covers plain tables only",
            t.parsed.info.qualified_name()
        );
    }
    let meter = Meter::start();
    let parts = par_map(threads, &chunks, |(table, file, chunk)| {
        encode_chunk(dump, &converter, table, file, chunk)
    })?;
    let span = meter.stop();
    let mut total = Encoded::default();
    for p in &parts {
        total.rows += p.rows;
        total.kvs += p.kvs;
        total.kv_bytes += p.kv_bytes;
        total.checksum.merge(&p.checksum);
    }
    Ok(
        Report::new("encode", threads, dump.source_bytes, total.rows, span)
            .with("kvs", total.kvs)
            .with("kv_bytes", total.kv_bytes)
            .with("kv_checksum", serde_json::to_value(total.checksum)?),
    )
}

fn encode_chunk(
    dump: &Dump,
    conv: &Converter,
    table: &DumpTable,
    file: &DataFile,
    chunk: &Chunk,
) -> anyhow::Result<Encoded> {
    let info = &table.parsed.info;
    let cols = &info.columns;
    let mut reader = open_chunk_in(
        &dump.store,
        file,
        chunk,
        &dump.cfg.mydumper,
        &dump.read_options(),
    )
    .with_context(|| format!("opening {}", file.path))?;
    let mut encoder = TableEncoder::new(info)?;
    let (mut row, mut out) = (Row::default(), Encoded::default());
    let (mut datums, mut kvs, mut warnings) = (Vec::new(), Vec::<EncodedKv>::new(), Vec::new());
    let mut map: Option<ColumnMap> = None;
    let mut row_id = chunk.row_id_base;
    while reader
        .read_row(&mut row)
        .with_context(|| format!("parsing {}", file.path))?
    {
        row_id += 1;
        let names = reader.columns();
        if !map.as_ref().is_some_and(|m| m.is_for(names)) {
            map = Some(ColumnMap::build(info, names).map_err(|e| {
                anyhow::anyhow!("{}: columns do not match the table: {e:?}", file.path)
            })?);
        }
        let map = map.as_ref().context("column map")?;
        let at = || format!("{} line {}", file.path, row.line);
        anyhow::ensure!(
            map.accepts_field_count(row.fields.len()),
            "{}: {} fields, the table has {}",
            at(),
            row.fields.len(),
            map.targets().len()
        );
        datums.clear();
        datums.resize(cols.len(), Datum::Null);
        let mut given = vec![false; cols.len()];
        let mut handle = squall_codec::row_id::shard_row_id(row_id, info.row_ids.shard_row_id_bits);
        for (i, (target, field)) in map.targets().iter().zip(&row.fields).enumerate() {
            match *target {
                Target::Column(c) => {
                    datums[c] = conv
                        .convert_as(&cols[c], field.as_deref(), form(row.kind(i)), &mut warnings)
                        .with_context(at)?;
                    given[c] = true;
                }
                Target::RowId => {
                    let text = field
                        .as_deref()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    handle = text.trim().parse().with_context(at)?;
                }
            }
        }
        for (c, col) in cols.iter().enumerate() {
            if !given[c] && col.generated.is_none() {
                datums[c] = conv.default_for(col, &mut warnings).with_context(at)?;
            }
        }
        conv.fill_auto_ids(info, &mut datums, row_id);
        map.fill_generated(info, &mut datums, conv)
            .map_err(|e| anyhow::anyhow!("{}: {e}", at()))?;
        encoder
            .encode_row(&datums, handle, &mut kvs)
            .with_context(at)?;
        warnings.clear();
        for kv in kvs.drain(..) {
            out.checksum.update(&kv.key, &kv.value);
            out.kvs += 1;
            out.kv_bytes += (kv.key.len() + kv.value.len()) as u64;
        }
        out.rows += 1;
    }
    Ok(out)
}

fn form(kind: ValueKind) -> ValueForm {
    match kind {
        ValueKind::Text => ValueForm::Text,
        ValueKind::Number => ValueForm::Number,
        ValueKind::Binary => ValueForm::Binary,
    }
}
