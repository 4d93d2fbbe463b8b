//! TiDB binary JSON (`types/json_binary.go` layout): a type-code byte
//! followed by the value. Built from JSON text, read back to text.

use serde_json::{Map, Number, Value};

use crate::error::{take, CodecError};
use crate::number::{decode_uvarint, encode_uvarint};

pub const TYPE_OBJECT: u8 = 0x01;
pub const TYPE_ARRAY: u8 = 0x03;
pub const TYPE_LITERAL: u8 = 0x04;
pub const TYPE_INT64: u8 = 0x09;
pub const TYPE_UINT64: u8 = 0x0A;
pub const TYPE_FLOAT64: u8 = 0x0B;
pub const TYPE_STRING: u8 = 0x0C;
const LIT_NULL: u8 = 0x00;
const LIT_TRUE: u8 = 0x01;
const LIT_FALSE: u8 = 0x02;
const HEADER: usize = 8;
const KEY_ENTRY: usize = 6;
const VALUE_ENTRY: usize = 5;

/// A JSON document in TiDB's binary form: `bytes[0]` is the type code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Json {
    bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("invalid JSON text: {0}")]
    InvalidText(String),
    #[error("JSON document too large for the binary format")]
    TooLarge,
}

impl Json {
    /// Parses JSON text (numbers become int64, uint64 or float64 as TiDB does).
    pub fn from_text(text: &[u8]) -> Result<Self, JsonError> {
        let v: Value =
            serde_json::from_slice(text).map_err(|e| JsonError::InvalidText(e.to_string()))?;
        Self::from_value(&v)
    }

    pub fn from_value(v: &Value) -> Result<Self, JsonError> {
        let mut bytes = vec![0u8];
        bytes[0] = append_value(&mut bytes, v)?;
        Ok(Self { bytes })
    }

    /// Wraps bytes read from a row (type code + body), checking they decode.
    pub fn from_binary(bytes: Vec<u8>) -> Result<Self, CodecError> {
        let j = Self { bytes };
        j.to_value()?;
        Ok(j)
    }

    /// Type code followed by the binary body, as stored in rows.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn to_value(&self) -> Result<Value, CodecError> {
        let (&tp, body) = self
            .bytes
            .split_first()
            .ok_or_else(|| CodecError::invalid("binary JSON", "empty"))?;
        Reader {
            budget: self.bytes.len(),
        }
        .value(tp, body, 0)
    }

    /// MySQL text form (`{"a": 1, "b": [true, null]}`).
    pub fn to_text(&self) -> Result<String, CodecError> {
        let mut s = String::new();
        write_text(&self.to_value()?, &mut s);
        Ok(s)
    }
}

/// Appends the body of `v` and returns its type code.
fn append_value(buf: &mut Vec<u8>, v: &Value) -> Result<u8, JsonError> {
    Ok(match v {
        Value::Null => push_lit(buf, LIT_NULL),
        Value::Bool(true) => push_lit(buf, LIT_TRUE),
        Value::Bool(false) => push_lit(buf, LIT_FALSE),
        Value::Number(n) => append_number(buf, n),
        Value::String(s) => {
            encode_uvarint(buf, s.len() as u64);
            buf.extend_from_slice(s.as_bytes());
            TYPE_STRING
        }
        Value::Array(items) => {
            append_container(buf, None, items.iter())?;
            TYPE_ARRAY
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            append_container(buf, Some(&keys), entries.iter().map(|(_, v)| *v))?;
            TYPE_OBJECT
        }
    })
}

fn push_lit(buf: &mut Vec<u8>, lit: u8) -> u8 {
    buf.push(lit);
    TYPE_LITERAL
}

fn append_number(buf: &mut Vec<u8>, n: &Number) -> u8 {
    if let Some(i) = n.as_i64() {
        buf.extend_from_slice(&i.to_le_bytes());
        TYPE_INT64
    } else if let Some(u) = n.as_u64() {
        buf.extend_from_slice(&u.to_le_bytes());
        TYPE_UINT64
    } else {
        buf.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_bits().to_le_bytes());
        TYPE_FLOAT64
    }
}

/// Object (with `keys`) or array layout: header, key entries, value entries,
/// key bytes, value bytes; offsets relative to the container start.
fn append_container<'a>(
    buf: &mut Vec<u8>,
    keys: Option<&[&str]>,
    values: impl ExactSizeIterator<Item = &'a Value>,
) -> Result<(), JsonError> {
    let start = buf.len();
    let n = values.len();
    let key_entries = keys.map_or(0, |k| k.len() * KEY_ENTRY);
    let header_len = HEADER + key_entries + n * VALUE_ENTRY;
    buf.resize(start + header_len, 0);
    put_u32(buf, start, u32_of(n)?);
    if let Some(keys) = keys {
        for (i, k) in keys.iter().enumerate() {
            let off = u32_of(buf.len() - start)?;
            let len = u16::try_from(k.len()).map_err(|_| JsonError::TooLarge)?;
            let e = start + HEADER + i * KEY_ENTRY;
            put_u32(buf, e, off);
            buf[e + 4..e + 6].copy_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(k.as_bytes());
        }
    }
    for (i, v) in values.enumerate() {
        let e = start + HEADER + key_entries + i * VALUE_ENTRY;
        let off = buf.len();
        let tp = append_value(buf, v)?;
        buf[e] = tp;
        if tp == TYPE_LITERAL {
            // Literals live inside the value entry itself.
            buf[e + 1] = buf[off];
            buf.truncate(off);
        } else {
            put_u32(buf, e + 1, u32_of(off - start)?);
        }
    }
    let total = u32_of(buf.len() - start)?;
    put_u32(buf, start + 4, total);
    Ok(())
}

