//! Config, schema model, logging and the checkpoint and queue seams shared by
//! every Squall crate. Nothing here talks to the network.

pub mod artefacts;
pub mod checkpoint;
pub mod checksum;
pub mod config;
pub mod duplicates_file;
pub mod failpoint;
pub mod logging;
pub mod queue;
pub mod schema;

pub use checksum::KvChecksum;
pub use config::TaskConfig;
