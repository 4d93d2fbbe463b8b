//! Dumpling/mydumper discovery, CSV and SQL parsing, chunking.
//!
//! * [`discover`]: list the source directory, route files to databases and
//!   tables (Dumpling names, `[[mydumper.files]]` rules, table filter).
//! * [`schema_parse`]: `CREATE TABLE` → [`squall_common::schema::TableInfo`].
//! * [`csv`], [`sql`], [`parquet`]: streaming row readers behind [`RowReader`].
//! * [`chunk`]: split files into chunks at row boundaries, with row-ID ranges.
//! * [`open_chunk`]: the reader for one chunk, what the worker calls.

pub mod catalog;
pub mod charset;
pub mod chunk;
pub mod csv;
pub mod discover;
pub mod error;
pub mod escape;
mod input;
mod open;
pub mod parquet;
pub mod row;
pub mod schema_parse;
pub mod sql;
pub mod storage;
mod transcode;
mod value_charset;

pub use catalog::{
    Chunk, Compression, DataFile, DatabaseSource, FileKind, SourceCatalog, TableSource, ViewSource,
};
pub use charset::SourceCharset;
pub use chunk::chunk_table;
pub use discover::discover;
pub use error::{ErrorKind, Position, SourceError};
pub use open::{is_streamed, open_chunk, open_chunk_in, open_decoded, open_decompressed};
pub use row::{ReadOptions, Row, RowReader, ValueKind};
pub use schema_parse::{load_schemas, LoadedSchemas, ParsedTable};
pub use storage::SourceStore;
