//! `utf8mb4_general_ci` / `utf8_general_ci` (TiDB `generalCICollator`):
//! one 16-bit weight per character, big-endian.

use super::utf8::decode;

/// Two bytes (big-endian weight) per rune; stops at the first invalid UTF-8 byte.
pub(crate) fn key(s: &[u8], out: &mut Vec<u8>) {
    out.reserve(s.len() * 2);
    let mut rest = s;
    while !rest.is_empty() {
        let (ch, len) = match decode(rest) {
            Some(x) => x,
            None => return,
        };
        rest = &rest[len..];
        out.extend_from_slice(&general_ci_weight(ch).to_be_bytes());
    }
}

/// `convertRuneGeneralCI`: Latin-1 letters fold to the unaccented upper
/// case letter; other BMP runes fold to their simple upper case; runes above
/// the BMP weigh 0xFFFD.
pub fn general_ci_weight(c: char) -> u16 {
    let cp = c as u32;
    if cp > 0xFFFF {
        return 0xFFFD;
    }
    if cp <= 0xFF {
        return latin1_weight(cp as u8);
    }
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) if (u as u32) <= 0xFFFF => u as u16,
        _ => cp as u16,
    }
}

/// MySQL's `plane00` of the general_ci case-folding table.
fn latin1_weight(b: u8) -> u16 {
    let w: u8 = match b {
        b'a'..=b'z' => b - 32,
        0xB5 => return 0x039C,
        0xC0..=0xC5 | 0xE0..=0xE5 => b'A',
        0xC7 | 0xE7 => b'C',
        0xC8..=0xCB | 0xE8..=0xEB => b'E',
        0xCC..=0xCF | 0xEC..=0xEF => b'I',
        0xD1 | 0xF1 => b'N',
        0xD2..=0xD6 | 0xF2..=0xF6 => b'O',
        0xD9..=0xDC | 0xF9..=0xFC => b'U',
        0xDD | 0xFD | 0xFF => b'Y',
        0xDF => b'S',
        0xE6 => 0xC6,
        0xF0 => 0xD0,
        0xF8 => 0xD8,
        0xFE => 0xDE,
        _ => b,
    };
    u16::from(w)
}
