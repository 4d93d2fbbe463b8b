//! TiDB's byte encoding: keys, row format v2, datums, checksums.
//!
//! Everything here follows `../shared/reference/tidb-codec.md`; the golden
//! vectors from that document are unit tests next to the code they check.
//!
//! The API other crates use:
//! * [`Converter`] turns source text into [`Datum`]s under a SQL mode.
//! * [`TableEncoder`] turns a row of datums into [`EncodedKv`]s.
//! * [`KvChecksum`] is Lightning's mergeable KV checksum.
//! * Decoding: [`decode_record_key`], [`decode_index_key`], [`decode_row_v2`],
//!   [`decode_handle_from_index_value`], [`describe()`].

pub mod bytes;
pub mod checksum;
pub mod collation;
pub mod convert;
pub mod datum;
pub mod datum_codec;
pub mod decimal;
mod decimal_parse;
pub mod describe;
pub mod error;
pub mod flag;
pub mod handle;
pub mod index_value;
pub mod json;
pub mod key;
pub mod number;
pub mod row_decode;
pub mod row_id;
pub mod row_v2;
pub mod schema_rules;
pub mod table_encoder;
pub mod time;

pub use checksum::KvChecksum;
pub use convert::{ConvertError, ConvertWarning, Converter, ValueForm};
pub use datum::Datum;
pub use decimal::Decimal;
pub use describe::{describe, describe_with_table, try_describe};
pub use error::{CodecError, EncodeError};
pub use handle::Handle;
pub use index_value::{decode_handle_from_index_value, decode_index_handle};
pub use json::Json;
pub use key::{
    decode_index_key, decode_record_key, record_key, table_index_range, table_record_range,
    IndexKey,
};
pub use row_decode::{decode_row_v2, decode_row_v2_with_handle};
pub use table_encoder::{EncodeOptions, EncodedKv, TableEncoder};
pub use time::{Duration, Time, TimeKind};
