//! Splitting a table's files into chunks at row boundaries, and giving each
//! chunk a disjoint `_tidb_rowid` range. Deterministic: the same files and
//! config always give the same chunks.
//!
//! * Files up to 1.1 × `max-region-size` are one chunk (Lightning's rule).
//! * Larger CSV files with `strict-format` are cut every `max-region-size`
//!   bytes, each cut moved to just after the next line terminator (strict
//!   format promises no terminator inside a field, so no quote-aware scan).
//! * Larger CSV files without strict format, and larger SQL files, are read
//!   once with the real parser and cut at the first row (CSV record, SQL
//!   tuple) starting `max-region-size` bytes after the chunk start; a SQL
//!   chunk remembers that it starts inside a `VALUES` list and that
//!   statement's column list.
//! * Parquet files are cut between row groups, about `max-region-size`
//!   bytes of row groups per chunk; their row counts are exact (the footer).
//! * Compressed files, and files converted from GBK, GB18030 or latin1
//!   while read, are one chunk, read once to count rows.
//!
//! Row IDs: a scanned chunk's range is its exact row count; an unscanned
//! one gets an upper bound from its size (a CSV row with n fields takes at
//! least n−1 separators, a SQL tuple at least `()`), so ranges never overlap.

use std::io::Read;

use squall_common::config::MydumperConfig;

use crate::catalog::{Chunk, DataFile, FileKind, TableSource};
use crate::csv::{CsvOptions, CsvReader, CsvSpan};
use crate::error::SourceError;
use crate::open::{is_streamed, open_decoded};
use crate::parquet::row_group_spans as parquet_spans;
use crate::row::{ReadOptions, Row, RowReader};
use crate::sql::{SqlReader, SqlSpan};
use crate::storage::SourceStore;

/// Bytes sampled from the start of an unscanned file to estimate its rows.
const SAMPLE_BYTES: u64 = 64 << 10;

/// Chunks of every data file of `table`, in file order. `columns` is the
/// table's column count (tightens row-ID bounds of unscanned chunks).
pub fn chunk_table(
    store: &SourceStore,
    table: &TableSource,
    cfg: &MydumperConfig,
    columns: Option<usize>,
) -> Result<Vec<Chunk>, SourceError> {
    let mut out = Vec::new();
    let mut next_row_id: i64 = 0;
    for (i, file) in table.data_files.iter().enumerate() {
        let pieces = chunk_file(store, file, cfg, columns)?;
        for p in pieces {
            let base = next_row_id;
            next_row_id = base.saturating_add(i64::try_from(p.max_rows).unwrap_or(i64::MAX));
            out.push(Chunk {
                file_index: i,
                path: file.path.clone(),
                start: p.start,
                end: p.end,
                start_line: p.start_line,
                est_rows: p.est_rows,
                row_id_base: base,
                row_id_max: next_row_id,
                columns: p.columns,
                sql_in_values: p.in_values,
            });
        }
    }
    Ok(out)
}

/// A chunk before row IDs are given out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    start: u64,
    end: u64,
    start_line: Option<u64>,
    est_rows: u64,
    /// Upper bound of rows (exact when scanned).
    max_rows: u64,
    columns: Option<Vec<String>>,
    in_values: bool,
}

fn chunk_file(
    store: &SourceStore,
    file: &DataFile,
    cfg: &MydumperConfig,
    columns: Option<usize>,
) -> Result<Vec<Piece>, SourceError> {
    let limit = cfg.max_region_size.0.max(1);
    if file.kind == FileKind::Parquet {
        return parquet_cuts(store, file, limit);
    }
    // Streamed: compressed, or converted to UTF-8 while read (offsets are
    // then in the converted text): read whole, as one chunk.
    let streamed = is_streamed(file, cfg);
    let split = !streamed && file.size > limit.saturating_add(limit / 10);
    if !split && !streamed {
        let max_rows = bound_rows(file, cfg, file.size, columns);
        let est = estimate_rows(store, file, cfg, file.size)?.min(max_rows);
        return Ok(vec![Piece {
            start: 0,
            end: file.size,
            start_line: Some(1),
            est_rows: est,
            max_rows,
            columns: None,
            in_values: false,
        }]);
    }
    let max = if streamed { u64::MAX } else { limit };
    match file.kind {
        FileKind::Csv if cfg.strict_format && !streamed => {
            strict_csv_cuts(store, file, cfg, columns)
        }
        FileKind::Csv => scan_csv(store, file, cfg, max),
        FileKind::Sql => scan_sql(store, file, cfg, max),
        FileKind::Parquet => parquet_cuts(store, file, limit),
    }
}

