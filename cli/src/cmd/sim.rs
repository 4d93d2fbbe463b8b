//! `squall sim`: a TiKV + PD protocol-compatible test cluster (tikv-sim) for
//! tests, demos and chaos runs. Serves until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use anyhow::Context;

pub fn run(args: tikv_sim::SimArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime
        .block_on(tikv_sim::run(args))
        .context("running tikv-sim")?;
    Ok(ExitCode::SUCCESS)
}
