//! Every key of TiDB Lightning's configuration reference (task and global
//! sections, plus the few more its `config.go` reads), and what Squall does
//! with it. `check` consults this for keys that are not fields of Squall's
//! config structs; docs/lightning-config.md is the same table for people,
//! and a test keeps the two in step.

/// What Squall does with a Lightning key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Same meaning as in Lightning.
    Acts,
    /// Accepted; Squall's behaviour or default differs (the note says how).
    Differs,
    /// Accepted with a warning that names it: it tunes something Squall does not have.
    Warns,
    /// Accepted with a warning at its no-op value (`false`, `""`, `0`, empty);
    /// any other value is refused with the note as the reason.
    RefusedWhenSet,
    /// Always refused; the note says what to use instead.
    Refused,
    /// Squall's own key; Lightning has no such key.
    SquallOnly,
}

impl Support {
    pub fn label(self) -> &'static str {
        match self {
            Self::Acts => "acts",
            Self::Differs => "acts differently",
            Self::Warns => "accepted, warns (no effect)",
            Self::RefusedWhenSet => "refused unless off",
            Self::Refused => "refused",
            Self::SquallOnly => "Squall only",
        }
    }
}

/// One key: its dotted path (`section.key`; `section.*` for any key of a
/// table such as `tidb.session-vars`), what Squall does, why, and a value
/// (TOML) to try it with.
#[derive(Debug, Clone, Copy)]
pub struct KeyInfo {
    pub key: &'static str,
    pub support: Support,
    pub note: &'static str,
    pub example: &'static str,
}

const fn k(
    key: &'static str,
    support: Support,
    example: &'static str,
    note: &'static str,
) -> KeyInfo {
    KeyInfo {
        key,
        support,
        note,
        example,
    }
}

use Support::{Acts, Differs, Refused, RefusedWhenSet, SquallOnly, Warns};

const LOGS: &str = "Squall logs to stderr at --log-level / SQUALL_LOG_LEVEL (or RUST_LOG); \
                    redirect and rotate it with your process manager";
const NO_SQL: &str = "Squall's SQL steps (tidb.host) connect without TLS and with TiDB's \
                      session defaults";
const LOGICAL: &str = "only for Lightning's logical import (backend = \"tidb\")";
const REMOTE: &str = "only for Lightning's remote backend";

