//! TiDB Lightning users' config files load in Squall: Lightning's own sample
//! `tidb-lightning.toml` (with `backend = "local"`), and every key of
//! Lightning's configuration reference, each acting, warning by name or
//! refused with a reason (never "unknown"). docs/lightning-config.md lists
//! the same keys.

use std::path::{Path, PathBuf};

use squall_common::config::keys::{self, Support};
use squall_common::config::{check_toml, ConflictStrategy, PostOpLevel};
use squall_common::TaskConfig;
use squall_tests::{find_binary, shared_dir, skip, workspace_root};

/// The settings of Lightning's sample `lightning/tidb-lightning.toml`
/// (pingcap/tidb, Apache-2.0): every uncommented key with its value, the
/// comments left out, `backend` set to "local" as the issue asks.
const SAMPLE_SETTINGS: &str = r#"
[lightning]
status-addr = ":8289"
server-mode = false
index-concurrency = 2
table-concurrency = 6
max-error = 0
level = "info"
file = "tidb-lightning.log"
max-size = 128 # MB
max-days = 28
max-backups = 14

[checkpoint]
enable = true
schema = "tidb_lightning_checkpoint"
driver = "file"

[conflict]
strategy = ""

[tikv-importer]
backend = "local"
addr = "127.0.0.1:8287"

[mydumper]
read-block-size = '64KiB'
batch-import-ratio = 0.75
data-source-dir = "/tmp/export-20180328-200751"
no-schema = false
data-character-set = "binary"
data-invalid-char-replace = "\uFFFD"
case-sensitive = false
strict-format = false
filter = ['*.*', '!mysql.*', '!sys.*', '!INFORMATION_SCHEMA.*', '!PERFORMANCE_SCHEMA.*', '!METRICS_SCHEMA.*', '!INSPECTION_SCHEMA.*']

[mydumper.csv]
separator = ','
delimiter = '"'
terminator = ''
header = true
not-null = false
null = '\N'
backslash-escape = true

[tidb]
host = "127.0.0.1"
port = 4000
user = "root"
password = ""
status-port = 10080
pd-addr = "127.0.0.1:2379"
log-level = "error"
build-stats-concurrency = 20
distsql-scan-concurrency = 15
index-serial-scan-concurrency = 20
checksum-table-concurrency = 2

[post-restore]
checksum = "required"
analyze = "optional"
level-1-compact = false
compact = false
post-process-at-last = true

[cron]
switch-mode = "5m"
log-progress = "5m"
check-disk-quota = "1m"
"#;

/// Checks a sample text: no errors, the values that act are read, and the
/// keys without effect are named in warnings.
fn assert_sample_loads(text: &str, origin: &str) {
    let mut report = check_toml(text).unwrap_or_else(|e| panic!("{origin}: {e}"));
    report.validate(text);
    assert!(report.errors.is_empty(), "{origin}: {:#?}", report.errors);
    let cfg = &report.config;
    assert_eq!(cfg.lightning.table_concurrency, 6);
    assert_eq!(cfg.lightning.index_concurrency, 2);
    assert_eq!(cfg.tidb.pd_addr, "127.0.0.1:2379");
    assert_eq!(cfg.tidb.distsql_scan_concurrency, 15);
    assert_eq!(cfg.post_restore.checksum, PostOpLevel::Required);
    // The SQL steps' server and ANALYZE act (coordinator/src/tidb).
    assert_eq!((cfg.tidb.host.as_str(), cfg.tidb.port), ("127.0.0.1", 4000));
    assert_eq!(cfg.tidb.user, "root");
    assert_eq!(cfg.post_restore.analyze, PostOpLevel::Optional);
    // Lightning's "" (no detection) is Squall's "record": found and reported.
    assert_eq!(cfg.conflict.strategy, ConflictStrategy::Record);
    assert_eq!(cfg.mydumper.read_block_size.as_u64(), 64 << 10);
    assert_eq!(cfg.mydumper.data_invalid_char_replace, "\u{FFFD}");
    let warned: Vec<&str> = report.warnings.iter().map(|w| w.key.as_str()).collect();
    for key in [
        "lightning.status-addr",
        "lightning.max-size",
        "checkpoint.schema",
        "post-restore.compact",
        "cron.switch-mode",
        "mydumper.no-schema",
        "tikv-importer.addr",
    ] {
        assert!(
            warned.contains(&key),
            "{origin}: {key} not warned: {warned:?}"
        );
    }
    for w in &report.warnings {
        assert!(w.line.is_some(), "{origin}: warning without a line: {w}");
    }
}

