//! A source file seen as parquet's [`ChunkReader`]: the footer and column
//! chunks are read at their offsets through the [`SourceStore`] (a local
//! file, or ranged requests to S3), never the whole file at once.

use std::io::Read;

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

use crate::storage::SourceStore;

pub(crate) struct StoreFile {
    store: SourceStore,
    path: String,
    size: u64,
}

impl StoreFile {
    pub(crate) fn new(store: &SourceStore, path: &str, size: u64) -> Self {
        Self {
            store: store.clone(),
            path: path.to_string(),
            size,
        }
    }
}

fn external(e: impl std::error::Error + Send + Sync + 'static) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl Length for StoreFile {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for StoreFile {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        self.store.reader(&self.path, start).map_err(external)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = Vec::with_capacity(length);
        self.get_read(start)?
            .take(length as u64)
            .read_to_end(&mut buf)
            .map_err(external)?;
        if buf.len() != length {
            return Err(ParquetError::EOF(format!(
                "{}: wanted {length} bytes at {start}, the file has {}",
                self.path,
                buf.len()
            )));
        }
        Ok(Bytes::from(buf))
    }
}
