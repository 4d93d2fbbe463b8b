//! `utf8mb4_unicode_ci` (UCA 4.0.0) and `utf8mb4_0900_ai_ci` (UCA 9.0.0), as
//! TiDB's `unicodeCICollator` and `unicode0900AICICollator` build keys.
//!
//! A character weighs a list of up to eight primary weights (an expansion
//! such as `ß` → `s s` has several, an ignorable character such as U+200B
//! has none); the key is every weight, big-endian, in order. Contractions are
//! not applied, as in TiDB (and MySQL's `*_ai_ci` without a locale).
//! Invalid UTF-8 ends the key. `unicode_ci` trims trailing spaces (PAD
//! SPACE) first; `0900_ai_ci` does not (NO PAD), so `'a '` keys longer than `'a'`.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::tables::{decode_uca, UCA_0400, UCA_0900};
#[cfg(test)]
use super::tables::{fnv1a, FNV_OFFSET};
use super::utf8::decode;

/// Which weight table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// UCA 4.0.0 (`utf8mb4_unicode_ci`): the BMP only; other characters weigh 0xFFFD.
    V0400,
    /// UCA 9.0.0 (`utf8mb4_0900_ai_ci`).
    V0900,
}

/// Weights of every code point below `length`, packed four to a `u64`
/// (first weight in the low bits); more than four live in `long`.
struct Table {
    version: Version,
    packed: Vec<u64>,
    long: HashMap<u32, Vec<u16>>,
}

/// `packed` value meaning "look in `long`" (a character that really weighs
/// four 0xFFFF weights is put in `long` too, so the marker is unambiguous).
const LONG: u64 = u64::MAX;

fn table(v: Version) -> &'static Table {
    static T0400: OnceLock<Table> = OnceLock::new();
    static T0900: OnceLock<Table> = OnceLock::new();
    match v {
        Version::V0400 => T0400.get_or_init(|| build(v, "uca0400.bin", UCA_0400)),
        Version::V0900 => T0900.get_or_init(|| build(v, "uca0900.bin", UCA_0900)),
    }
}

fn build(version: Version, what: &str, blob: &[u8]) -> Table {
    let t = decode_uca(what, blob);
    let want = match version {
        Version::V0400 => 400,
        Version::V0900 => 900,
    };
    assert_eq!(
        t.version, want,
        "collation table {what} has the wrong UCA version"
    );
    let mut table = Table {
        version,
        packed: Vec::with_capacity(t.length as usize),
        long: HashMap::new(),
    };
    let mut stored = t.entries.into_iter().peekable();
    let mut ws = Vec::with_capacity(8);
    for cp in 0..t.length {
        ws.clear();
        match stored.peek() {
            Some((at, _)) if *at == cp => {
                if let Some((_, w)) = stored.next() {
                    ws.extend_from_slice(&w);
                }
            }
            _ => implicit_weights(&table, cp, &mut ws),
        }
        if ws.len() > 4 || pack(&ws) == LONG {
            table.long.insert(cp, ws.clone());
            table.packed.push(LONG);
        } else {
            table.packed.push(pack(&ws));
        }
    }
    table
}

fn pack(ws: &[u16]) -> u64 {
    ws.iter()
        .enumerate()
        .fold(0, |acc, (i, &w)| acc | u64::from(w) << (16 * i))
}

