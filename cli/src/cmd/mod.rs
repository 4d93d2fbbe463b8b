//! One module per subcommand.

pub mod check_config;
pub mod gen_dump;
