//! One module per subcommand.

pub mod check_config;
pub mod decode;
pub mod gen_dump;
pub mod sim;
pub mod export;
pub mod import;
