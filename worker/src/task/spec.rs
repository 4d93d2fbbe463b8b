//! The plan's chunk records ([`ChunkSpec`], stored in checkpoints) and the
//! source crate's `DataFile`/`Chunk` (what its readers take), both ways.

use squall_common::checkpoint::{ChunkSpec, SourceFileSpec};
use squall_source::{Chunk, Compression, DataFile, FileKind};

/// A chunk spec whose file format or compression this build cannot read.
#[derive(Debug, thiserror::Error)]
#[error("chunk of {path}: unknown {what} {value:?} in the checkpoint")]
pub struct BadChunkSpec {
    pub path: String,
    pub what: &'static str,
    pub value: String,
}

pub fn spec_from_source(ordinal: u32, file: &DataFile, chunk: &Chunk) -> ChunkSpec {
    ChunkSpec {
        file: SourceFileSpec {
            path: file.path.clone(),
            format: format_name(file.kind).to_string(),
            compression: compression_name(file.compression).to_string(),
            size: file.size,
            sort_key: file.sort_key.clone(),
        },
        ordinal,
        file_index: u32::try_from(chunk.file_index).unwrap_or(u32::MAX),
        start: chunk.start,
        end: chunk.end,
        start_line: chunk.start_line,
        est_rows: chunk.est_rows,
        row_id_base: chunk.row_id_base,
        row_id_max: chunk.row_id_max,
        columns: chunk.columns.clone(),
        sql_in_values: chunk.sql_in_values,
    }
}

pub fn source_from_spec(spec: &ChunkSpec) -> Result<(DataFile, Chunk), BadChunkSpec> {
    let bad = |what, value: &str| BadChunkSpec {
        path: spec.file.path.clone(),
        what,
        value: value.to_string(),
    };
    let kind = match spec.file.format.as_str() {
        "csv" => FileKind::Csv,
        "sql" => FileKind::Sql,
        "parquet" => FileKind::Parquet,
        other => return Err(bad("format", other)),
    };
    let compression = match spec.file.compression.as_str() {
        "none" => Compression::None,
        "gzip" => Compression::Gzip,
        "zstd" => Compression::Zstd,
        "snappy" => Compression::Snappy,
        other => return Err(bad("compression", other)),
    };
    let file = DataFile {
        path: spec.file.path.clone(),
        kind,
        compression,
        size: spec.file.size,
        sort_key: spec.file.sort_key.clone(),
    };
    let chunk = Chunk {
        file_index: spec.file_index as usize,
        path: spec.file.path.clone(),
        start: spec.start,
        end: spec.end,
        start_line: spec.start_line,
        est_rows: spec.est_rows,
        row_id_base: spec.row_id_base,
        row_id_max: spec.row_id_max,
        columns: spec.columns.clone(),
        sql_in_values: spec.sql_in_values,
    };
    Ok((file, chunk))
}

fn format_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Csv => "csv",
        FileKind::Sql => "sql",
        FileKind::Parquet => "parquet",
    }
}

fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
        Compression::Snappy => "snappy",
    }
}

/// Source bytes a chunk covers (compressed files: the whole stored file).
pub fn chunk_source_bytes(spec: &ChunkSpec) -> u64 {
    if spec.end == u64::MAX {
        spec.file.size.saturating_sub(spec.start)
    } else {
        spec.end.saturating_sub(spec.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let file = DataFile {
            path: "db.t.1.csv".into(),
            kind: FileKind::Csv,
            compression: Compression::Gzip,
            size: 1000,
            sort_key: "1".into(),
        };
        let chunk = Chunk {
            file_index: 2,
            path: file.path.clone(),
            start: 0,
            end: u64::MAX,
            start_line: Some(1),
            est_rows: 10,
            row_id_base: 5,
            row_id_max: 15,
            columns: Some(vec!["a".into()]),
            sql_in_values: false,
        };
        let spec = spec_from_source(7, &file, &chunk);
        assert_eq!(spec.ordinal, 7);
        assert_eq!(chunk_source_bytes(&spec), 1000);
        assert_eq!(source_from_spec(&spec).expect("valid"), (file, chunk));
        let mut bad = spec.clone();
        bad.file.format = "xml".into();
        assert!(source_from_spec(&bad).is_err());
    }
}