fn u32_of(n: usize) -> Result<u32, JsonError> {
    u32::try_from(n).map_err(|_| JsonError::TooLarge)
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn get_u32(body: &[u8], at: usize, what: &'static str) -> Result<usize, CodecError> {
    let mut rest = body.get(at..).ok_or_else(|| {
        CodecError::invalid(
            "binary JSON",
            format!(
                "{what} at offset {at} is past the end ({} bytes)",
                body.len()
            ),
        )
    })?;
    let b = take(&mut rest, 4, what)?;
    usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .map_err(|_| CodecError::invalid("binary JSON", format!("{what} does not fit usize")))
}

fn get_u16(body: &[u8], at: usize, what: &'static str) -> Result<usize, CodecError> {
    let mut rest = body.get(at..).ok_or_else(|| {
        CodecError::invalid(
            "binary JSON",
            format!(
                "{what} at offset {at} is past the end ({} bytes)",
                body.len()
            ),
        )
    })?;
    let b = take(&mut rest, 2, what)?;
    Ok(usize::from(u16::from_le_bytes([b[0], b[1]])))
}

/// `a + b` for offsets read from the input: an overflow is a bad document.
fn add(a: usize, b: usize) -> Result<usize, CodecError> {
    a.checked_add(b)
        .ok_or_else(|| CodecError::invalid("binary JSON", "offset overflows"))
}

/// `a * b` likewise.
fn mul(a: usize, b: usize) -> Result<usize, CodecError> {
    a.checked_mul(b)
        .ok_or_else(|| CodecError::invalid("binary JSON", "entry table size overflows"))
}

/// Nesting accepted when decoding. It bounds recursion on hostile input
/// (offsets that point back at their own container), so it must stay far
/// below what the stack holds, and above anything the encoder writes: JSON
/// text is parsed with serde_json, which stops at 128 levels, and TiDB
/// itself stores deeper documents than MySQL's 100 (Lightning's
/// `lightning_various_types` has 127).
const MAX_DEPTH: usize = 512;

/// Reads binary JSON with bounded work. Offsets inside a container may point
/// anywhere, even back at the container itself, so a hostile document could
/// recurse forever or expand a shared child exponentially. A document TiDB
/// wrote is a tree whose values, keys and strings occupy distinct bytes, so
/// charging one unit per value and one per string or key byte never exceeds
/// the document length; anything beyond it is rejected.
struct Reader {
    budget: usize,
}

impl Reader {
    fn charge(&mut self, units: usize) -> Result<(), CodecError> {
        self.budget = self.budget.checked_sub(units).ok_or_else(|| {
            CodecError::invalid(
                "binary JSON",
                "values overlap (more content than the document holds)",
            )
        })?;
        Ok(())
    }

    fn value(&mut self, tp: u8, body: &[u8], depth: usize) -> Result<Value, CodecError> {
        self.charge(1)?;
        let mut rest = body;
        Ok(match tp {
            TYPE_LITERAL => match take(&mut rest, 1, "JSON literal")?[0] {
                LIT_NULL => Value::Null,
                LIT_TRUE => Value::Bool(true),
                LIT_FALSE => Value::Bool(false),
                x => {
                    return Err(CodecError::invalid(
                        "binary JSON",
                        format!("literal {x:#04x}"),
                    ))
                }
            },
            TYPE_INT64 => Value::from(i64::from_le_bytes(le8(&mut rest)?)),
            TYPE_UINT64 => Value::from(u64::from_le_bytes(le8(&mut rest)?)),
            TYPE_FLOAT64 => Number::from_f64(f64::from_bits(u64::from_le_bytes(le8(&mut rest)?)))
                .map_or(Value::Null, Value::Number),
            TYPE_STRING => {
                let n = decode_uvarint(&mut rest)?;
                let n = usize::try_from(n).map_err(|_| {
                    CodecError::invalid("binary JSON", format!("string length {n}"))
                })?;
                let s = take(&mut rest, n, "JSON string")?;
                self.charge(n)?;
                Value::String(String::from_utf8_lossy(s).into_owned())
            }
            TYPE_ARRAY | TYPE_OBJECT => {
                if depth >= MAX_DEPTH {
                    return Err(CodecError::invalid(
                        "binary JSON",
                        format!("nested deeper than {MAX_DEPTH}"),
                    ));
                }
                self.container(tp == TYPE_OBJECT, body, depth + 1)?
            }
            x => {
                return Err(CodecError::invalid(
                    "binary JSON",
                    format!("type code {x:#04x} not supported"),
                ))
            }
        })
    }

    fn container(
        &mut self,
        is_object: bool,
        body: &[u8],
        depth: usize,
    ) -> Result<Value, CodecError> {
        let n = get_u32(body, 0, "container element count")?;
        let total = get_u32(body, 4, "container size")?;
        let body = body.get(..total).ok_or_else(|| {
            CodecError::invalid(
                "binary JSON",
                format!(
                    "container size {total} is past the end ({} bytes)",
                    body.len()
                ),
            )
        })?;
        let key_entries = if is_object { mul(n, KEY_ENTRY)? } else { 0 };
        let value_entries = add(HEADER, key_entries)?;
        // Every entry needs its bytes: reject a count the container cannot hold
        // before looping over it.
        if add(value_entries, mul(n, VALUE_ENTRY)?)? > body.len() {
            return Err(CodecError::invalid(
                "binary JSON",
                format!("{n} entries do not fit a {total}-byte container"),
            ));
        }
        let mut map = Map::new();
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            let e = value_entries + i * VALUE_ENTRY;
            let v = self.entry(body, e, depth)?;
            if is_object {
                let k = self.key(body, HEADER + i * KEY_ENTRY)?;
                map.insert(k, v);
            } else {
                items.push(v);
            }
        }
        Ok(if is_object {
            Value::Object(map)
        } else {
            Value::Array(items)
        })
    }

    /// The value behind the 5-byte value entry at `e` (in bounds: checked by
    /// the caller). Literals are stored in the entry itself.
    fn entry(&mut self, body: &[u8], e: usize, depth: usize) -> Result<Value, CodecError> {
        let tp = *body
            .get(e)
            .ok_or_else(|| CodecError::invalid("binary JSON", "value entry past the end"))?;
        let at = if tp == TYPE_LITERAL {
            add(e, 1)?
        } else {
            get_u32(body, add(e, 1)?, "value offset")?
        };
        let v = body.get(at..).ok_or_else(|| {
            CodecError::invalid(
                "binary JSON",
                format!("value offset {at} is past the end ({} bytes)", body.len()),
            )
        })?;
        self.value(tp, v, depth)
    }

    /// The key of the 6-byte key entry at `ke`: u32 offset, u16 length.
    fn key(&mut self, body: &[u8], ke: usize) -> Result<String, CodecError> {
        let off = get_u32(body, ke, "key offset")?;
        let len = get_u16(body, add(ke, 4)?, "key length")?;
        let k = body.get(off..add(off, len)?).ok_or_else(|| {
            CodecError::invalid(
                "binary JSON",
                format!(
                    "key at {off}..+{len} is past the end ({} bytes)",
                    body.len()
                ),
            )
        })?;
        self.charge(len)?;
        Ok(String::from_utf8_lossy(k).into_owned())
    }
}

