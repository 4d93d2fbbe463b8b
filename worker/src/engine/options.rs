//! RocksDB settings for a local engine, tuned for "ingest sorted runs, then scan once".
//!
//! Data never passes through the WAL or the memtable: every sorted run is built
//! with `SstFileWriter` and ingested. The WAL only carries the tiny meta records
//! (one per run), written synced. Auto-compaction is off and the L0 stall
//! triggers are out of reach, so ingesting many overlapping runs never stalls and
//! nothing is rewritten; the reader merges the runs (see `LocalEngine::compact`
//! for engines with very many runs).

use rocksdb::{BlockBasedOptions, ColumnFamilyDescriptor, DBCompressionType, Options, ReadOptions};

/// Column family holding the sorted user data (stored keys, see `key_adapter`).
pub const DATA_CF: &str = "default";
/// Column family holding run records and the finished marker.
pub const META_CF: &str = "meta";

/// SST block size: large blocks make the sequential scan cheaper (Lightning: 16 KiB).
const BLOCK_SIZE: usize = 16 << 10;
/// Readahead for sequential scans.
const SCAN_READAHEAD: usize = 2 << 20;
/// Open-file cap per engine; beyond it RocksDB's table cache reopens files.
const MAX_OPEN_FILES: i32 = 1024;
/// Effectively "never": overlapping ingested runs pile up in L0 by design.
const L0_NEVER: i32 = 1 << 20;
/// Memtable of the meta CF (only run records live there).
const META_WRITE_BUFFER: usize = 1 << 20;

fn table_options() -> BlockBasedOptions {
    let mut table = BlockBasedOptions::default();
    table.set_block_size(BLOCK_SIZE);
    table
}

/// Options for the data column family, also used by `SstFileWriter` so the
/// runs we build match what the DB would have built.
pub fn data_cf_options() -> Options {
    let mut opts = Options::default();
    opts.set_block_based_table_factory(&table_options());
    // Engines are temporary; LZ4 measured slower to scan for incompressible data
    // and TiDB row values are short. See the report in the engine bench.
    opts.set_compression_type(DBCompressionType::None);
    opts.set_disable_auto_compactions(true);
    opts.set_level_zero_file_num_compaction_trigger(L0_NEVER);
    opts.set_level_zero_slowdown_writes_trigger(L0_NEVER);
    opts.set_level_zero_stop_writes_trigger(L0_NEVER);
    opts.set_soft_pending_compaction_bytes_limit(0);
    opts.set_hard_pending_compaction_bytes_limit(0);
    opts
}

fn meta_cf_options() -> Options {
    let mut opts = Options::default();
    opts.set_write_buffer_size(META_WRITE_BUFFER);
    opts
}

/// DB-wide options.
pub fn db_options() -> Options {
    let mut opts = data_cf_options();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_max_open_files(MAX_OPEN_FILES);
    opts.set_max_background_jobs(2);
    opts
}

/// The column families every engine has.
pub fn column_families() -> Vec<ColumnFamilyDescriptor> {
    vec![
        ColumnFamilyDescriptor::new(DATA_CF, data_cf_options()),
        ColumnFamilyDescriptor::new(META_CF, meta_cf_options()),
    ]
}

/// Read options for a one-pass ordered scan of `[lower, upper)` in stored-key space
/// (`upper == None`: to the end).
pub fn scan_options(lower: Vec<u8>, upper: Option<Vec<u8>>) -> ReadOptions {
    let mut ro = ReadOptions::default();
    ro.set_readahead_size(SCAN_READAHEAD);
    // A scan touches each block once; caching would only evict the index blocks.
    ro.fill_cache(false);
    ro.set_iterate_lower_bound(lower);
    if let Some(upper) = upper {
        ro.set_iterate_upper_bound(upper);
    }
    ro
}