/// Parquet: runs of whole row groups of about `limit` bytes (as stored),
/// row counts exact from the footer. A chunk's range holds the first byte
/// of each of its row groups; the ranges cover the file.
fn parquet_cuts(
    store: &SourceStore,
    file: &DataFile,
    limit: u64,
) -> Result<Vec<Piece>, SourceError> {
    let piece = |start: u64, rows: u64| Piece {
        start,
        end: 0,
        start_line: None,
        est_rows: rows,
        max_rows: rows,
        columns: None,
        in_values: false,
    };
    let mut pieces = vec![piece(0, 0)];
    let mut bytes = 0u64;
    for g in parquet_spans(store, file)? {
        let cur = pieces.last_mut().expect("one piece exists");
        if cur.max_rows > 0 && bytes >= limit {
            cur.end = g.start;
            pieces.push(piece(g.start, 0));
            bytes = 0;
        }
        let cur = pieces.last_mut().expect("one piece exists");
        cur.max_rows += g.rows;
        cur.est_rows += g.rows;
        bytes += g.end.saturating_sub(g.start);
    }
    if let Some(last) = pieces.last_mut() {
        last.end = file.size;
    }
    Ok(pieces)
}

/// Most rows `bytes` of this file can hold.
fn bound_rows(file: &DataFile, cfg: &MydumperConfig, bytes: u64, columns: Option<usize>) -> u64 {
    let min_row = match file.kind {
        FileKind::Csv => {
            let sep = cfg.csv.separator.len().max(1) as u64;
            (columns.unwrap_or(1).saturating_sub(1) as u64 * sep).max(1)
        }
        _ => 2,
    };
    bytes / min_row + 1
}

fn block(cfg: &MydumperConfig) -> usize {
    usize::try_from(cfg.read_block_size.0)
        .unwrap_or(usize::MAX)
        .min(16 << 20)
}

fn scan_options() -> ReadOptions {
    ReadOptions {
        expected_fields: None,
        ..ReadOptions::default()
    }
}

/// Estimates rows from the average length of rows in the first block.
fn estimate_rows(
    store: &SourceStore,
    file: &DataFile,
    cfg: &MydumperConfig,
    bytes: u64,
) -> Result<u64, SourceError> {
    if bytes == 0 {
        return Ok(0);
    }
    let input = open_decoded(store, file, 0, cfg)?.take(SAMPLE_BYTES);
    let mut reader: Box<dyn RowReader> = match file.kind {
        FileKind::Csv => {
            let opts = CsvOptions::from_config(&cfg.csv)?;
            let span = CsvSpan {
                start: 0,
                end: u64::MAX,
                start_line: 1,
                columns: None,
            };
            Box::new(CsvReader::new(
                input,
                opts,
                &file.path,
                span,
                &scan_options(),
                block(cfg),
            )?)
        }
        _ => Box::new(SqlReader::new(
            input,
            &file.path,
            SqlSpan {
                end: u64::MAX,
                ..SqlSpan::default()
            },
            &scan_options(),
            block(cfg),
        )),
    };
    let (mut rows, mut row, mut first, mut last) = (0u64, Row::default(), None, 0u64);
    // A sample cut mid-row ends in an error: the rows before it still count.
    while let Ok(true) = reader.read_row(&mut row) {
        first.get_or_insert(row.offset);
        rows += 1;
        last = reader.position();
    }
    let span = last.saturating_sub(first.unwrap_or(0));
    if rows == 0 || span == 0 {
        return Ok(1);
    }
    Ok((bytes as f64 * rows as f64 / span as f64).ceil() as u64)
}

/// Strict-format CSV: cut every `max-region-size` bytes, at the next terminator.
fn strict_csv_cuts(
    store: &SourceStore,
    file: &DataFile,
    cfg: &MydumperConfig,
    columns: Option<usize>,
) -> Result<Vec<Piece>, SourceError> {
    let limit = cfg.max_region_size.0.max(1);
    let opts = CsvOptions::from_config(&cfg.csv)?;
    let header = if opts.header && opts.header_schema_match {
        let span = CsvSpan {
            start: 0,
            end: u64::MAX,
            start_line: 1,
            columns: None,
        };
        let r = CsvReader::new(
            store.reader(&file.path, 0)?,
            opts.clone(),
            &file.path,
            span,
            &scan_options(),
            block(cfg),
        )?;
        r.columns().map(<[String]>::to_vec)
    } else {
        None
    };
    let mut starts = vec![0u64];
    let mut at = 0u64;
    loop {
        let target = at + limit;
        if target >= file.size {
            break;
        }
        match next_terminator_end(store, file, &opts, target)? {
            Some(cut) if cut < file.size => {
                starts.push(cut);
                at = cut;
            }
            _ => break,
        }
    }
    let mut pieces = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(file.size);
        let max_rows = bound_rows(
            file,
            cfg,
            end - start,
            columns.or(header.as_ref().map(Vec::len)),
        );
        pieces.push(Piece {
            start,
            end,
            start_line: (k == 0).then_some(1),
            est_rows: max_rows,
            max_rows,
            columns: if k == 0 { None } else { header.clone() },
            in_values: false,
        });
    }
    if let Some(first) = pieces.first_mut() {
        first.est_rows = estimate_rows(store, file, cfg, first.end)?.min(first.max_rows);
    }
    Ok(pieces)
}