fn le8(rest: &mut &[u8]) -> Result<[u8; 8], CodecError> {
    let b = take(rest, 8, "JSON number")?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(a)
}

/// MySQL's JSON text style: `", "` between items and `": "` after keys.
fn write_text(v: &Value, s: &mut String) {
    match v {
        Value::Array(items) => {
            s.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_text(it, s);
            }
            s.push(']');
        }
        Value::Object(map) => {
            s.push('{');
            for (i, (k, it)) in map.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&Value::String(k.clone()).to_string());
                s.push_str(": ");
                write_text(it, s);
            }
            s.push('}');
        }
        other => s.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_tikv_object() {
        // Spec §2.4, column 15 of TiKV's test_encode.
        let j = Json::from_text(br#"{"key":"value"}"#).expect("valid JSON");
        let want = [
            0x01, 0x01, 0x00, 0x00, 0x00, 0x1C, 0x00, 0x00, 0x00, 0x13, 0x00, 0x00, 0x00, 0x03,
            0x00, 0x0C, 0x16, 0x00, 0x00, 0x00, 0x6B, 0x65, 0x79, 0x05, 0x76, 0x61, 0x6C, 0x75,
            0x65,
        ];
        assert_eq!(j.as_bytes(), want);
        assert_eq!(j.to_text().expect("decodes"), r#"{"key": "value"}"#);
    }

    #[test]
    fn scalars_literals_and_nesting_round_trip() {
        for text in [
            r#"[1, -2, 18446744073709551615, 1.5, "x", true, false, null]"#,
            r#"{"b": {"a": []}, "a": 3}"#,
            "null",
            "7",
        ] {
            let j = Json::from_text(text.as_bytes()).expect("valid JSON");
            let back =
                Json::from_text(j.to_text().expect("decodes").as_bytes()).expect("re-parses");
            assert_eq!(back, j, "{text}");
        }
        let lit = Json::from_text(b"[true]").expect("valid");
        // Inlined literal: value entry `04 01 00 00 00`, no body bytes.
        assert_eq!(
            lit.as_bytes(),
            [0x03, 1, 0, 0, 0, 13, 0, 0, 0, 0x04, 0x01, 0, 0, 0]
        );
        assert!(Json::from_text(b"{bad").is_err());
    }
}
