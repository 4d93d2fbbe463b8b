//! The session time zone TIMESTAMP values are read in (`time_zone`): one
//! definition, shared with the Parquet reader, lives in `squall_common`.

pub use squall_common::time_zone::SessionTz;
