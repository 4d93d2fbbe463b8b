//! Opening a chunk for reading: storage, decompression, character set, format.

use std::io::Read;

use squall_common::config::{DataCharset, MydumperConfig};

use crate::catalog::{Chunk, Compression, DataFile, FileKind};
use crate::charset::SourceCharset;
use crate::csv::{CsvOptions, CsvReader, CsvSpan};
use crate::error::{ErrorKind, SourceError};
use crate::parquet::ParquetReader;
use crate::row::{ReadOptions, RowReader};
use crate::sql::{SqlReader, SqlSpan};
use crate::storage::SourceStore;
use crate::transcode::Transcoder;

/// The reader of one chunk, with Lightning's defaults for everything not in
/// `[mydumper]` (no field-count check).
pub fn open_chunk(
    file: &DataFile,
    chunk: &Chunk,
    cfg: &MydumperConfig,
) -> Result<Box<dyn RowReader + Send>, SourceError> {
    let store = SourceStore::open(&cfg.data_source_dir)?;
    open_chunk_in(&store, file, chunk, cfg, &ReadOptions::default())
}

/// [`open_chunk`] over a given store and with explicit read options. The
/// data character set comes from `cfg` (`mydumper.data-character-set`)
/// unless it is `binary` there and `read` sets one.
pub fn open_chunk_in(
    store: &SourceStore,
    file: &DataFile,
    chunk: &Chunk,
    cfg: &MydumperConfig,
    read: &ReadOptions,
) -> Result<Box<dyn RowReader + Send>, SourceError> {
    if file.kind == FileKind::Parquet {
        // Parquet strings are UTF-8 by the format: no data character set.
        return Ok(Box::new(ParquetReader::new(store, file, chunk, read)?));
    }
    let input = open_decoded(store, file, chunk.start, cfg)?;
    let read = &data_read_options(read, cfg);
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
        // Opened above, before any decoding.
        FileKind::Parquet => Ok(Box::new(ParquetReader::new(store, file, chunk, read)?)),
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
        Compression::Snappy => Box::new(SnappyFrames(snap::read::FrameDecoder::new(raw))),
    })
}

/// Snappy's framing decoder, whose errors say what was expected (its own
/// read as "failed to fill whole buffer" for a file that is not framed).
struct SnappyFrames<R: Read>(snap::read::FrameDecoder<R>);

impl<R: Read> Read for SnappyFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("not a valid snappy stream (the framing format Dumpling writes): {e}"),
            )
        })
    }
}

/// Whether a file is read whole, as one chunk, with offsets in the bytes the
/// parser sees (decompressed, converted to UTF-8) rather than as stored.
/// Never a parquet file: it is cut at row groups and holds UTF-8 text.
pub fn is_streamed(file: &DataFile, cfg: &MydumperConfig) -> bool {
    if file.kind == FileKind::Parquet {
        return false;
    }
    file.compression != Compression::None || stream_encoding(cfg).is_some()
}

/// The encoding converted to UTF-8 before parsing, for the character sets
/// where a byte that looks like `\`, `"` or `,` can be half of a character
/// (GBK, GB18030), or where a character's length changes (latin1).
fn stream_encoding(cfg: &MydumperConfig) -> Option<(&'static encoding_rs::Encoding, &'static str)> {
    match cfg.data_character_set {
        DataCharset::Gbk => Some((encoding_rs::GBK, "gbk")),
        DataCharset::Gb18030 => Some((encoding_rs::GB18030, "gb18030")),
        DataCharset::Latin1 => Some((encoding_rs::WINDOWS_1252, "latin1")),
        DataCharset::Binary | DataCharset::Utf8mb4 => None,
    }
}

/// The file's bytes from `start` on, decompressed and converted to UTF-8
/// as `mydumper.data-character-set` says: what the parsers read.
pub fn open_decoded(
    store: &SourceStore,
    file: &DataFile,
    start: u64,
    cfg: &MydumperConfig,
) -> Result<Box<dyn Read + Send>, SourceError> {
    let Some((encoding, name)) = stream_encoding(cfg) else {
        return open_decompressed(store, file, start);
    };
    if start != 0 {
        let reason = format!(
            "a file converted from {name} is one chunk; cannot start reading at byte {start}"
        );
        return Err(SourceError::new(ErrorKind::Io, &file.path, reason));
    }
    let raw = open_decompressed(store, file, 0)?;
    let replace = Some(cfg.data_invalid_char_replace.as_str()).filter(|r| !r.is_empty());
    Ok(Box::new(Transcoder::new(
        raw, encoding, name, replace, &file.path,
    )))
}

/// Read options for data values under `cfg`: UTF-8 data is checked value by
/// value (a file converted while read is UTF-8 already).
pub(crate) fn data_read_options(read: &ReadOptions, cfg: &MydumperConfig) -> ReadOptions {
    let mut out = read.clone();
    if cfg.data_character_set == DataCharset::Binary {
        return out;
    }
    out.invalid_char_replace =
        Some(cfg.data_invalid_char_replace.clone()).filter(|r| !r.is_empty());
    match cfg.data_character_set {
        DataCharset::Binary => {}
        DataCharset::Utf8mb4 => out.data_charset = SourceCharset::Utf8mb4,
        DataCharset::Gbk | DataCharset::Gb18030 | DataCharset::Latin1 => {
            out.data_charset = SourceCharset::Binary
        }
    }
    out
}
