//! Process-wide `tracing` setup for the binaries (libraries only emit events).

use std::io::IsTerminal;

use tracing_subscriber::{fmt, EnvFilter};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs a subscriber writing to stderr. `RUST_LOG` wins over `default_level`
/// (which accepts Lightning's `warning` as well as `warn`). Safe to call twice:
/// the second call does nothing.
pub fn init(default_level: &str, format: LogFormat) {
    let level = match default_level {
        "warning" => "warn",
        other => other,
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},h2=warn,tower=warn,hyper=warn")));
    // Colour only on a terminal: `docker logs`, files and pipes get plain text.
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
