//! Dumpling/mydumper discovery, CSV and SQL parsing, chunking.
