//! Fixed-width memcomparable numbers and Go-style varints (`number.go`, `float.go`).

use crate::error::{take, CodecError};

const SIGN_MASK: u64 = 0x8000_0000_0000_0000;

/// `EncodeInt`: big-endian with the sign bit flipped, so byte order == value order.
pub fn encode_int(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(&((v as u64) ^ SIGN_MASK).to_be_bytes());
}

/// `EncodeIntDesc`: the complement of [`encode_int`].
pub fn encode_int_desc(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(&(!((v as u64) ^ SIGN_MASK)).to_be_bytes());
}

pub fn decode_int(buf: &mut &[u8]) -> Result<i64, CodecError> {
    Ok((read_u64_be(buf, "comparable int")? ^ SIGN_MASK) as i64)
}

/// `EncodeUint`: plain big-endian.
pub fn encode_uint(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_be_bytes());
}

pub fn decode_uint(buf: &mut &[u8]) -> Result<u64, CodecError> {
    read_u64_be(buf, "comparable uint")
}

/// `EncodeFloat`: positive values get the sign bit set, negative ones are inverted,
/// which makes the IEEE-754 bits sort like the numbers.
pub fn encode_float(buf: &mut Vec<u8>, f: f64) {
    buf.extend_from_slice(&float_to_comparable(f).to_be_bytes());
}

pub fn float_to_comparable(f: f64) -> u64 {
    let u = f.to_bits();
    if u & SIGN_MASK == 0 {
        u | SIGN_MASK
    } else {
        !u
    }
}

pub fn decode_float(buf: &mut &[u8]) -> Result<f64, CodecError> {
    let u = read_u64_be(buf, "comparable float")?;
    Ok(f64::from_bits(if u & SIGN_MASK != 0 {
        u & !SIGN_MASK
    } else {
        !u
    }))
}

fn read_u64_be(buf: &mut &[u8], what: &'static str) -> Result<u64, CodecError> {
    let b = take(buf, 8, what)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_be_bytes(a))
}

