//! The task configuration: a TOML file in TiDB Lightning's layout (so a
//! Lightning `tidb-lightning.toml` mostly works as is), overridden by CLI
//! flags and environment variables. Unknown keys are errors that name the key.

mod bytesize;
mod mydumper;
mod sections;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use bytesize::ByteSize;
pub use mydumper::{CsvConfig, FileRule, MydumperConfig, NullMarkers};
pub use sections::{
    CheckpointConfig, ConflictConfig, ImporterConfig, LightningConfig, PostRestoreConfig,
    SquallConfig, TidbConfig, LIGHTNING_DEFAULT_SQL_MODE, SQUALL_DEFAULT_SQL_MODE,
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config: `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TaskConfig {
    pub lightning: LightningConfig,
    pub tikv_importer: ImporterConfig,
    pub mydumper: MydumperConfig,
    pub tidb: TidbConfig,
    pub checkpoint: CheckpointConfig,
    pub post_restore: PostRestoreConfig,
    pub conflict: ConflictConfig,
    pub squall: SquallConfig,
}

impl TaskConfig {
    /// Parses TOML text; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
        })
    }

    /// Reads and parses a config file (no validation: apply overrides first).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Checks values that parse but make no sense; errors name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn bad(key: &'static str, reason: impl Into<String>) -> Result<(), ConfigError> {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        }
        if self.tikv_importer.backend != "local" {
            return bad(
                "tikv-importer.backend",
                format!(
                    "{:?} is not supported: Squall only does physical import (`local`)",
                    self.tikv_importer.backend
                ),
            );
        }
        if !matches!(
            self.conflict.strategy.as_str(),
            "error" | "record" | "none" | "remove" | "replace"
        ) {
            return bad(
                "conflict.strategy",
                format!(
                    "{:?}: expected error, record, none, remove or replace",
                    self.conflict.strategy
                ),
            );
        }
        if !matches!(
            self.post_restore.checksum.as_str(),
            "required" | "optional" | "off" | "true" | "false"
        ) {
            return bad(
                "post-restore.checksum",
                format!(
                    "{:?}: expected required, optional or off",
                    self.post_restore.checksum
                ),
            );
        }
        if !matches!(self.checkpoint.driver.as_str(), "file" | "etcd") {
            return bad(
                "checkpoint.driver",
                format!("{:?}: expected file or etcd", self.checkpoint.driver),
            );
        }
        let csv = &self.mydumper.csv;
        if csv.separator.is_empty() {
            return bad("mydumper.csv.separator", "must not be empty");
        }
        if !csv.delimiter.is_empty() && csv.separator.starts_with(&csv.delimiter) {
            return bad("mydumper.csv.delimiter", "must differ from the separator");
        }
        if self.tikv_importer.region_split_size.0 == 0 {
            return bad("tikv-importer.region-split-size", "must be positive");
        }
        if self.tikv_importer.send_kv_pairs == 0 || self.tikv_importer.send_kv_size.0 == 0 {
            return bad(
                "tikv-importer.send-kv-size",
                "send-kv-pairs and send-kv-size must be positive",
            );
        }
        if self.tikv_importer.range_concurrency == 0 {
            return bad("tikv-importer.range-concurrency", "must be at least 1");
        }
        if self.tidb.distsql_scan_concurrency == 0 {
            return bad("tidb.distsql-scan-concurrency", "must be at least 1");
        }
        if self.mydumper.batch_size.0 == 0 || self.mydumper.max_region_size.0 == 0 {
            return bad(
                "mydumper.batch-size",
                "engine and chunk sizes must be positive",
            );
        }
        for rule in &self.mydumper.files {
            if rule.pattern.is_empty() == rule.path.is_empty() {
                return bad(
                    "mydumper.files",
                    "each rule needs exactly one of `pattern` and `path`",
                );
            }
            if !rule.pattern.is_empty() {
                if let Err(e) = regex::Regex::new(&rule.pattern) {
                    return bad("mydumper.files.pattern", format!("{:?}: {e}", rule.pattern));
                }
            }
        }
        Ok(())
    }

    /// Whether a `post-restore.checksum` mismatch fails the job.
    pub fn checksum_required(&self) -> bool {
        matches!(self.post_restore.checksum.as_str(), "required" | "true")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_named() {
        let err = TaskConfig::from_toml("[mydumper]\nread-blok-size = 1\n", Path::new("bad.toml"))
            .expect_err("unknown key must fail");
        let msg = err.to_string();
        assert!(msg.contains("read-blok-size"), "{msg}");
        assert!(msg.contains("bad.toml"), "{msg}");
    }

    #[test]
    fn lightning_config_is_accepted() {
        let text = "[lightning]\ntable-concurrency = 1\nlevel = \"warning\"\n\n[tikv-importer]\nbackend = 'local'\nsend-kv-pairs=10\nregion-split-size = 1024\n\n[mydumper]\nread-block-size = 512\n\n[mydumper.csv]\nnull = '\\N'\nheader = false\n";
        let cfg = TaskConfig::from_toml(text, Path::new("t.toml")).expect("parses");
        cfg.validate().expect("valid");
        assert_eq!(cfg.tikv_importer.region_split_size, ByteSize(1024));
        assert_eq!(cfg.mydumper.read_block_size, ByteSize(512));
        assert!(!cfg.mydumper.csv.header);
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cfg = TaskConfig::from_toml("[conflict]\nstrategy = \"smash\"\n", Path::new("c.toml"))
            .expect("parses");
        let msg = cfg.validate().expect_err("invalid").to_string();
        assert!(msg.contains("conflict.strategy"), "{msg}");
        let cfg =
            TaskConfig::from_toml("[tikv-importer]\nbackend = \"tidb\"\n", Path::new("c.toml"))
                .expect("parses");
        assert!(cfg.validate().is_err());
        let cfg = TaskConfig::from_toml(
            "[tikv-importer]\nsend-kv-size = \"0\"\n",
            Path::new("c.toml"),
        )
        .expect("parses");
        let msg = cfg.validate().expect_err("zero batch").to_string();
        assert!(msg.contains("tikv-importer.send-kv-size"), "{msg}");
        let cfg = TaskConfig::from_toml(
            "[tikv-importer]\nsend-kv-size = \"256KiB\"\n",
            Path::new("c.toml"),
        )
        .expect("parses");
        assert_eq!(cfg.tikv_importer.send_kv_size.as_u64(), 256 << 10);
        assert!(cfg.validate().is_ok());
    }
}
