//! The engine task: read chunks, convert and encode rows, sort, ingest, record.
