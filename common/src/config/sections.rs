//! The smaller config sections. Names and defaults follow TiDB Lightning where
//! it has the setting; Squall-only settings live in `[squall]`.

use serde::{Deserialize, Serialize};

use super::enums::{Backend, CheckpointDriver, ConflictStrategy, PostOpLevel};
use super::ByteSize;

/// `[lightning]`: process-wide knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct LightningConfig {
    /// Tables encoded at once (embedded mode). Default 6.
    pub table_concurrency: usize,
    /// Engines encoded at once by one worker process. Default 2.
    pub index_concurrency: usize,
    /// Encoding threads per engine. Default: number of CPUs.
    pub region_concurrency: usize,
    /// Run the prechecks (`squall precheck` runs them alone) before importing,
    /// and refuse to start when one fails. Default true (as Lightning).
    pub check_requirements: bool,
    /// Rows with conversion errors that may be skipped and recorded before the job
    /// aborts. Syntax errors always abort. Default 0 (as Lightning).
    pub max_error: u64,
}

impl Default for LightningConfig {
    fn default() -> Self {
        Self {
            table_concurrency: 6,
            index_concurrency: 2,
            region_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            check_requirements: true,
            max_error: 0,
        }
    }
}

/// `[tikv-importer]`: the physical import backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ImporterConfig {
    /// Only `local` (physical import) exists in Squall. Default `local`.
    pub backend: Backend,
    /// Directory for local sorted engines. Default `<tmp>/squall-sorted-kv`.
    pub sorted_kv_dir: String,
    /// Regions written and ingested at once per engine. Default 16.
    pub range_concurrency: usize,
    /// Pairs per `WriteBatch` message. Default 32768.
    pub send_kv_pairs: usize,
    /// Key + value bytes per `WriteBatch` message (Lightning's name, since
    /// v7.2). Every range in flight holds about a dozen batches (read ahead,
    /// one copy queued per peer, one being encoded per peer), so this times
    /// `range-concurrency` sets the ingest's memory. Default 64KiB (Lightning: 16KiB;
    /// 64KiB ingested a 1 GiB engine 4 s faster here at the same peak memory).
    pub send_kv_size: ByteSize,
    /// Largest range ingested as one region. Default 96MiB.
    pub region_split_size: ByteSize,
    /// Most keys in one ingested range. Default 1280000.
    pub region_split_keys: u64,
    /// Memory for one engine's sort buffer before it is flushed as a sorted run. Default 128MiB.
    pub local_writer_mem_cache_size: ByteSize,
    /// Most bytes the local engines of one worker process may hold on disk
    /// (Lightning's name). When an engine's sorted runs reach it, the worker
    /// ingests what is sorted so far and goes on with an empty engine, instead
    /// of filling the disk. Default 0: no quota.
    pub disk_quota: ByteSize,
    /// Import into tables that already hold rows (Lightning's name): the
    /// "target tables are empty" precheck is skipped. Default false.
    pub incremental_import: bool,
}

impl Default for ImporterConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Local,
            sorted_kv_dir: std::env::temp_dir()
                .join("squall-sorted-kv")
                .to_string_lossy()
                .into_owned(),
            range_concurrency: 16,
            send_kv_pairs: 32768,
            send_kv_size: ByteSize::kib(64),
            region_split_size: ByteSize::mib(96),
            region_split_keys: 1_280_000,
            local_writer_mem_cache_size: ByteSize::mib(128),
            disk_quota: ByteSize(0),
            incremental_import: false,
        }
    }
}

/// `[tidb]`: the target cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TidbConfig {
    /// PD address(es), comma separated. Default `127.0.0.1:2379`.
    pub pd_addr: String,
    /// SQL mode for value conversion. Default [`SQUALL_DEFAULT_SQL_MODE`] (strict);
    /// Lightning defaults to the non-strict [`LIGHTNING_DEFAULT_SQL_MODE`] (see README).
    pub sql_mode: String,
    /// Time zone for TIMESTAMP values in the source (`SYSTEM`, `UTC`, `+08:00`, `Asia/Shanghai`).
    /// Default `SYSTEM`.
    pub time_zone: String,
    /// Regions scanned at once by the post-import checksum (Lightning's name
    /// and default, 15); lower it to lessen the load on a busy cluster.
    pub distsql_scan_concurrency: usize,
    /// TiDB's MySQL-protocol host. Empty (Squall's default; Lightning's is
    /// `127.0.0.1`): no SQL step runs, table IDs come from `[squall]
    /// table-ids` or the deterministic rule and the target tables must exist.
    pub host: String,
    /// TiDB's MySQL-protocol port. Default 4000.
    pub port: u16,
    /// User for the SQL steps. Default `root`.
    pub user: String,
    /// Password of `user`. Never logged, nor stored with a cluster job's config.
    pub password: Password,
}

/// A password: serialised as is, shown as `***` by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

/// Squall's default SQL mode: strict, so a bad value is an error, not a silent clip.
pub const SQUALL_DEFAULT_SQL_MODE: &str =
    "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";
/// TiDB Lightning's default SQL mode (non-strict).
pub const LIGHTNING_DEFAULT_SQL_MODE: &str = "ONLY_FULL_GROUP_BY,NO_AUTO_CREATE_USER";

