//! Datum flag bytes that prefix each value in comparable keys and old-format values
//! (TiDB `pkg/util/codec/codec.go`).

pub const NIL: u8 = 0x00;
pub const BYTES: u8 = 0x01;
pub const COMPACT_BYTES: u8 = 0x02;
pub const INT: u8 = 0x03;
pub const UINT: u8 = 0x04;
pub const FLOAT: u8 = 0x05;
pub const DECIMAL: u8 = 0x06;
pub const DURATION: u8 = 0x07;
pub const VARINT: u8 = 0x08;
pub const UVARINT: u8 = 0x09;
pub const JSON: u8 = 0x0A;
pub const MAX: u8 = 0xFA;
