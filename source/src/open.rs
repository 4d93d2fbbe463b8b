//! Opening a chunk for reading: storage, decompression, format.

use std::io::Read;

use squall_common::config::MydumperConfig;

use crate::catalog::{Chunk, Compression, DataFile, FileKind};
use crate::csv::{CsvOptions, CsvReader, CsvSpan};
use crate::error::{ErrorKind, SourceError};
use crate::row::{ReadOptions, RowReader};
use crate::sql::{SqlReader, SqlSpan};
use crate::storage::SourceStore;

/// The reader of one chunk, with Lightning's defaults for everything not in
/// `[mydumper]` (data charset `binary`, no field-count check).
pub fn open_chunk(
    file: &DataFile,
    chunk: &Chunk,
    cfg: &MydumperConfig,
) -> Result<Box<dyn RowReader + Send>, SourceError> {
    let store = SourceStore::open(&cfg.data_source_dir)?;
    open_chunk_in(&store, file, chunk, cfg, &ReadOptions::default())
}

/// [`open_chunk`] over a given store and with explicit read options.
pub fn open_chunk_in(
    store: &SourceStore,
    file: &DataFile,
    chunk: &Chunk,
    cfg: &MydumperConfig,
    read: &ReadOptions,
) -> Result<Box<dyn RowReader + Send>, SourceError> {
    let input = open_decompressed(store, file, chunk.start)?;
    let block = usize::try_from(cfg.read_block_size.0)
        .unwrap_or(usize::MAX)
        .min(16 << 20);
    match file.kind {
        FileKind::Csv => {
            let opts = CsvOptions::from_config(&cfg.csv).map_err(|e| e.with_file(&file.path))?;
            let span = CsvSpan {
                start: chunk.start,
                end: chunk.end,
                start_line: chunk.start_line.unwrap_or(1),
                columns: chunk.columns.clone(),
            };
            Ok(Box::new(CsvReader::new(
                input, opts, &file.path, span, read, block,
            )?))
        }
        FileKind::Sql => {
            let span = SqlSpan {
                start: chunk.start,
                end: chunk.end,
                start_line: chunk.start_line.unwrap_or(1),
                in_values: chunk.sql_in_values,
                columns: chunk.columns.clone(),
            };
            Ok(Box::new(SqlReader::new(
                input, &file.path, span, read, block,
            )))
        }
        FileKind::Parquet => Err(SourceError::new(
            ErrorKind::Unsupported,
            &file.path,
            "parquet is not supported",
        )),
    }
}

/// The file's bytes from `start` on, decompressed. Compressed files can
/// only be read from the beginning.
pub fn open_decompressed(
    store: &SourceStore,
    file: &DataFile,
    start: u64,
) -> Result<Box<dyn Read + Send>, SourceError> {
    if file.compression != Compression::None && start != 0 {
        let reason =
            format!("a compressed file is one chunk; cannot start reading at byte {start}");
        return Err(SourceError::new(ErrorKind::Io, &file.path, reason));
    }
    let raw = store.reader(&file.path, start)?;
    Ok(match file.compression {
        Compression::None => raw,
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(raw).map_err(|e| SourceError::io(&file.path, e))?,
        ),
    })
}
