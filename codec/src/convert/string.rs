//! CHAR/VARCHAR/TEXT/BINARY/VARBINARY/BLOB from source bytes: charset
//! validity, length in characters (bytes for binary strings and BLOB/TEXT),
//! CHAR trailing-space removal and BINARY zero padding.

use squall_common::schema::{Charset, FieldType, MysqlType};

use super::ctx::Ctx;
use super::error::{shown, ConvertError, Problem};
use crate::datum::Datum;

fn is_binary(ft: &FieldType) -> bool {
    ft.charset == Charset::Binary || ft.collate.eq_ignore_ascii_case("binary")
}

/// Byte limit of BLOB/TEXT types when the schema gives no length.
fn blob_limit(tp: MysqlType) -> usize {
    match tp {
        MysqlType::TinyBlob => 255,
        MysqlType::Blob => 65_535,
        MysqlType::MediumBlob => 16_777_215,
        _ => u32::MAX as usize,
    }
}

/// Position of the first byte that breaks the column's charset, if any.
fn invalid_at(ft: &FieldType, s: &[u8]) -> Option<usize> {
    match ft.charset {
        Charset::Utf8mb4 => std::str::from_utf8(s).err().map(|e| e.valid_up_to()),
        Charset::Utf8 => match std::str::from_utf8(s) {
            // utf8mb3 holds only the BMP: 4-byte sequences are invalid.
            Ok(text) => text
                .char_indices()
                .find(|(_, c)| c.len_utf8() == 4)
                .map(|(i, _)| i),
            Err(e) => Some(e.valid_up_to()),
        },
        Charset::Ascii => s.iter().position(|b| !b.is_ascii()),
        _ => None,
    }
}

pub(crate) fn convert_string(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let ft = &cx.col.field_type;
    let mut s: &[u8] = raw;
    if !is_binary(ft) {
        if let Some(at) = invalid_at(ft, s) {
            let bytes = hex::encode(&s[at..s.len().min(at + 4)]);
            let p = Problem::InvalidString {
                charset: ft.charset.name(),
                offset: at,
                bytes,
            };
            // TiDB keeps the valid prefix in non-strict mode.
            s = cx.adjust(p, &s[..at])?;
        }
    }
    let s = enforce_length(cx, s, raw)?;
    let ft = &cx.col.field_type;
    let mut out = s.to_vec();
    if ft.tp == MysqlType::String {
        if is_binary(ft) {
            let n = usize::try_from(ft.flen).unwrap_or(0);
            if out.len() < n {
                out.resize(n, 0);
            }
        } else {
            let keep = out.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
            out.truncate(keep);
        }
    }
    Ok(Datum::Bytes(out))
}

/// Applies the column length (TiDB `ProduceStrWithSpecifiedTp`): overflow
/// that is only whitespace in a CHAR/VARCHAR is cut silently (VARCHAR adds
/// a warning); other overflow is "data too long".
fn enforce_length<'s>(cx: &mut Ctx<'_>, s: &'s [u8], raw: &[u8]) -> Result<&'s [u8], ConvertError> {
    let ft = &cx.col.field_type;
    let blob = matches!(
        ft.tp,
        MysqlType::TinyBlob | MysqlType::Blob | MysqlType::MediumBlob | MysqlType::LongBlob
    );
    let by_bytes = blob || is_binary(ft) || std::str::from_utf8(s).is_err();
    let max = match usize::try_from(ft.flen) {
        Ok(n) if n > 0 || !blob => n,
        _ if blob => blob_limit(ft.tp),
        _ => return Ok(s),
    };
    let (len, cut) = if by_bytes {
        (s.len(), max.min(s.len()))
    } else {
        let text = std::str::from_utf8(s).unwrap_or_default();
        let n = text.chars().count();
        (n, text.char_indices().nth(max).map_or(s.len(), |(i, _)| i))
    };
    if len <= max {
        return Ok(s);
    }
    let (kept, overflow) = s.split_at(cut);
    let only_space = overflow
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    let char_type = matches!(
        ft.tp,
        MysqlType::String | MysqlType::Varchar | MysqlType::VarString
    );
    if only_space && char_type && !is_binary(ft) {
        if ft.tp != MysqlType::String {
            cx.warn(Problem::Truncated { value: shown(raw) });
        }
        return Ok(kept);
    }
    let unit = if by_bytes { "bytes" } else { "characters" };
    cx.adjust(Problem::TooLong { len, max, unit }, kept)
}
