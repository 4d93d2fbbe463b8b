//! The table a command reads back from TiKV and where its schema comes
//! from (`squall export`, `squall index`).

use std::path::PathBuf;

use squall_common::TaskConfig;
use squall_coordinator::SchemaSource;

use crate::config_args::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct TableSource {
    /// PD address(es), comma separated; default `[tidb] pd-addr`.
    #[arg(long, value_delimiter = ',')]
    pd: Vec<String>,
    /// The table, `db.table`.
    #[arg(long)]
    pub table: String,
    /// Take the schema and table IDs from this dump directory.
    #[arg(long, conflicts_with = "checkpoint")]
    source: Option<PathBuf>,
    /// Take them from this import checkpoint directory (default
    /// `<[squall] output-dir>/checkpoint`).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
}

impl TableSource {
    /// The config with `--pd` applied, the PD addresses and where the
    /// schema is.
    pub fn resolve(
        &self,
        global: &GlobalArgs,
    ) -> anyhow::Result<(TaskConfig, Vec<String>, SchemaSource)> {
        let mut cfg = global.load_config()?;
        if !self.pd.is_empty() {
            cfg.tidb.pd_addr = self.pd.join(",");
        }
        let pd_addrs = cfg
            .tidb
            .pd_addr
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let schema = match (&self.source, &self.checkpoint) {
            (Some(dir), _) => SchemaSource::SourceDir(dir.clone()),
            (None, Some(dir)) => SchemaSource::Checkpoint(dir.clone()),
            (None, None) => {
                SchemaSource::Checkpoint(PathBuf::from(&cfg.squall.output_dir).join("checkpoint"))
            }
        };
        Ok((cfg, pd_addrs, schema))
    }
}
