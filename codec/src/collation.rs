//! New-collation sort keys (TiDB `pkg/util/collate`), used inside index keys
//! and common handles when `new_collations_enabled_on_first_bootstrap` is on.

/// The collations Squall can produce index keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collation {
    /// `binary`: raw bytes.
    Binary,
    /// `*_bin` (PAD SPACE): raw bytes with trailing `0x20` removed.
    BinPadding,
    /// `utf8mb4_0900_bin`: raw bytes, NO PAD.
    DerivedBin,
    /// `utf8mb4_general_ci` / `utf8_general_ci`.
    GeneralCi,
}

/// A collation name Squall cannot (yet) build sort keys for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported collation `{0}`: Squall builds index keys only for binary, *_bin and utf8mb4_general_ci")]
pub struct UnsupportedCollation(pub String);

impl Collation {
    /// Resolves a collation name as TiDB's `GetCollator` does for the
    /// collations Squall supports.
    pub fn from_name(name: &str) -> Result<Self, UnsupportedCollation> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "binary" => Ok(Self::Binary),
            "utf8mb4_0900_bin" => Ok(Self::DerivedBin),
            "utf8mb4_general_ci" | "utf8_general_ci" | "utf8mb3_general_ci" => Ok(Self::GeneralCi),
            "utf8mb4_bin" | "utf8_bin" | "utf8mb3_bin" | "ascii_bin" | "latin1_bin" | "" => {
                Ok(Self::BinPadding)
            }
            _ => Err(UnsupportedCollation(name.to_string())),
        }
    }

    /// True for `*_bin` PAD SPACE collations (TiDB `IsBinCollation`).
    pub fn is_bin_padding(name: &str) -> bool {
        matches!(Self::from_name(name), Ok(Self::BinPadding))
    }

    /// TiDB `ImmutableKey`: the bytes that go into an index key.
    pub fn sort_key(self, s: &[u8], out: &mut Vec<u8>) {
        match self {
            Self::Binary | Self::DerivedBin => out.extend_from_slice(s),
            Self::BinPadding => out.extend_from_slice(trim_trailing_spaces(s)),
            Self::GeneralCi => general_ci_key(trim_trailing_spaces(s), out),
        }
    }
}

/// Removes trailing `' '` only (tabs and other blanks are kept, as in TiDB).
pub fn trim_trailing_spaces(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
    &s[..end]
}

/// Number of trailing `' '` (what TiDB restores for `_bin` columns).
pub fn trailing_space_count(s: &[u8]) -> usize {
    s.len() - trim_trailing_spaces(s).len()
}

/// Two bytes (big-endian weight) per rune; stops at the first invalid UTF-8 byte.
fn general_ci_key(s: &[u8], out: &mut Vec<u8>) {
    out.reserve(s.len() * 2);
    let mut rest = s;
    while !rest.is_empty() {
        let (ch, len) = match decode_utf8(rest) {
            Some(x) => x,
            None => return,
        };
        rest = &rest[len..];
        out.extend_from_slice(&general_ci_weight(ch).to_be_bytes());
    }
}

/// Decodes one UTF-8 scalar at the start of `s` (Go `utf8.DecodeRune` validity).
fn decode_utf8(s: &[u8]) -> Option<(char, usize)> {
    let len = match s[0] {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let chunk = s.get(..len)?;
    let c = std::str::from_utf8(chunk).ok()?.chars().next()?;
    Some((c, len))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: Collation, s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        c.sort_key(s.as_bytes(), &mut out);
        out
    }

    #[test]
    fn golden_tidb_collator_keys() {
        // Spec §2.7 (TiDB TestUTF8CollatorKey).
        let cases: &[(&str, &[u8])] = &[
            ("a", &[0x00, 0x41]),
            ("A", &[0x00, 0x41]),
            ("a ", &[0x00, 0x41]),
            ("中文", &[0x4E, 0x2D, 0x65, 0x87]),
            ("\u{FDFB}", &[0xFD, 0xFB]),
            ("갟감1", &[0xAC, 0x1F, 0xAC, 0x10, 0x00, 0x31]),
            ("\u{FFFFE}\u{FFFFF}", &[0xFF, 0xFD, 0xFF, 0xFD]),
        ];
        for (s, ci) in cases {
            assert_eq!(key(Collation::Binary, s), s.as_bytes(), "binary {s:?}");
            assert_eq!(
                key(Collation::BinPadding, s),
                s.trim_end_matches(' ').as_bytes(),
                "bin {s:?}"
            );
            assert_eq!(key(Collation::GeneralCi, s), *ci, "general_ci {s:?}");
        }
        assert_eq!(key(Collation::Binary, "a "), b"a ");
        assert_eq!(key(Collation::BinPadding, "a "), b"a");
        let foo = "Foo © bar 𝌆 baz ☃ qux";
        let want: Vec<u8> = [
            0x0046u16, 0x4F, 0x4F, 0x20, 0xA9, 0x20, 0x42, 0x41, 0x52, 0x20, 0xFFFD, 0x20, 0x42,
            0x41, 0x5A, 0x20, 0x2603, 0x20, 0x51, 0x55, 0x58,
        ]
        .iter()
        .flat_map(|w| w.to_be_bytes())
        .collect();
        assert_eq!(key(Collation::GeneralCi, foo), want);
    }

    #[test]
    fn general_ci_stops_at_invalid_utf8_and_keeps_tabs() {
        let mut out = Vec::new();
        Collation::GeneralCi.sort_key(b"ab\xFFcd", &mut out);
        assert_eq!(out, [0x00, 0x41, 0x00, 0x42]);
        assert_eq!(key(Collation::BinPadding, "a\t"), b"a\t");
        assert_eq!(key(Collation::GeneralCi, "é"), [0x00, 0x45]);
        assert_eq!(key(Collation::GeneralCi, "ß"), [0x00, 0x53]);
    }

    #[test]
    fn unknown_collations_are_rejected_by_name() {
        let err = Collation::from_name("utf8mb4_unicode_ci").expect_err("unsupported");
        assert!(err.to_string().contains("utf8mb4_unicode_ci"));
        assert!(Collation::from_name("utf8mb4_0900_ai_ci").is_err());
        assert_eq!(
            Collation::from_name("UTF8MB4_BIN"),
            Ok(Collation::BinPadding)
        );
    }
}