#[test]
fn lightning_sample_settings_load() {
    assert_sample_loads(SAMPLE_SETTINGS, "the sample's settings");
}

/// The full sample file, comments and all, when `../shared` has a copy.
#[test]
fn lightning_sample_file_from_shared_loads() {
    let Some(shared) = shared_dir() else {
        skip("../shared is not there (the sample's settings are tested without it)");
        return;
    };
    let candidates = [
        "reference/tidb-lightning.toml",
        "seeds/tidb-lightning.toml",
        "fixtures/lightning/tidb-lightning.toml",
        "tidb-lightning.toml",
    ];
    let Some(path) = candidates
        .iter()
        .map(|c| shared.join(c))
        .find(|p| p.is_file())
    else {
        // Not a missing prerequisite of Squall: ../shared simply carries no
        // copy, and `lightning_sample_settings_load` covers the settings.
        eprintln!(
            "skipping: no tidb-lightning.toml under {}",
            shared.display()
        );
        return;
    };
    let text = std::fs::read_to_string(&path).expect("read sample");
    let local = text.replace("backend = \"importer\"", "backend = \"local\"");
    assert_sample_loads(&local, &path.display().to_string());
}

/// The TOML text that sets one catalogue key to its example value.
fn one_key_doc(key: &str, example: &str) -> String {
    if let Some(name) = key.strip_prefix("mydumper.files.") {
        return format!("[[mydumper.files]]\n{name} = {example}\n");
    }
    let key = key.replace(".*", ".some_var");
    match key.rsplit_once('.') {
        Some((section, name)) => format!("[{section}]\n{name} = {example}\n"),
        None => format!("{key} = {example}\n"),
    }
}

/// Values other than the defaults, for acting keys whose catalogue example
/// is the default value.
const PROBES: &[(&str, &str)] = &[
    ("lightning.check-requirements", "false"),
    ("lightning.index-concurrency", "3"),
    ("lightning.table-concurrency", "3"),
    ("checkpoint.enable", "false"),
    ("tikv-importer.send-kv-pairs", "1024"),
    ("tikv-importer.region-split-size", "'48MiB'"),
    ("tikv-importer.region-split-keys", "640000"),
    ("tikv-importer.range-concurrency", "4"),
    ("tikv-importer.local-writer-mem-cache-size", "'64MiB'"),
    ("mydumper.read-block-size", "'128KiB'"),
    ("mydumper.character-set", "'binary'"),
    ("mydumper.case-sensitive", "true"),
    ("mydumper.strict-format", "true"),
    ("mydumper.max-region-size", "'128MiB'"),
    ("mydumper.default-file-rules", "false"),
    ("mydumper.csv.separator", "'|'"),
    ("mydumper.csv.delimiter", "\"'\""),
    ("mydumper.csv.terminator", "\"\\r\\n\""),
    ("mydumper.csv.header", "false"),
    ("mydumper.csv.header-schema-match", "false"),
    ("mydumper.csv.not-null", "true"),
    ("mydumper.csv.null", "'NULL'"),
    ("mydumper.csv.backslash-escape", "false"),
    ("mydumper.csv.escaped-by", "''"),
    ("mydumper.csv.trim-last-separator", "true"),
    ("tidb.port", "4001"),
    ("tidb.user", "'squall'"),
    ("tidb.password", "'secret'"),
    ("tidb.pd-addr", "'127.0.0.1:2380'"),
    ("tidb.distsql-scan-concurrency", "4"),
    ("post-restore.checksum", "'optional'"),
    ("post-restore.analyze", "'off'"),
    ("squall.output-dir", "'elsewhere'"),
    ("squall.rpc-timeout-secs", "31"),
    ("squall.max-retries", "3"),
    ("squall.stream-idle-timeout-secs", "60"),
    ("squall.gc-safepoint-ttl-secs", "300"),
];

/// Acting keys with one behaviour: Squall's only backend and driver, and
/// the scheduler pause, which is cluster-wide whatever the scope (`table`
/// is accepted with a warning saying so).
const ONLY_VALUE: &[&str] = &[
    "tikv-importer.backend",
    "checkpoint.driver",
    "tikv-importer.pause-pd-scheduler-scope",
];

