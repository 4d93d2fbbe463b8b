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
        println!("{}", shown(cfg)?);
    }
    Ok(())
}

/// The effective config as printed: TOML without its secrets, since the
/// output lands in terminals, CI logs and bug reports. `tidb.password`
/// shows as `***` (so one sees it is set), a source URL loses its
/// credentials (`access-key`, `secret-access-key`, `session-token`,
/// `user:password@`), as logs and checkpoints show it.
fn shown(cfg: &TaskConfig) -> anyhow::Result<String> {
    let mut cfg = cfg.clone();
    if !cfg.tidb.password.0.is_empty() {
        cfg.tidb.password.0 = "***".into();
    }
    cfg.mydumper.data_source_dir = squall_source::storage::redacted(&cfg.mydumper.data_source_dir);
    toml::to_string_pretty(&cfg).context("printing the config")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_config_hides_the_password_and_source_credentials() {
        let mut cfg = TaskConfig::default();
        cfg.tidb.password.0 = "hunter2-SeCrEt".into();
        cfg.mydumper.data_source_dir =
            "s3://user:pw@bkt/dump?access-key=AKID&secret-access-key=SKEY&session-token=TOK&region=r1"
                .into();
        let text = shown(&cfg).expect("prints");
        for secret in ["hunter2-SeCrEt", "AKID", "SKEY", "TOK", "user:pw"] {
            assert!(!text.contains(secret), "{secret} printed in:\n{text}");
        }
        assert!(text.contains("password = \"***\""), "{text}");
        assert!(text.contains("s3://bkt/dump?region=r1"), "{text}");
    }

    #[test]
    fn printed_config_keeps_an_empty_password_and_a_local_source() {
        let mut cfg = TaskConfig::default();
        cfg.mydumper.data_source_dir = "/data/dump".into();
        let text = shown(&cfg).expect("prints");
        assert!(text.contains("password = \"\""), "{text}");
        assert!(text.contains("data-source-dir = \"/data/dump\""), "{text}");
    }
}
