//! The worker: pull an engine task, encode its chunks into a local sorted
//! engine, ingest the engine's ranges into TiKV regions, record the result.

pub mod engine;
pub mod ingest;
pub mod task;
