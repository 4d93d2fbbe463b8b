//! The local sorted engine: KV pairs sorted in RocksDB before ingest.
