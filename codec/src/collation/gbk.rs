//! `gbk_bin` and `gbk_chinese_ci` (TiDB `gbkBinCollator`,
//! `gbkChineseCICollator`). Strings are stored as UTF-8 whatever the column's
//! charset, so both collators map each character to GBK: `gbk_bin` keys are
//! the GBK bytes, `gbk_chinese_ci` keys MySQL's GBK weights (one byte when
//! the weight is below 0x100, else two, big-endian). A character GBK cannot
//! hold (anything outside the BMP, private use, `€`) weighs `?`.

use std::sync::OnceLock;

use super::tables::decode_gbk;
use super::utf8::{decode, lead_len};

struct Tables {
    codes: Vec<u16>,
    ci: Vec<u16>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let (codes, ci) = decode_gbk();
        Tables { codes, ci }
    })
}

fn push_u16(w: u16, out: &mut Vec<u8>) {
    if w > 0xFF {
        out.push((w >> 8) as u8);
    }
    out.push(w as u8);
}

/// GBK code of a character (`?` when GBK has none).
pub fn gbk_code(c: char) -> u16 {
    tables()
        .codes
        .get(c as usize)
        .copied()
        .unwrap_or(u16::from(b'?'))
}

/// `gbk_chinese_ci` weight of a character.
pub fn chinese_ci_weight(c: char) -> u16 {
    tables()
        .ci
        .get(c as usize)
        .copied()
        .unwrap_or(u16::from(b'?'))
}

/// `gbk_bin`: steps by the length the lead byte announces (TiDB's
/// `runeLen`); a step that is not one valid character becomes `?`.
pub(crate) fn bin_key(s: &[u8], out: &mut Vec<u8>) {
    let mut rest = s;
    while let Some(&b) = rest.first() {
        let l = lead_len(b).min(rest.len());
        match decode(&rest[..l]) {
            Some((c, n)) if n == l => push_u16(gbk_code(c), out),
            _ => out.push(b'?'),
        }
        rest = &rest[l..];
    }
}

/// `gbk_chinese_ci`: invalid UTF-8 ends the key.
pub(crate) fn chinese_ci_key(s: &[u8], out: &mut Vec<u8>) {
    let mut rest = s;
    while let Some((c, len)) = decode(rest) {
        rest = &rest[len..];
        push_u16(chinese_ci_weight(c), out);
    }
}