/// Offset just after the first terminator at or after `from`, if any.
fn next_terminator_end(
    store: &SourceStore,
    file: &DataFile,
    opts: &CsvOptions,
    from: u64,
) -> Result<Option<u64>, SourceError> {
    let mut r = store.reader(&file.path, from)?;
    let mut buf = vec![0u8; 64 << 10];
    let mut pos = from;
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = r
            .read(&mut buf)
            .map_err(|e| SourceError::io(&file.path, e))?;
        if n == 0 {
            return Ok(None);
        }
        let base = pos - carry.len() as u64;
        carry.extend_from_slice(&buf[..n]);
        pos += n as u64;
        let found = match &opts.terminator {
            Some(t) => memchr::memmem::find(&carry, t).map(|i| i + t.len()),
            None => memchr::memchr2(b'\n', b'\r', &carry).map(|i| {
                if carry[i] == b'\r' && carry.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                }
            }),
        };
        if let Some(end) = found {
            return Ok(Some(base + end as u64));
        }
        let keep = opts.terminator.as_ref().map_or(1, |t| t.len());
        let drop = carry.len().saturating_sub(keep);
        carry.drain(..drop);
    }
}

/// Reads the whole CSV file with the parser, cutting at record starts.
fn scan_csv(
    store: &SourceStore,
    file: &DataFile,
    cfg: &MydumperConfig,
    limit: u64,
) -> Result<Vec<Piece>, SourceError> {
    let opts = CsvOptions::from_config(&cfg.csv)?;
    let span = CsvSpan {
        start: 0,
        end: u64::MAX,
        start_line: 1,
        columns: None,
    };
    let mut r = CsvReader::new(
        open_decoded(store, file, 0, cfg)?,
        opts,
        &file.path,
        span,
        &scan_options(),
        block(cfg),
    )?;
    let header = r.columns().map(<[String]>::to_vec);
    let mut pieces = vec![Piece {
        start: 0,
        end: 0,
        start_line: Some(1),
        est_rows: 0,
        max_rows: 0,
        columns: None,
        in_values: false,
    }];
    while r.read_record()? {
        let (offset, line) = r.record_start();
        let cur = pieces.last_mut().expect("one piece exists");
        if cur.max_rows > 0 && offset - cur.start >= limit {
            cur.end = offset;
            pieces.push(Piece {
                start: offset,
                end: 0,
                start_line: Some(line),
                est_rows: 0,
                max_rows: 0,
                columns: header.clone(),
                in_values: false,
            });
        }
        let cur = pieces.last_mut().expect("one piece exists");
        cur.max_rows += 1;
        cur.est_rows += 1;
    }
    finish(&mut pieces, file, cfg);
    Ok(pieces)
}

/// Reads the whole SQL file with the parser, cutting at tuple starts.
fn scan_sql(
    store: &SourceStore,
    file: &DataFile,
    cfg: &MydumperConfig,
    limit: u64,
) -> Result<Vec<Piece>, SourceError> {
    let span = SqlSpan {
        end: u64::MAX,
        start_line: 1,
        ..SqlSpan::default()
    };
    let mut r = SqlReader::new(
        open_decoded(store, file, 0, cfg)?,
        &file.path,
        span,
        &scan_options(),
        block(cfg),
    );
    let mut pieces = vec![Piece {
        start: 0,
        end: 0,
        start_line: Some(1),
        est_rows: 0,
        max_rows: 0,
        columns: None,
        in_values: false,
    }];
    let mut scratch = Row::default();
    while let Some((offset, line)) = r.skip_tuple(&mut scratch)? {
        let cur = pieces.last_mut().expect("one piece exists");
        if cur.max_rows > 0 && offset - cur.start >= limit {
            cur.end = offset;
            let columns = r.current_columns();
            pieces.push(Piece {
                start: offset,
                end: 0,
                start_line: Some(line),
                est_rows: 0,
                max_rows: 0,
                columns,
                in_values: true,
            });
        }
        let cur = pieces.last_mut().expect("one piece exists");
        cur.max_rows += 1;
        cur.est_rows += 1;
    }
    finish(&mut pieces, file, cfg);
    Ok(pieces)
}

fn finish(pieces: &mut [Piece], file: &DataFile, cfg: &MydumperConfig) {
    if let Some(last) = pieces.last_mut() {
        last.end = if is_streamed(file, cfg) {
            u64::MAX
        } else {
            file.size
        };
    }
}
