//! Row handles: `_tidb_rowid` / integer primary key, or the common handle of
//! a clustered non-integer primary key.

use std::fmt;

use crate::number::encode_int;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Handle {
    Int(i64),
    /// `EncodeKey(pk datums)`: flag bytes + comparable encodings.
    Common(Vec<u8>),
}

impl Handle {
    /// The bytes that follow `t{table}_r` in the record key.
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        match self {
            Handle::Int(h) => encode_int(buf, *h),
            Handle::Common(b) => buf.extend_from_slice(b),
        }
    }

    pub fn encoded(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(9);
        self.encode_into(&mut v);
        v
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Handle::Int(h) => write!(f, "{h}"),
            Handle::Common(b) => match crate::datum_codec::decode_key_datums(b) {
                Ok(ds) => write!(f, "({})", crate::datum_codec::describe_datums(&ds)),
                Err(_) => write!(f, "0x{}", hex::encode(b)),
            },
        }
    }
}
