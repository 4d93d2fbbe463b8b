//! One module per subcommand.

pub mod check_config;
pub mod coordinator;
pub mod decode;
pub mod export;
mod follow;
pub mod gen_dump;
pub mod import;
pub mod index;
pub mod job;
pub mod precheck;
mod progress;
pub mod sim;
pub mod worker;
