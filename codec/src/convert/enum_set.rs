//! ENUM and SET from text: by member name (compared with the column's
//! collation: PAD SPACE, case-insensitive for `_ci`), or by number.

use squall_common::schema::FieldType;

use super::ctx::Ctx;
use super::error::{shown, ConvertError, Problem};
use crate::collation::trim_trailing_spaces;
use crate::datum::Datum;

fn same_member(ft: &FieldType, member: &str, name: &[u8]) -> bool {
    let a = trim_trailing_spaces(member.as_bytes());
    let b = trim_trailing_spaces(name);
    if ft.collate.to_ascii_lowercase().ends_with("_ci") {
        match std::str::from_utf8(b) {
            Ok(bs) => {
                std::str::from_utf8(a).is_ok_and(|as_| as_.to_lowercase() == bs.to_lowercase())
            }
            Err(_) => false,
        }
    } else {
        a == b
    }
}

/// Go `strconv.ParseUint(s, 0, 64)`: decimal, `0x` hex, `0o`/leading-0 octal, `0b` binary.
fn parse_uint_any_base(s: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(s).ok()?;
    let (digits, radix) =
        if let Some(h) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            (h, 16)
        } else if let Some(b) = text.strip_prefix("0b").or_else(|| text.strip_prefix("0B")) {
            (b, 2)
        } else if let Some(o) = text.strip_prefix("0o").or_else(|| text.strip_prefix("0O")) {
            (o, 8)
        } else if text.len() > 1 && text.starts_with('0') {
            (&text[1..], 8)
        } else {
            (text, 10)
        };
    u64::from_str_radix(digits, radix).ok()
}

pub(crate) fn convert_enum(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let ft = &cx.col.field_type;
    if let Some(i) = ft.elems.iter().position(|m| same_member(ft, m, raw)) {
        return Ok(Datum::Enum {
            index: i as u64 + 1,
        });
    }
    if let Some(n) = parse_uint_any_base(raw) {
        if n >= 1 && n <= ft.elems.len() as u64 {
            return Ok(Datum::Enum { index: n });
        }
    }
    cx.adjust(
        Problem::Truncated { value: shown(raw) },
        Datum::Enum { index: 0 },
    )
}

pub(crate) fn convert_set(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let ft = &cx.col.field_type;
    if raw.is_empty() {
        return Ok(Datum::Set { mask: 0 });
    }
    let mut mask = 0u64;
    let mut bad = false;
    for item in raw.split(|&b| b == b',') {
        match ft.elems.iter().position(|m| same_member(ft, m, item)) {
            Some(i) if i < 64 => mask |= 1u64 << i,
            _ => bad = true,
        }
    }
    if !bad {
        return Ok(Datum::Set { mask });
    }
    if let Some(n) = parse_uint_any_base(raw) {
        let all = if ft.elems.len() >= 64 {
            u64::MAX
        } else {
            (1u64 << ft.elems.len()) - 1
        };
        if n & !all == 0 {
            return Ok(Datum::Set { mask: n });
        }
    }
    cx.adjust(
        Problem::Truncated { value: shown(raw) },
        Datum::Set { mask },
    )
}
