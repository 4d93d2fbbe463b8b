//! Flags every subcommand shares: the config file and logging.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use squall_common::logging::{self, LogFormat};
use squall_common::TaskConfig;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Task config file (TiDB Lightning layout, docs/lightning-config.md; unknown keys are errors).
    #[arg(long, global = true, env = "SQUALL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log level (overridden by RUST_LOG).
    #[arg(long, global = true, env = "SQUALL_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Log format.
    #[arg(
        long,
        global = true,
        env = "SQUALL_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormatArg,
}

impl GlobalArgs {
    pub fn init_logging(&self) {
        let format = match self.log_format {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        };
        logging::init(&self.log_level, format);
    }

    /// Loads the config file (or defaults) without validating: callers apply
    /// their flags first, then call `validate`.
    pub fn load_config(&self) -> anyhow::Result<TaskConfig> {
        match &self.config {
            Some(path) => TaskConfig::from_file(path).context("loading the task config"),
            None => Ok(TaskConfig::default()),
        }
    }
}