/// MySQL's implicit weight for a code point `allkeys` does not list (TiDB's
/// `getImplicitWeight0400/0900`), and for code points past the table.
/// Hangul syllables (9.0.0) weigh the first weight of each of their jamo,
/// which come earlier in the table. Must match `runtime_implicit` in
/// `scripts/gen-collation-tables.py`.
fn implicit_weights(t: &Table, cp: u32, out: &mut Vec<u16>) {
    let base = match t.version {
        Version::V0400 => match cp {
            0x3400..=0x4DB5 => 0xFB80,
            0x4E00..=0x9FA5 | 0xFA0E..=0xFA0F => 0xFB40,
            _ => 0xFBC0,
        },
        Version::V0900 => match cp {
            0xD800..=0xDFFF | 0xFFFD => return out.push(0xFFFD),
            0xAC00..=0xD7AF => {
                let s = cp - 0xAC00;
                let (l, v, tr) = (
                    0x1100 + s / (21 * 28),
                    0x1161 + (s % (21 * 28)) / 28,
                    s % 28,
                );
                out.push(first_weight(t, l));
                out.push(first_weight(t, v));
                if tr > 0 {
                    out.push(first_weight(t, 0x11A7 + tr));
                }
                return;
            }
            0x17000..=0x18AFF => {
                out.push(0xFB00);
                out.push(((cp - 0x17000) | 0x8000) as u16);
                return;
            }
            0x3400..=0x4DB5
            | 0x20000..=0x2A6D6
            | 0x2A700..=0x2B734
            | 0x2B740..=0x2B81D
            | 0x2B820..=0x2CEA1 => 0xFB80,
            0x4E00..=0x9FD5 | 0xFA0E..=0xFA29 => 0xFB40,
            _ => 0xFBC0,
        },
    };
    out.push(base + (cp >> 15) as u16);
    out.push(((cp & 0x7FFF) | 0x8000) as u16);
}

fn first_weight(t: &Table, cp: u32) -> u16 {
    match t.packed.get(cp as usize) {
        Some(&LONG) => t
            .long
            .get(&cp)
            .and_then(|w| w.first().copied())
            .unwrap_or(0),
        Some(&p) => p as u16,
        None => 0,
    }
}

/// Appends the weights of one character to `out` (as u16s).
fn push_weights(t: &Table, c: char, out: &mut Vec<u16>) {
    let cp = c as u32;
    match t.packed.get(cp as usize) {
        Some(&LONG) => {
            if let Some(ws) = t.long.get(&cp) {
                out.extend_from_slice(ws);
            }
        }
        Some(&p) => {
            let mut p = p;
            while p != 0 {
                out.push(p as u16);
                p >>= 16;
            }
        }
        // Past the table: UCA 4.0.0 gives every non-BMP character 0xFFFD;
        // 9.0.0 computes the implicit weight (TiDB's `convertRuneUnicodeCI0900`).
        None => match t.version {
            Version::V0400 => out.push(0xFFFD),
            Version::V0900 => {
                out.push(0xFBC0 + (cp >> 15) as u16);
                out.push(((cp & 0x7FFF) | 0x8000) as u16);
            }
        },
    }
}

/// The weights of `c` under `v` (empty for an ignorable character).
pub fn weights(v: Version, c: char) -> Vec<u16> {
    let mut out = Vec::new();
    push_weights(table(v), c, &mut out);
    out
}

/// Appends the sort key of `s` (already trimmed for PAD SPACE collations).
pub(crate) fn key(v: Version, s: &[u8], out: &mut Vec<u8>) {
    let t = table(v);
    let mut ws = Vec::with_capacity(8);
    let mut rest = s;
    out.reserve(s.len() * 2);
    while let Some((c, len)) = decode(rest) {
        rest = &rest[len..];
        ws.clear();
        push_weights(t, c, &mut ws);
        for w in &ws {
            out.extend_from_slice(&w.to_be_bytes());
        }
    }
}

#[cfg(test)]
/// FNV-1a over every code point's weight list (count byte, then big-endian
/// weights), as the generator computed it into the table header.
pub(crate) fn table_digest(v: Version) -> (u64, u64) {
    let t = table(v);
    let blob = match v {
        Version::V0400 => UCA_0400,
        Version::V0900 => UCA_0900,
    };
    let mut h = FNV_OFFSET;
    let mut ws = Vec::with_capacity(8);
    for cp in 0..t.packed.len() as u32 {
        ws.clear();
        match t.packed[cp as usize] {
            LONG => ws.extend_from_slice(t.long.get(&cp).map_or(&[][..], Vec::as_slice)),
            mut p => {
                while p != 0 {
                    ws.push(p as u16);
                    p >>= 16;
                }
            }
        }
        h = fnv1a(h, &[ws.len() as u8]);
        for w in &ws {
            h = fnv1a(h, &w.to_be_bytes());
        }
    }
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&blob[20..28]);
    (h, u64::from_be_bytes(stored))
}
