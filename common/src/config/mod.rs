//! The task configuration: a TOML file in TiDB Lightning's layout (so a
//! Lightning `tidb-lightning.toml` loads as is), overridden by CLI flags and
//! environment variables. Every key of Lightning's reference is known: it
//! acts, acts differently, is accepted with a warning, or is refused with a
//! reason ([`keys`], docs/lightning-config.md). Unknown keys are errors that
//! name the key; all of a file's problems are reported together ([`check`]).

mod bytesize;
pub mod check;
mod enums;
pub mod keys;
mod mydumper;
mod sections;
mod security;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use bytesize::ByteSize;
pub use check::{check_toml, ConfigProblem, ConfigReport};
pub use enums::{Backend, CheckpointDriver, ConflictStrategy, DataCharset, IndexMode, PostOpLevel};
pub use mydumper::{CsvConfig, FileRule, MydumperConfig, NullMarkers, TableRoute};
pub use sections::{
    CheckpointConfig, ConflictConfig, ImporterConfig, LightningConfig, Password, PostRestoreConfig,
    SquallConfig, TidbConfig, LIGHTNING_DEFAULT_SQL_MODE, SQUALL_DEFAULT_SQL_MODE,
};
pub use security::SecurityConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// Every problem found, each naming its key (and line, column when known).
    #[error("{}", Problems(.origin, .problems))]
    Invalid {
        /// The file (or what the text came from); empty when unknown.
        origin: String,
        problems: Vec<ConfigProblem>,
    },
}

/// Formats a list of problems: one line, or one per problem when several.
struct Problems<'a>(&'a String, &'a Vec<ConfigProblem>);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (origin, problems) = (self.0, self.1);
        let head = if origin.is_empty() {
            "invalid config".to_string()
        } else {
            format!("invalid config {origin}")
        };
        match problems.as_slice() {
            [one] => write!(f, "{head}: {one}"),
            many => {
                write!(f, "{head}: {} problems:", many.len())?;
                for p in many {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
        }
    }
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
    pub security: SecurityConfig,
}

impl TaskConfig {
    /// Parses TOML text; `origin` names the file in errors. Every unknown
    /// key, refused key and badly typed value is in the one error; keys
    /// accepted without effect are logged as warnings, each by name.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        let report = check_toml(text).map_err(|message| ConfigError::Parse {
            path: origin.to_path_buf(),
            message,
        })?;
        for w in &report.warnings {
            tracing::warn!(config = %origin.display(), "{w}");
        }
        if !report.errors.is_empty() {
            return Err(ConfigError::Invalid {
                origin: origin.display().to_string(),
                problems: report.errors,
            });
        }
        Ok(report.config)
    }

    /// Reads and parses a config file (no validation: apply overrides first).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Checks values that parse but make no sense (zero concurrencies and
    /// sizes, bad patterns, clashing CSV marks); the error lists them all.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let problems: Vec<ConfigProblem> = self
            .problems()
            .into_iter()
            .map(|(key, message)| ConfigProblem {
                key,
                line: None,
                column: None,
                message,
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                origin: String::new(),
                problems,
            })
        }
    }

    /// Whether a `post-restore.checksum` mismatch fails the job.
    pub fn checksum_required(&self) -> bool {
        self.post_restore.checksum == PostOpLevel::Required
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
        let msg = TaskConfig::from_toml("[conflict]\nstrategy = \"smash\"\n", Path::new("c.toml"))
            .expect_err("a typo fails at load")
            .to_string();
        assert!(msg.contains("conflict.strategy"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
        let msg =
            TaskConfig::from_toml("[tikv-importer]\nbackend = \"tidb\"\n", Path::new("c.toml"))
                .expect_err("refused")
                .to_string();
        assert!(msg.contains("tikv-importer.backend"), "{msg}");
        assert!(msg.contains("physical"), "{msg}");
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

    #[test]
    fn written_config_reloads_unchanged() {
        let mut cfg = TaskConfig::default();
        cfg.conflict.strategy = ConflictStrategy::Replace;
        cfg.post_restore.checksum = PostOpLevel::Optional;
        cfg.checkpoint.driver = CheckpointDriver::Etcd;
        cfg.mydumper.data_character_set = DataCharset::Gbk;
        cfg.lightning.max_error = 7;
        let text = toml::to_string(&cfg).expect("serializes");
        let back = TaskConfig::from_toml(&text, Path::new("w.toml")).expect("reloads");
        assert_eq!(back, cfg);
    }
}
