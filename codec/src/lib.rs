//! TiDB's byte encoding: keys, row format v2, datums, checksums.
