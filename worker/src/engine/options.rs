//! RocksDB settings for a local engine, tuned for "ingest sorted runs, then scan once".
//!
//! Data never passes through the WAL or the memtable: every sorted run is built
//! with `SstFileWriter` and ingested. The WAL only carries the tiny meta records
//! (one per run), written synced. Auto-compaction is off and the L0 stall
//! triggers are out of reach, so ingesting many overlapping runs never stalls and
//! nothing is rewritten; the reader merges the runs, and an engine with too
//! many runs for its concurrent scans is compacted once ([`needs_compaction`]).

use rocksdb::{BlockBasedOptions, ColumnFamilyDescriptor, DBCompressionType, Options, ReadOptions};

/// Column family holding the sorted user data (stored keys, see `key_adapter`).
pub const DATA_CF: &str = "default";
/// Column family holding run records and the finished marker.
pub const META_CF: &str = "meta";
/// Column family of the keys already ingested into TiKV by an early import
/// (`tikv-importer.disk-quota`): encoded user key → row tag of the copy
/// that was ingested. Empty unless the engine imported parts early.
pub const INGESTED_CF: &str = "ingested";

/// SST block size: large blocks make the sequential scan cheaper (Lightning: 16 KiB).
const BLOCK_SIZE: usize = 16 << 10;
/// Readahead that all concurrent scans of one engine may hold together. A
/// scan merges every overlapping sorted run and RocksDB gives each run's file
/// its own readahead buffer, so a fixed per-file readahead made memory grow
/// with the number of runs, i.e. with engine size (16 scans × 30 runs × 2 MiB
/// measured ~850 MiB for a 1 GiB engine). Dividing a fixed budget keeps it flat.
const SCAN_READAHEAD_BUDGET: usize = 64 << 20;
/// Readahead per file never exceeds this (more buys nothing for a one-pass scan).
const MAX_SCAN_READAHEAD: usize = 2 << 20;
/// Below one block, readahead is pointless; RocksDB then reads block by block
/// and the kernel's own readahead keeps the scan sequential.
const MIN_SCAN_READAHEAD: usize = BLOCK_SIZE;

/// Whether `scans` concurrent scans over `files` overlapping files would
/// overrun the readahead budget even at one block per file. Such an engine
/// (many writers make many small runs) is compacted once before its ingest
/// walk: rewriting it costs less than merging that many runs for every key.
pub fn needs_compaction(files: u64, scans: usize) -> bool {
    let per_file = (SCAN_READAHEAD_BUDGET / MIN_SCAN_READAHEAD) as u64;
    files.saturating_mul(scans.max(1) as u64) > per_file
}
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
        ColumnFamilyDescriptor::new(INGESTED_CF, meta_cf_options()),
    ]
}

/// Readahead per file for one of `scans` concurrent scans over `files`
/// overlapping files, so that all of them together stay within the budget
/// (down to one block per file).
pub fn scan_readahead(files: u64, scans: usize) -> usize {
    let readers = usize::try_from(files.max(1))
        .unwrap_or(usize::MAX)
        .saturating_mul(scans.max(1));
    (SCAN_READAHEAD_BUDGET / readers).clamp(MIN_SCAN_READAHEAD, MAX_SCAN_READAHEAD)
}

/// Read options for a one-pass ordered scan of `[lower, upper)` in stored-key space
/// (`upper == None`: to the end) with `readahead` bytes per file.
pub fn scan_options(lower: Vec<u8>, upper: Option<Vec<u8>>, readahead: usize) -> ReadOptions {
    let mut ro = ReadOptions::default();
    ro.set_readahead_size(readahead);
    // A scan touches each block once; caching would only evict the index blocks.
    ro.fill_cache(false);
    ro.set_iterate_lower_bound(lower);
    if let Some(upper) = upper {
        ro.set_iterate_upper_bound(upper);
    }
    ro
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readahead_shares_one_budget() {
        assert_eq!(scan_readahead(1, 1), MAX_SCAN_READAHEAD);
        assert_eq!(scan_readahead(0, 0), MAX_SCAN_READAHEAD);
        // 16 scans × 30 runs: 64 MiB / 480 files.
        assert_eq!(scan_readahead(30, 16), SCAN_READAHEAD_BUDGET / 480);
        assert!(scan_readahead(30, 16) * 480 <= SCAN_READAHEAD_BUDGET);
        assert_eq!(scan_readahead(100_000, 16), MIN_SCAN_READAHEAD);
    }

    #[test]
    fn compaction_only_past_one_block_per_file() {
        // 64 MiB / 16 KiB = 4096 file readers.
        assert!(!needs_compaction(256, 16));
        assert!(needs_compaction(257, 16));
        assert!(!needs_compaction(4096, 1));
        assert!(needs_compaction(2, 4096));
    }
}
