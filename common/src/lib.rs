//! Config, schema model, logging and the checkpoint and queue seams shared by
//! every Squall crate. Nothing here talks to the network.

pub mod artefacts;
pub mod checkpoint;
pub mod checksum;
pub mod config;
pub mod duplicates_file;
pub mod error_chain;
pub mod failpoint;
pub mod http1;
pub mod logging;
pub mod queue;
pub mod schema;
pub mod time_zone;

pub use checksum::KvChecksum;
pub use config::TaskConfig;