/// The catalogue, in the order of Lightning's reference.
pub static KEYS: &[KeyInfo] = &[
    // [lightning], global part
    k("lightning.status-addr", Warns, "':8289'", "Squall's HTTP API, web page and /metrics are served by `squall coordinator --listen`; `squall import` shows progress on the terminal"),
    k("lightning.server-mode", RefusedWhenSet, "true", "Squall's server mode is `squall coordinator`: submit jobs with `squall import --coordinator` and steer them with `squall job`"),
    k("lightning.level", Warns, "'info'", LOGS),
    k("lightning.file", Warns, "'tidb-lightning.log'", LOGS),
    k("lightning.max-size", Warns, "128", LOGS),
    k("lightning.max-days", Warns, "28", LOGS),
    k("lightning.max-backups", Warns, "14", LOGS),
    k("lightning.enable-diagnose-logs", Warns, "true", LOGS),
    // [lightning], task part
    k("lightning.check-requirements", Acts, "true", "run the prechecks before importing and refuse to start when one fails (`squall precheck` runs them alone)"),
    k("lightning.index-concurrency", Differs, "2", "engines one worker process encodes and sorts at once (Lightning: index engines open at once); at least 1"),
    k("lightning.table-concurrency", Differs, "6", "tables post-processed (duplicate detection, checksum) at once; at least 1"),
    k("lightning.region-concurrency", Acts, "4", "encoding threads per engine (default: CPUs); at least 1"),
    k("lightning.io-concurrency", Warns, "5", "Squall reads each chunk as one sequential stream"),
    k("lightning.max-error", Differs, "{ type = 10 }", "an integer or Lightning's table form: `type` rows with conversion errors are skipped and written to <output>/errors; `syntax` must be 0 (syntax errors always stop, as in Lightning); `charset` warns (see mydumper.data-invalid-char-replace); `conflict` warns (use conflict.threshold)"),
    k("lightning.max-error-records", Warns, "100", "deprecated in Lightning; Squall writes every skipped row to <output>/errors"),
    k("lightning.task-info-schema-name", Warns, "'lightning_task_info'", "Squall writes skipped rows and conflicts to files (<output>/errors, <output>/conflicts), not to TiDB tables"),
    k("lightning.meta-schema-name", Warns, "'lightning_metadata'", "Squall's coordinator keeps a job's metadata in etcd"),
    // [security]
    k("security.ca-path", Acts, "'/path/to/ca.pem'", "TLS to PD and TiKV: the CA (PEM) that signed their certificates; set, every PD/TiKV connection is TLS (https)"),
    k("security.cert-path", Acts, "'/path/to/lightning.pem'", "the client certificate (PEM) presented to PD and TiKV (mutual TLS); needs key-path and ca-path"),
    k("security.key-path", Acts, "'/path/to/lightning.key'", "the private key (PEM) of cert-path"),
    k("security.redact-info-log", Warns, "true", "Squall never logs credentials; row values appear only in the reports under <output>/"),
    // [checkpoint]
    k("checkpoint.enable", Acts, "true", "keep checkpoints so a rerun resumes"),
    k("checkpoint.schema", Warns, "'tidb_lightning_checkpoint'", "Squall's checkpoints are files or etcd keys, not a MySQL schema"),
    k("checkpoint.driver", Differs, "'file'", "\"file\" (`squall import`) or \"etcd\" (a cluster); \"mysql\" is refused"),
    k("checkpoint.dsn", Differs, "'/tmp/squall-checkpoint'", "a directory for \"file\" (default <output>/checkpoint), endpoints for \"etcd\""),
    k("checkpoint.keep-after-success", Warns, "false", "Squall keeps a job's checkpoints until `squall job destroy`"),
    // [conflict]
    k("conflict.strategy", Differs, "'replace'", "every conflict is found and reported; \"\"/\"none\" mean \"record\" (Lightning: no detection); default \"error\" (Lightning: \"\"); \"ignore\" (logical import only) is refused"),
    k("conflict.precheck-conflict-before-import", Warns, "true", "Squall finds conflicts after ingest, over every engine of a table, with TiKV's DuplicateDetect"),
    k("conflict.threshold", Differs, "10000", "the job stops once more conflicting rows than this are found; 0 (Squall's default) = no limit (Lightning: 10000)"),
    k("conflict.resolve-batch-rows", SquallOnly, "1024", "conflicting rows resolution holds decoded at a time (rows, KVs, writes, report lines; a connected set of conflicting rows is never split); default 4096, at least 1"),
    k("conflict.resolve-memory", SquallOnly, "'64MiB'", "memory a table's conflict resolution plans in at once; a table with more conflicts is split into shards of whole connected sets of rows, spilled under tikv-importer.sorted-kv-dir and resolved one shard at a time (same results); default 256MiB, at least 1"),
    k("conflict.max-record-rows", Warns, "10000", "Squall writes every conflicting row to <output>/conflicts"),
    // [tikv-importer]
    k("tikv-importer.backend", Differs, "'local'", "only \"local\": Squall is a physical importer; \"tidb\", \"importer\" and \"remote\" are refused"),
    k("tikv-importer.addr", Warns, "'127.0.0.1:8287'", "the address of the removed tikv-importer process"),
    k("tikv-importer.remote-worker-addr", Warns, "'127.0.0.1:8288'", REMOTE),
    k("tikv-importer.parallel-import", RefusedWhenSet, "true", "several imports into one table are not coordinated in Squall (row IDs could collide): run one job and add `squall worker` processes instead"),
    k("tikv-importer.incremental-import", Differs, "true", "import into tables that already hold rows: the \"target tables are empty\" precheck is skipped (Lightning: deprecated name of parallel-import)"),
    k("tikv-importer.on-duplicate", Differs, "'replace'", "deprecated (logical import); when conflict.strategy is not set it becomes conflict.strategy (\"ignore\" is refused)"),
    k("tikv-importer.duplicate-resolution", Differs, "'remove'", "deprecated; when conflict.strategy is not set, \"remove\" becomes conflict.strategy = \"replace\" (as in Lightning) and \"none\" does nothing"),
    k("tikv-importer.max-kv-pairs", Warns, "4096", LOGICAL),
    k("tikv-importer.send-kv-pairs", Acts, "32768", "pairs per Write message (Lightning ignores it since v7.2; Squall still honours it)"),
    k("tikv-importer.send-kv-size", Differs, "'16KiB'", "key + value bytes per Write message; default 64KiB (Lightning: 16KiB)"),
    k("tikv-importer.compress-kv-pairs", Warns, "'gzip'", "Squall sends Write messages uncompressed"),
    k("tikv-importer.region-split-size", Acts, "'96MiB'", "largest range ingested as one region"),
    k("tikv-importer.region-split-keys", Acts, "1280000", "most keys in one ingested range"),
    k("tikv-importer.region-split-batch-size", Warns, "4096", "Squall splits regions with its own batching (retries: squall.max-retries)"),
    k("tikv-importer.region-split-concurrency", Warns, "4", "Squall splits regions with its own batching (retries: squall.max-retries)"),
    k("tikv-importer.region-check-backoff-limit", Warns, "1800", "Squall waits for split regions with squall.max-retries and squall.rpc-timeout-secs"),
    k("tikv-importer.sorted-kv-dir", Acts, "'/mnt/ssd/sorted-kv'", "directory of the local sorted engines"),
    k("tikv-importer.disk-quota", Differs, "'10GiB'", "most bytes one worker's local engines hold on disk: at the quota the worker ingests what is sorted so far and goes on with an empty engine; default 0 = no quota (Lightning: free space of sorted-kv-dir)"),
    k("tikv-importer.range-concurrency", Acts, "16", "regions written and ingested at once per engine; at least 1"),
    k("tikv-importer.engine-mem-cache-size", Warns, "'512MiB'", "Squall sorts in RocksDB; its sort buffer is local-writer-mem-cache-size"),
    k("tikv-importer.local-writer-mem-cache-size", Differs, "'128MiB'", "memory of one engine's sort buffer before a sorted run is flushed"),
    k("tikv-importer.store-write-bwlimit", RefusedWhenSet, "'128MiB'", "Squall has no per-store bandwidth limit: lower tikv-importer.range-concurrency to lessen the load"),
    k("tikv-importer.logical-import-batch-size", Warns, "'96KiB'", LOGICAL),
    k("tikv-importer.logical-import-batch-rows", Warns, "65536", LOGICAL),
    k("tikv-importer.logical-import-prep-stmt", Warns, "true", LOGICAL),
    k("tikv-importer.pause-pd-scheduler-scope", Differs, "'table'", "the balance schedulers and region merging are paused cluster-wide for the job's life with either scope (Lightning's \"table\" pauses by key range)"),
    k("tikv-importer.block-size", Warns, "'16KiB'", "the block size of Squall's local sort is fixed"),
    k("tikv-importer.add-index-by-sql", RefusedWhenSet, "true", "Squall encodes index KVs with the rows: to add an index later, drop it from the schema file and run ALTER TABLE ... ADD INDEX after the import"),
    k("tikv-importer.keyspace-name", RefusedWhenSet, "'tenant1'", "Squall writes keys without a keyspace prefix (API V1): multi-tenant clusters are not supported"),
    k("tikv-importer.chunk-size", Warns, "8388608", REMOTE),
    k("tikv-importer.chunk-cache-dir", Warns, "'/tmp/chunks'", REMOTE),
    // [mydumper]
    k("mydumper.read-block-size", Acts, "'64KiB'", "read buffer size"),
    k("mydumper.batch-size", Differs, "'100GiB'", "source bytes per engine, the unit a worker sorts, ingests and retries; default 4GiB (Lightning: 100GiB)"),
    k("mydumper.batch-import-ratio", Warns, "0.75", "Squall sizes engines evenly: workers take them in any order"),
    k("mydumper.data-source-dir", Acts, "'/data/my_database'", "a local directory or an s3:// URL with Lightning's parameters"),
    k("mydumper.source-id", Warns, "'mysql-01'", "a DM setting"),
    k("mydumper.no-schema", RefusedWhenSet, "true", "Squall reads table definitions from the dump's schema files: keep them and set no-schema = false"),
    k("mydumper.character-set", Acts, "'auto'", "character set of the schema files: auto, utf8mb4, gb18030, gbk, latin1 or binary"),
    k("mydumper.data-character-set", Acts, "'gbk'", "character set of CSV and SQL data files, converted to UTF-8 while reading: binary (default, no conversion), utf8mb4, gb18030, gbk or latin1"),
    k("mydumper.data-invalid-char-replace", Differs, "'?'", "replaces bytes invalid in data-character-set (default U+FFFD, counted and logged); \"\" makes them an error naming the file, offset and bytes"),
    k("mydumper.case-sensitive", Acts, "false", "table and schema names compare case-sensitively"),
    k("mydumper.strict-format", Acts, "false", "CSV fields hold no line terminators, so large files are cut without a quote-aware scan"),
    k("mydumper.max-region-size", Acts, "'256MiB'", "target size of one chunk of a large file"),
    k("mydumper.filter", Acts, "['*.*', '!mysql.*']", "table filter rules"),
    k("mydumper.default-file-rules", Differs, "true", "default true even with [[mydumper.files]] rules (Lightning: false then); custom rules are tried first"),
    k("mydumper.ignore-data-columns", RefusedWhenSet, "[{ db = 'd', table = 't', columns = ['c'] }]", "ignoring source columns is not supported: remove the columns from the data files"),
    // [mydumper.csv]
    k("mydumper.csv.separator", Acts, "','", "field separator, one or more characters"),
    k("mydumper.csv.delimiter", Acts, "'\"'", "quote delimiter; empty = no quoting"),
    k("mydumper.csv.terminator", Acts, "''", "line terminator; empty = \\n, \\r or \\r\\n"),
    k("mydumper.csv.header", Acts, "true", "the first line holds column names"),
    k("mydumper.csv.header-schema-match", Acts, "true", "map columns by the header's names"),
    k("mydumper.csv.not-null", Acts, "false", "no field is NULL"),
    k("mydumper.csv.null", Acts, "'\\N'", "text(s) that mean NULL (a string or a list)"),
    k("mydumper.csv.backslash-escape", Acts, "true", "backslash escapes inside fields"),
    k("mydumper.csv.escaped-by", Differs, "'\\'", "\"\\\\\" is backslash-escape = true, \"\" is backslash-escape = false; another escape character is refused"),
    k("mydumper.csv.trim-last-separator", Acts, "false", "drop a separator at the end of every line"),
    // [[mydumper.files]]
    k("mydumper.files.pattern", Acts, "'(?i)^(?:[^/]*/)*([a-z0-9_]+)\\.([a-z0-9_]+)\\.csv$'", "regex over the path relative to the source"),
    k("mydumper.files.path", Acts, "'db.t.csv'", "exact relative path (instead of pattern)"),
    k("mydumper.files.schema", Acts, "'$1'", "target database (template)"),
    k("mydumper.files.table", Acts, "'$2'", "target table (template)"),
    k("mydumper.files.type", Acts, "'csv'", "sql, csv, parquet, schema-schema, table-schema, view-schema, ignore"),
    k("mydumper.files.key", Acts, "'$3'", "sort key of the table's data files"),
    k("mydumper.files.compression", Acts, "'gzip'", "gzip, zstd, snappy or empty (also recognised from the file name)"),
    // [[routes]]
    k("routes", Acts, "[{ schema-pattern = 'shard_*', table-pattern = 't*', target-schema = 'db', target-table = 't' }]", "shard merge: schema-pattern, table-pattern (`*`, `?`, `[...]`), target-schema, target-table; tables of several shards import into one, duplicates across shards are conflicts; a routed table uses the target's schema file, else the first shard's; extract-table/-schema/-source are refused"),
    k("mydumper.routes", SquallOnly, "[{ schema-pattern = 'shard_*', target-schema = 'db' }]", "where a saved config keeps the [[routes]] rules; write them as top-level [[routes]], as in Lightning"),
    // [tidb]
    k("tidb.host", Differs, "'127.0.0.1'", "TiDB's MySQL-protocol host for the SQL steps (create missing databases and tables from the schema files, read table IDs and new_collation_enabled, rebase AUTO_INCREMENT/AUTO_RANDOM/_tidb_rowid past the imported rows, ANALYZE); default empty = no SQL step (Lightning: 127.0.0.1)"),
    k("tidb.port", Acts, "4000", "TiDB's MySQL-protocol port"),
    k("tidb.user", Acts, "'root'", "user of the SQL steps"),
    k("tidb.password", Acts, "''", "password of tidb.user (never logged)"),
    k("tidb.status-port", Warns, "10080", "Squall reads table IDs over SQL (tidb.host), not from the status port"),
    k("tidb.pd-addr", Acts, "'127.0.0.1:2379'", "PD address(es), comma separated"),
    k("tidb.log-level", Warns, "'error'", "log level of the TiDB library inside Lightning"),
    k("tidb.build-stats-concurrency", Warns, "20", "Squall runs ANALYZE TABLE with TiDB's own build-stats settings"),
    k("tidb.distsql-scan-concurrency", Acts, "15", "regions scanned at once by the checksum; at least 1"),
    k("tidb.index-serial-scan-concurrency", Warns, "20", "Squall runs ANALYZE TABLE with TiDB's own scan settings"),
    k("tidb.checksum-table-concurrency", Warns, "2", "Squall checksums lightning.table-concurrency tables at once"),
    k("tidb.sql-mode", Differs, "'ONLY_FULL_GROUP_BY,NO_AUTO_CREATE_USER'", "SQL mode of value conversion; default strict (Lightning: non-strict, bad values clipped)"),
    k("tidb.max-allowed-packet", Warns, "67108864", "the longest row Squall holds is 64 MiB (TiDB's default max_allowed_packet)"),
    k("tidb.tls", Warns, "''", NO_SQL),
    k("tidb.security.ca-path", Warns, "'/path/to/ca.pem'", NO_SQL),
    k("tidb.security.cert-path", Warns, "'/path/to/lightning.pem'", NO_SQL),
    k("tidb.security.key-path", Warns, "'/path/to/lightning.key'", NO_SQL),
    k("tidb.session-vars.*", Warns, "'OFF'", NO_SQL),
    // [post-restore]
    k("post-restore.checksum", Acts, "'required'", "checksum through TiKV's coprocessor against the local one: required, optional, off (or true/false)"),
    k("post-restore.checksum-via-sql", Warns, "false", "Squall computes the checksum through TiKV's coprocessor"),
    k("post-restore.analyze", Acts, "'optional'", "ANALYZE TABLE each table through tidb.host once its data is verified: required, optional (default), off (or true/false); nothing runs without tidb.host"),
    k("post-restore.level-1-compact", Warns, "false", "Squall does not compact TiKV after the import"),
    k("post-restore.compact", Warns, "false", "Squall does not compact TiKV after the import"),
    k("post-restore.post-process-at-last", Warns, "true", "Squall checks each table as soon as its engines are in"),
    // [cron]
    k("cron.switch-mode", Warns, "'5m'", "Squall refreshes import mode with its own timer"),
    k("cron.log-progress", Warns, "'5m'", "use `squall import --log-interval`"),
    k("cron.check-disk-quota", Warns, "'60s'", "Squall has no disk-quota loop"),
    // Squall's own keys
    k("tidb.status-addr", Refused, "'127.0.0.1:10080'", "table IDs are read over SQL (tidb.host) or taken from [squall] table-ids, not from TiDB's status API: remove the key"),
    k("tidb.time-zone", SquallOnly, "'+08:00'", "time zone of TIMESTAMP values in the source"),
    k("squall.output-dir", SquallOnly, "'squall-output'", "directory of the job's reports"),
    k("squall.nats-url", SquallOnly, "'nats://127.0.0.1:4222'", "NATS server of a cluster"),
    k("squall.etcd-endpoints", SquallOnly, "'127.0.0.1:2379'", "etcd endpoints of a cluster"),
    k("squall.table-ids", SquallOnly, "{ 'db.t' = 100 }", "table IDs instead of asking TiDB"),
    k("squall.rpc-timeout-secs", SquallOnly, "30", "timeout of one remote call; at least 1"),
    k("squall.max-retries", SquallOnly, "10", "attempts of one remote call; at least 1"),
    k("squall.stream-idle-timeout-secs", SquallOnly, "300", "longest wait for the next message of a scanning stream; at least 1"),
    k("squall.gc-safepoint-ttl-secs", SquallOnly, "600", "TTL of the job's PD service GC safepoint, renewed while the job runs; 0 registers none"),
    k("squall.engine-ranges", SquallOnly, "true", "disjoint ingest: engines write run files cut at planned key ranges, one ingest task per range (disk-quota ignored)"),
    k("squall.index-mode", SquallOnly, "'after-data'", "when secondary indexes are written: \"with-data\" (default) or \"after-data\" (rows first, then an index backfill before the checksum; conflict.strategy must be \"error\")"),
    k("squall.index-backfill-batch-size", SquallOnly, "4096", "rows per KvScan page when an after-data import builds its indexes; default 1024, at least 1"),
];