/// Every key that acts (the same way, differently, or Squall's own) changes
/// the config Squall runs with when set to another value than the default:
/// none is parsed and dropped.
#[test]
fn every_acting_key_changes_the_config() {
    let default = serde_json::to_value(TaskConfig::default()).expect("config serializes");
    let mut unchanged = Vec::new();
    for info in keys::KEYS {
        let acts = matches!(
            info.support,
            Support::Acts | Support::Differs | Support::SquallOnly
        );
        if !acts || ONLY_VALUE.contains(&info.key) {
            continue;
        }
        let value = PROBES
            .iter()
            .find(|(k, _)| *k == info.key)
            .map_or(info.example, |(_, v)| *v);
        let doc = one_key_doc(info.key, value);
        let report = check_toml(&doc).unwrap_or_else(|e| panic!("{}: {e}\n{doc}", info.key));
        assert!(
            report.errors.is_empty(),
            "{}: {:?}",
            info.key,
            report.errors
        );
        if serde_json::to_value(&report.config).expect("config serializes") == default {
            unchanged.push(format!("{} = {value}", info.key));
        }
    }
    assert!(
        unchanged.is_empty(),
        "keys that act but leave the config as the defaults: {unchanged:#?}"
    );
}

/// Every key of Lightning's reference: never "unknown"; warned keys are
/// named in a warning, refused keys in an error that gives the reason.
#[test]
fn every_reference_key_is_known() {
    for info in keys::KEYS {
        let doc = one_key_doc(info.key, info.example);
        let report = check_toml(&doc).unwrap_or_else(|e| panic!("{}: {e}\n{doc}", info.key));
        let shown = info.key.replace(".*", ".some_var");
        let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
        let warnings: Vec<String> = report.warnings.iter().map(|e| e.to_string()).collect();
        for e in &errors {
            assert!(!e.contains("unknown"), "{}: {e}", info.key);
        }
        match info.support {
            Support::Acts | Support::Differs | Support::SquallOnly => {
                let non_fatal = errors.is_empty();
                assert!(non_fatal, "{}: {errors:?}\n{doc}", info.key);
            }
            Support::Warns => {
                assert!(errors.is_empty(), "{}: {errors:?}", info.key);
                assert!(
                    warnings
                        .iter()
                        .any(|w| w.contains(&shown) && w.contains(info.note)),
                    "{}: not warned: {warnings:?}",
                    info.key
                );
            }
            Support::RefusedWhenSet | Support::Refused => {
                assert!(
                    errors.iter().any(|e| e.contains(&shown)
                        && e.contains("refused")
                        && e.contains(info.note)),
                    "{}: not refused with its reason: {errors:?}",
                    info.key
                );
            }
        }
    }
}

fn docs_table() -> String {
    std::fs::read_to_string(workspace_root().join("docs/lightning-config.md"))
        .expect("docs/lightning-config.md")
}

/// The docs list every catalogue key with its kind.
#[test]
fn docs_list_every_key_with_its_kind() {
    let docs = docs_table();
    for info in keys::KEYS {
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", info.key)))
            .unwrap_or_else(|| panic!("docs/lightning-config.md has no row for `{}`", info.key));
        assert!(
            row.contains(info.support.label()),
            "row of `{}` does not say {:?}: {row}",
            info.key,
            info.support.label()
        );
    }
}

/// `squall check-config` prints every problem with file:line:column and fails.
#[test]
fn check_config_cli_reports_all_problems() {
    let Some(squall) = find_binary("squall") else {
        skip("the squall binary is not built (cargo build --workspace)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("task.toml");
    let text = "[lightning]\nstatus-addr = ':8289'\ntable-concurency = 2\n\n[tikv-importer]\nbackend = 'tidb'\n\n[conflict]\nstrategy = 'smash'\n";
    std::fs::write(&path, text).expect("write");
    let out = run(&squall, &path);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let p = path.display();
    for needle in [
        format!("{p}:2:1: warning: `lightning.status-addr`"),
        format!("{p}:3:1: error: `lightning.table-concurency`: unknown key; did you mean `lightning.table-concurrency`?"),
        format!("{p}:6:11: error: `tikv-importer.backend`"),
        format!("{p}:9:12: error: `conflict.strategy`"),
        "3 error(s), 1 warning(s)".to_string(),
    ] {
        assert!(err.contains(&needle), "missing {needle:?} in:\n{err}");
    }

    std::fs::write(&path, SAMPLE_SETTINGS).expect("write sample");
    let out = run(&squall, &path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let printed = String::from_utf8_lossy(&out.stdout);
    let reloaded =
        TaskConfig::from_toml(&printed, Path::new("printed")).expect("printed config reloads");
    assert_eq!(reloaded.lightning.table_concurrency, 6);
}

fn run(squall: &Path, config: &Path) -> std::process::Output {
    std::process::Command::new(squall)
        .arg("--config")
        .arg(config)
        .arg("check-config")
        .output()
        .expect("run squall check-config")
}