/// Go `binary.PutUvarint`: LEB128, low 7-bit group first.
pub fn encode_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Go `binary.PutVarint`: zig-zag, then uvarint.
pub fn encode_varint(buf: &mut Vec<u8>, v: i64) {
    encode_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

pub fn decode_uvarint(buf: &mut &[u8]) -> Result<u64, CodecError> {
    let mut v: u64 = 0;
    for (i, &b) in buf.iter().enumerate() {
        if i == 9 && b > 1 {
            return Err(CodecError::VarintOverflow);
        }
        v |= u64::from(b & 0x7F) << (7 * i);
        if b < 0x80 {
            *buf = &buf[i + 1..];
            return Ok(v);
        }
        if i == 9 {
            return Err(CodecError::VarintOverflow);
        }
    }
    Err(CodecError::Truncated {
        what: "uvarint",
        need: buf.len() + 1,
        have: buf.len(),
    })
}

pub fn decode_varint(buf: &mut &[u8]) -> Result<i64, CodecError> {
    let u = decode_uvarint(buf)?;
    Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
}

/// Row-v2 integer: the smallest of 1/2/4/8 little-endian bytes that holds `v`.
pub fn encode_compact_int(buf: &mut Vec<u8>, v: i64) {
    if let Ok(x) = i8::try_from(v) {
        buf.push(x as u8);
    } else if let Ok(x) = i16::try_from(v) {
        buf.extend_from_slice(&x.to_le_bytes());
    } else if let Ok(x) = i32::try_from(v) {
        buf.extend_from_slice(&x.to_le_bytes());
    } else {
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// Row-v2 unsigned integer: the smallest of 1/2/4/8 little-endian bytes.
pub fn encode_compact_uint(buf: &mut Vec<u8>, v: u64) {
    if let Ok(x) = u8::try_from(v) {
        buf.push(x);
    } else if let Ok(x) = u16::try_from(v) {
        buf.extend_from_slice(&x.to_le_bytes());
    } else if let Ok(x) = u32::try_from(v) {
        buf.extend_from_slice(&x.to_le_bytes());
    } else {
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// Reads a row-v2 compact int whose width is the whole slice (1, 2, 4 or 8 bytes).
pub fn decode_compact_int(b: &[u8]) -> Result<i64, CodecError> {
    Ok(match b.len() {
        1 => i64::from(b[0] as i8),
        2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
        4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => i64::from_le_bytes(le8(b)),
        n => {
            return Err(CodecError::invalid(
                "row v2 int",
                format!("width {n} is not 1, 2, 4 or 8"),
            ))
        }
    })
}

pub fn decode_compact_uint(b: &[u8]) -> Result<u64, CodecError> {
    Ok(match b.len() {
        1 => u64::from(b[0]),
        2 => u64::from(u16::from_le_bytes([b[0], b[1]])),
        4 => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => u64::from_le_bytes(le8(b)),
        n => {
            return Err(CodecError::invalid(
                "row v2 uint",
                format!("width {n} is not 1, 2, 4 or 8"),
            ))
        }
    })
}

fn le8(b: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut v);
        v
    }

    #[test]
    fn golden_encode_int_uint_float() {
        // Spec §3.4.
        assert_eq!(enc(|b| encode_int(b, 0)), [0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(enc(|b| encode_int(b, 1)), [0x80, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            enc(|b| encode_int(b, -1)),
            [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(enc(|b| encode_int(b, i64::MIN)), [0; 8]);
        assert_eq!(enc(|b| encode_int(b, i64::MAX)), [0xFF; 8]);
        assert_eq!(enc(|b| encode_uint(b, 0)), [0; 8]);
        assert_eq!(enc(|b| encode_uint(b, 1)), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(enc(|b| encode_uint(b, u64::MAX)), [0xFF; 8]);
        assert_eq!(enc(|b| encode_float(b, 0.0)), [0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            enc(|b| encode_float(b, -0.0)),
            [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(
            enc(|b| encode_float(b, 1.0)),
            [0xBF, 0xF0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            enc(|b| encode_float(b, -1.0)),
            [0x40, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(
            enc(|b| encode_float(b, 1.5)),
            [0xBF, 0xF8, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            enc(|b| encode_int_desc(b, 0)),
            [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
    }

    #[test]
    fn golden_varints() {
        // Spec §3.5.
        let cases: [(i64, &[u8]); 8] = [
            (0, &[0x00]),
            (1, &[0x02]),
            (-1, &[0x01]),
            (63, &[0x7E]),
            (64, &[0x80, 0x01]),
            (-64, &[0x7F]),
            (-65, &[0x81, 0x01]),
            (300, &[0xD8, 0x04]),
        ];
        for (v, want) in cases {
            let got = enc(|b| encode_varint(b, v));
            assert_eq!(got, want, "varint {v}");
            assert_eq!(decode_varint(&mut got.as_slice()).expect("decodes"), v);
        }
        let ucases: [(u64, &[u8]); 4] = [
            (0, &[0]),
            (127, &[0x7F]),
            (128, &[0x80, 0x01]),
            (300, &[0xAC, 0x02]),
        ];
        for (v, want) in ucases {
            let got = enc(|b| encode_uvarint(b, v));
            assert_eq!(got, want, "uvarint {v}");
            assert_eq!(decode_uvarint(&mut got.as_slice()).expect("decodes"), v);
        }
    }

    #[test]
    fn golden_compact_ints() {
        // Spec §3.5, row v2 ints and uints.
        let ints: [(i64, &[u8]); 11] = [
            (0, &[0x00]),
            (127, &[0x7F]),
            (-128, &[0x80]),
            (128, &[0x80, 0x00]),
            (-129, &[0x7F, 0xFF]),
            (32767, &[0xFF, 0x7F]),
            (32768, &[0x00, 0x80, 0x00, 0x00]),
            (2147483647, &[0xFF, 0xFF, 0xFF, 0x7F]),
            (-2147483648, &[0x00, 0x00, 0x00, 0x80]),
            (2147483648, &[0, 0, 0, 0x80, 0, 0, 0, 0]),
            (
                -2147483649,
                &[0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF],
            ),
        ];
        for (v, want) in ints {
            let got = enc(|b| encode_compact_int(b, v));
            assert_eq!(got, want, "int {v}");
            assert_eq!(decode_compact_int(&got).expect("decodes"), v);
        }
        let uints: [(u64, &[u8]); 6] = [
            (255, &[0xFF]),
            (256, &[0x00, 0x01]),
            (65535, &[0xFF, 0xFF]),
            (65536, &[0x00, 0x00, 0x01, 0x00]),
            (4294967295, &[0xFF, 0xFF, 0xFF, 0xFF]),
            (4294967296, &[0, 0, 0, 0, 1, 0, 0, 0]),
        ];
        for (v, want) in uints {
            let got = enc(|b| encode_compact_uint(b, v));
            assert_eq!(got, want, "uint {v}");
            assert_eq!(decode_compact_uint(&got).expect("decodes"), v);
        }
    }

    #[test]
    fn truncated_and_overflowing_inputs_are_rejected() {
        assert!(decode_int(&mut &[0x80u8, 0][..]).is_err());
        assert!(decode_uvarint(&mut &[0x80u8][..]).is_err());
        assert!(decode_uvarint(&mut &[0xFFu8; 11][..]).is_err());
        assert!(decode_compact_int(&[1, 2, 3]).is_err());
    }
}
