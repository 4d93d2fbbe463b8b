//! `squall check-config`: every problem of a config file in one run (unknown
//! keys, refused keys, bad values, each with line and column), the Lightning
//! keys accepted without effect as warnings, then the effective config.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use squall_common::config::{check_toml, ConfigProblem};
use squall_common::TaskConfig;

use crate::config_args::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only the problems and warnings, not the effective config.
    #[arg(long)]
    quiet: bool,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let Some(path) = &global.config else {
        let cfg = TaskConfig::default();
        cfg.validate().context("validating the default config")?;
        print_config(&cfg, args.quiet)?;
        return Ok(ExitCode::SUCCESS);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    let mut report = match check_toml(&text) {
        Ok(r) => r,
        Err(syntax) => {
            eprintln!("{}: error: {syntax}", path.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    report.validate(&text);
    for w in &report.warnings {
        eprintln!("{}", line(path, "warning", w));
    }
    for e in &report.errors {
        eprintln!("{}", line(path, "error", e));
    }
    if !report.errors.is_empty() {
        eprintln!(
            "{}: {} error(s), {} warning(s)",
            path.display(),
            report.errors.len(),
            report.warnings.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    print_config(&report.config, args.quiet)?;
    Ok(ExitCode::SUCCESS)
}

/// `file:line:column: error: `key`: message`, as compilers print, so editors jump to it.
fn line(path: &Path, level: &str, p: &ConfigProblem) -> String {
    let at = match (p.line, p.column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", path.display()),
        _ => path.display().to_string(),
    };
    format!("{at}: {level}: `{}`: {}", p.key, p.message)
}

fn print_config(cfg: &TaskConfig, quiet: bool) -> anyhow::Result<()> {
    if !quiet {
        println!(
            "{}",
            toml::to_string_pretty(cfg).context("printing the config")?
        );
    }
    Ok(())
}