impl Default for TidbConfig {
    fn default() -> Self {
        Self {
            pd_addr: "127.0.0.1:2379".into(),
            sql_mode: SQUALL_DEFAULT_SQL_MODE.into(),
            time_zone: "SYSTEM".into(),
            distsql_scan_concurrency: 15,
            host: String::new(),
            port: 4000,
            user: "root".into(),
            password: Password::default(),
        }
    }
}

/// `[checkpoint]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct CheckpointConfig {
    /// Keep checkpoints so an interrupted job resumes. Default true.
    pub enable: bool,
    /// `file` (embedded mode) or `etcd` (distributed mode). Default `file`.
    pub driver: CheckpointDriver,
    /// Where: a directory for `file`, endpoints for `etcd`. Default: `<output>/checkpoint`.
    pub dsn: String,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            enable: true,
            driver: CheckpointDriver::File,
            dsn: String::new(),
        }
    }
}

/// `[post-restore]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct PostRestoreConfig {
    /// `required` (mismatch fails the job), `optional` (mismatch warns) or `off`. Default `required`.
    pub checksum: PostOpLevel,
    /// `ANALYZE TABLE` each table after its data is in, through `[tidb]
    /// host`: `required` (a failure fails the job), `optional` (warns) or
    /// `off`. Default `optional` (as Lightning); nothing runs without a host.
    pub analyze: PostOpLevel,
}

impl Default for PostRestoreConfig {
    fn default() -> Self {
        Self {
            checksum: PostOpLevel::Required,
            analyze: PostOpLevel::Optional,
        }
    }
}

/// `[conflict]`: what to do when two source rows share a primary or unique key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ConflictConfig {
    /// `error`, `record` (aliases `none` and Lightning's `""`), `remove` or
    /// `replace`. Default `error`.
    pub strategy: ConflictStrategy,
    /// Stop the job once more conflicting rows than this are found (0 = no limit). Default 0.
    pub threshold: u64,
    /// Conflicting rows resolution decodes, decides, writes and reports at
    /// a time (a whole conflict group is never split). Default 4096.
    pub resolve_batch_rows: u64,
    /// Memory a table's conflict resolution plans in at once: a table whose
    /// conflicts need more is split into shards of whole connected sets,
    /// spilled under `tikv-importer.sorted-kv-dir` and resolved one shard at a
    /// time. Default 256MiB.
    pub resolve_memory: ByteSize,
}

impl Default for ConflictConfig {
    fn default() -> Self {
        Self {
            strategy: ConflictStrategy::Error,
            threshold: 0,
            resolve_batch_rows: 4096,
            resolve_memory: ByteSize::mib(256),
        }
    }
}

/// `[squall]`: settings Lightning has no equivalent for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SquallConfig {
    /// Directory for the job's reports (conflicts, errors, summary). Default `squall-output`.
    pub output_dir: String,
    /// NATS server URL for distributed mode. Default empty (embedded mode).
    pub nats_url: String,
    /// etcd endpoints for distributed mode, comma separated. Default empty.
    pub etcd_endpoints: String,
    /// Table IDs to use instead of asking TiDB, e.g. `{ "db.t" = 100 }`.
    pub table_ids: std::collections::BTreeMap<String, i64>,
    /// Timeout of one remote call, in seconds. Default 30.
    pub rpc_timeout_secs: u64,
    /// Attempts of one remote call before it fails. Default 10.
    pub max_retries: u32,
    /// Longest wait for the next message of a server stream that scans a
    /// whole region before answering (DuplicateDetect sends nothing until it
    /// has a batch of duplicates or reaches the region's end), in seconds.
    /// Default 300.
    pub stream_idle_timeout_secs: u64,
    /// TTL of the job's PD service GC safepoint, in seconds: it keeps the
    /// versions the job reads from TiKV's GC and is renewed every third of
    /// this while the job runs, removed when it ends. A killed job holds GC
    /// back at most this long. 0 registers none (only when GC is disabled on
    /// the cluster, or you hold your own safepoint). Default 600 (Lightning's).
    pub gc_safepoint_ttl_secs: u64,
    /// Engine ranges (disjoint ingest): engines encode and sort only, cut
    /// their KVs at planned key ranges into run files, and one ingest task
    /// per range merges and ingests them, so no two ingests overlap in TiKV.
    /// `tikv-importer.disk-quota` is ignored (with a warning) when on.
    /// Default false.
    pub engine_ranges: bool,
    /// When the secondary indexes are written: `with-data` (each engine
    /// writes a row's entries with it) or `after-data` (engines write rows
    /// only; post-processing backfills every index from the imported rows,
    /// then checksums). Default `with-data`.
    pub index_mode: super::IndexMode,
    /// Rows per `KvScan` page when the backfill reads a range's rows
    /// (`index-mode = "after-data"`): a larger page means fewer requests
    /// and more memory per range being built. Default 1024; at least 1.
    pub index_backfill_batch_size: u32,
}

impl Default for SquallConfig {
    fn default() -> Self {
        Self {
            output_dir: "squall-output".into(),
            nats_url: String::new(),
            etcd_endpoints: String::new(),
            table_ids: Default::default(),
            rpc_timeout_secs: 30,
            max_retries: 10,
            stream_idle_timeout_secs: 300,
            gc_safepoint_ttl_secs: 600,
            engine_ranges: false,
            index_mode: Default::default(),
            index_backfill_batch_size: 1024,
        }
    }
}