/// The catalogue entry of a dotted key (`tidb.session-vars.x` finds `tidb.session-vars.*`).
pub fn lookup(key: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.key == key).or_else(|| {
        let (section, _) = key.rsplit_once('.')?;
        KEYS.iter()
            .find(|k| k.key.strip_suffix(".*") == Some(section))
    })
}

/// Whether a value is the no-op of a `RefusedWhenSet` key: false, "", "false", 0, empty.
pub fn is_off(v: &toml::Value) -> bool {
    match v {
        toml::Value::Boolean(b) => !b,
        toml::Value::String(s) => s.is_empty() || s.eq_ignore_ascii_case("false"),
        toml::Value::Integer(i) => *i == 0,
        toml::Value::Array(a) => a.is_empty(),
        toml::Value::Table(t) => t.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_wildcards_resolve() {
        let mut seen = std::collections::BTreeSet::new();
        for k in KEYS {
            assert!(seen.insert(k.key), "duplicate {}", k.key);
            assert!(!k.note.is_empty(), "{} has no note", k.key);
        }
        assert_eq!(
            lookup("tidb.session-vars.tidb_enable_clustered_index").map(|k| k.key),
            Some("tidb.session-vars.*")
        );
        assert!(lookup("tidb.nope").is_none());
    }
}
