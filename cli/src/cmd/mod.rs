//! One module per subcommand.

pub mod check_config;
pub mod decode;
pub mod export;
pub mod gen_dump;
pub mod import;
pub mod sim;
