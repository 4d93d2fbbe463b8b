//! `parse`: Squall's own CSV/SQL readers over every chunk of the dump,
//! opened the way the worker's encode opens them (`open_chunk_in` with the
//! task's `[mydumper]` settings), rows counted and dropped.

use anyhow::Context;
use squall_source::{open_chunk_in, Row};

use crate::dump::{par_map, Dump};
use crate::measure::{Meter, Report};

pub fn run(dump: &Dump, threads: usize) -> anyhow::Result<Report> {
    let read = dump.read_options();
    let chunks: Vec<_> = dump
        .tables
        .iter()
        .flat_map(|t| t.chunks.iter().map(move |c| (&t.files[c.file_index], c)))
        .collect();
    let meter = Meter::start();
    let counts = par_map(threads, &chunks, |(file, chunk)| {
        let mut reader = open_chunk_in(&dump.store, file, chunk, &dump.cfg.mydumper, &read)
            .with_context(|| format!("opening {}", file.path))?;
        let (mut row, mut rows, mut field_bytes) = (Row::default(), 0u64, 0u64);
        while reader
            .read_row(&mut row)
            .with_context(|| format!("parsing {}", file.path))?
        {
            rows += 1;
            field_bytes += row
                .fields
                .iter()
                .flatten()
                .map(|f| f.len() as u64)
                .sum::<u64>();
        }
        Ok((rows, field_bytes))
    })?;
    let span = meter.stop();
    let rows = counts.iter().map(|c| c.0).sum();
    let field_bytes: u64 = counts.iter().map(|c| c.1).sum();
    Ok(Report::new("parse", threads, dump.source_bytes, rows, span)
        .with("chunks", chunks.len())
        .with("field_bytes", field_bytes))
}
