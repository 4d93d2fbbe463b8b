//! TiKV's write-CF record (`txn_types::Write`): a type flag byte, the start
//! ts as a varint, then optional tagged fields, of which the sim writes only
//! the short value (`'v'`, a length byte, the value) and reads the rest.

use serde::Serialize;

/// Values up to this length live inline in the write record (TiKV's
/// `SHORT_VALUE_MAX_LEN`); longer ones go to the `default` CF.
pub const SHORT_VALUE_MAX_LEN: usize = 255;

const FLAG_SHORT_VALUE: u8 = b'v';
const FLAG_FOR_UPDATE_TS: u8 = b'f';
const FLAG_OVERLAPPED_ROLLBACK: u8 = b'R';
const FLAG_GC_FENCE: u8 = b'F';
const FLAG_LAST_CHANGE: u8 = b'l';
const FLAG_TXN_SOURCE: u8 = b'S';

/// Kind of a version, as TiKV's `WriteType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WriteKind {
    Put,
    Delete,
    Lock,
    Rollback,
}

impl WriteKind {
    fn flag(self) -> u8 {
        match self {
            WriteKind::Put => b'P',
            WriteKind::Delete => b'D',
            WriteKind::Lock => b'L',
            WriteKind::Rollback => b'R',
        }
    }

    fn from_flag(flag: u8) -> Option<Self> {
        Some(match flag {
            b'P' => WriteKind::Put,
            b'D' => WriteKind::Delete,
            b'L' => WriteKind::Lock,
            b'R' => WriteKind::Rollback,
            _ => return None,
        })
    }
}

/// A write record that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad write record {record}: {reason}")]
pub struct RecordError {
    record: String,
    reason: &'static str,
}

/// One version of a key in the `write` CF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    pub kind: WriteKind,
    pub start_ts: u64,
    pub short_value: Option<Vec<u8>>,
}

impl WriteRecord {
    /// The record TiKV's importer writes for a pair: a Put keeps a short
    /// value inline, a long one is expected in the `default` CF.
    pub fn for_import(kind: WriteKind, start_ts: u64, value: &[u8]) -> Self {
        let short_value =
            (kind == WriteKind::Put && value.len() <= SHORT_VALUE_MAX_LEN).then(|| value.to_vec());
        WriteRecord {
            kind,
            start_ts,
            short_value,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let value_len = self.short_value.as_ref().map_or(0, |v| v.len() + 2);
        let mut out = Vec::with_capacity(1 + 10 + value_len);
        out.push(self.kind.flag());
        put_varint(&mut out, self.start_ts);
        if let Some(v) = &self.short_value {
            out.push(FLAG_SHORT_VALUE);
            // Only values of at most 255 bytes are stored inline.
            out.push(u8::try_from(v.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(v);
        }
        out
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, RecordError> {
        // Called lazily: hex-encoding every record parsed, good or bad, was
        // most of the sim's CPU in duplicate detection and the checksum.
        let err = |reason| RecordError {
            record: hex::encode(bytes),
            reason,
        };
        let (&flag, rest) = bytes.split_first().ok_or_else(|| err("empty"))?;
        let kind = WriteKind::from_flag(flag).ok_or_else(|| err("unknown write type"))?;
        let (start_ts, mut rest) = take_varint(rest).ok_or_else(|| err("bad start ts"))?;
        let mut short_value = None;
        while let Some((&tag, tail)) = rest.split_first() {
            rest = match tag {
                FLAG_SHORT_VALUE => {
                    let (&len, tail) = tail
                        .split_first()
                        .ok_or_else(|| err("short value length"))?;
                    let len = usize::from(len);
                    let value = tail
                        .get(..len)
                        .ok_or_else(|| err("short value truncated"))?;
                    short_value = Some(value.to_vec());
                    &tail[len..]
                }
                FLAG_FOR_UPDATE_TS | FLAG_GC_FENCE => {
                    tail.get(8..).ok_or_else(|| err("ts truncated"))?
                }
                FLAG_OVERLAPPED_ROLLBACK => tail,
                FLAG_LAST_CHANGE => {
                    let tail = tail.get(8..).ok_or_else(|| err("last change truncated"))?;
                    take_varint(tail)
                        .ok_or_else(|| err("last change versions"))?
                        .1
                }
                FLAG_TXN_SOURCE => take_varint(tail).ok_or_else(|| err("txn source"))?.1,
                _ => return Err(err("unknown field tag")),
            };
        }
        Ok(WriteRecord {
            kind,
            start_ts,
            short_value,
        })
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_tikv_bytes() {
        // Put at start ts 300 with value "v": 'P', varint(300) = AC 02, 'v', 1, 'v'.
        let rec = WriteRecord::for_import(WriteKind::Put, 300, b"v");
        assert_eq!(rec.to_bytes(), [b'P', 0xAC, 0x02, b'v', 1, b'v']);
        assert_eq!(WriteRecord::parse(&rec.to_bytes()).expect("parses"), rec);
        let del = WriteRecord::for_import(WriteKind::Delete, 5, b"");
        assert_eq!(del.to_bytes(), [b'D', 5]);
    }

    #[test]
    fn long_values_are_not_inline() {
        let long = vec![7u8; SHORT_VALUE_MAX_LEN + 1];
        assert_eq!(
            WriteRecord::for_import(WriteKind::Put, 1, &long).short_value,
            None
        );
        let edge = vec![7u8; SHORT_VALUE_MAX_LEN];
        let rec = WriteRecord::for_import(WriteKind::Put, 1, &edge);
        assert_eq!(
            WriteRecord::parse(&rec.to_bytes())
                .expect("parses")
                .short_value,
            Some(edge)
        );
    }

    #[test]
    fn reads_optional_fields_and_rejects_garbage() {
        let mut bytes = vec![b'P', 9, FLAG_OVERLAPPED_ROLLBACK, FLAG_GC_FENCE];
        bytes.extend_from_slice(&7u64.to_be_bytes());
        bytes.extend_from_slice(&[FLAG_SHORT_VALUE, 2, b'h', b'i']);
        let rec = WriteRecord::parse(&bytes).expect("parses");
        assert_eq!((rec.start_ts, rec.short_value), (9, Some(b"hi".to_vec())));
        assert!(WriteRecord::parse(b"").is_err());
        assert!(WriteRecord::parse(&[b'X', 1]).is_err());
        assert!(WriteRecord::parse(&[b'P', 1, FLAG_SHORT_VALUE, 5, 1]).is_err());
    }
}
