//! The one RocksDB of the sim: TiKV's `default` and `write` column families
//! for data, plus a `meta` CF for cluster metadata (regions, stores, ids,
//! the TSO window) so a restarted sim comes back as it was.

use std::path::{Path, PathBuf};

use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, Options, DB};

use crate::error::SimError;

pub const CF_DEFAULT: &str = "default";
pub const CF_WRITE: &str = "write";
pub const CF_META: &str = "meta";

/// RocksDB plus the paths the stores stage SST files under.
pub struct Storage {
    db: DB,
    root: PathBuf,
}

impl Storage {
    /// Opens (creating if needed) `<data_dir>/db`.
    pub fn open(data_dir: &Path) -> Result<Self, SimError> {
        std::fs::create_dir_all(data_dir).map_err(|source| SimError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join("db");
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [CF_DEFAULT, CF_WRITE, CF_META]
            .into_iter()
            .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, &path, cfs).map_err(|source| SimError::OpenDb {
            path: path.clone(),
            source,
        })?;
        Ok(Storage {
            db,
            root: data_dir.to_owned(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db(&self) -> &DB {
        &self.db
    }

    /// A column family opened in `open`.
    pub fn cf(&self, name: &str) -> &ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family is created by Storage::open")
    }

    /// Where store `id` keeps SST files written to it but not yet ingested.
    pub fn staging_dir(&self, store_id: u64) -> PathBuf {
        self.root.join(format!("store-{store_id}")).join("import")
    }

    /// Options matching the data CFs, for SST files that will be ingested.
    pub fn sst_options() -> Options {
        Options::default()
    }
}
