//! `squall check-config`: parse, validate and print the effective config.

use std::process::ExitCode;

use anyhow::Context;

use crate::config_args::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(global: &GlobalArgs, _args: Args) -> anyhow::Result<ExitCode> {
    let cfg = global.load_config()?;
    cfg.validate().context("validating the task config")?;
    println!(
        "{}",
        toml::to_string_pretty(&cfg).context("printing the config")?
    );
    Ok(ExitCode::SUCCESS)
}
