//! The local sorted engine: KV pairs sorted in RocksDB before ingest.
//!
//! One engine is one RocksDB under `sorted-kv-dir/<id>`. Encoders open one
//! [`EngineWriter`] per chunk and append unsorted `(key, value, row_tag)`; a
//! writer buffers within its share of `local-writer-mem-cache-size`, sorts, and
//! ingests the buffer as an SST built with `SstFileWriter` (no WAL, no memtable:
//! data only ever enters by SST ingestion). Keys are stored as
//! `EncodeBytes(key) ++ row_tag` ([`key_adapter`]), so duplicate keys keep every
//! copy and order stays by user key, then row tag.
//!
//! The ingest side calls [`LocalEngine::split_ranges`] (or
//! [`LocalEngine::region_ranges`]) and then [`LocalEngine::iter_range`] per
//! range: it yields [`EngineKv::Put`] for the first copy of each key (smallest
//! row tag) and [`EngineKv::Duplicate`] for every later copy, right after it.
//!
//! Lifecycle: [`LocalEngine::open`] → writers → [`EngineWriter::close`] each →
//! [`LocalEngine::finish_writes`] → split/iterate → [`LocalEngine::destroy`].
//! After a crash, `open` finds every ingested run; an engine that is not
//! [`LocalEngine::is_finished`] lost its writers' buffers and must be
//! [`LocalEngine::reset`] and re-encoded.
//!
//! Under `tikv-importer.disk-quota`, a job's engines that reach the quota
//! import what they have sorted early and drop it from disk ([`parts`]).
//!
//! Every call blocks on disk I/O. From async code use
//! [`LocalEngine::run_blocking`] / [`LocalEngine::stream_range`], or
//! `spawn_blocking` (writers are `Send`; move them into the blocking task).

mod blocking;
mod budget;
mod error;
pub mod key_adapter;
mod key_sort;
mod local;
mod meta;
mod options;
mod parts;
mod reader;
mod runs;
mod segment_merge;
mod sort_buffer;
mod split;
mod writer;

#[cfg(test)]
mod parts_tests;
#[cfg(test)]
mod tests;

pub use error::EngineError;
pub use key_adapter::next_key;
pub(crate) use local::dir_size;
pub use local::{EngineStats, LocalEngine};
pub use parts::PartRetired;
pub use reader::{EngineKv, RangeIter};
pub use runs::ExportedRun;
pub use split::KeyRange;
pub use writer::{EngineWriter, WriterStats};
