//! The worker: pull an engine task, encode its chunks into a local sorted
//! engine, ingest the engine's ranges into TiKV regions, record the result.
//! [`node`] is the same worker as a stateless process of a cluster;
//! [`metrics`] its Prometheus metrics.

pub mod engine;
pub mod ingest;
pub mod metrics;
pub mod node;
pub mod task;
