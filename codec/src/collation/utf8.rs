//! UTF-8 decoding with Go's `utf8.DecodeRune` validity, which is what TiDB's
//! collators see: an invalid or truncated sequence is "RuneError, size 1".

/// Decodes one scalar at the start of `s`: `(char, byte length)`, or `None`
/// when `s` does not start with a valid UTF-8 sequence (or is empty).
pub(crate) fn decode(s: &[u8]) -> Option<(char, usize)> {
    let len = match *s.first()? {
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

/// TiDB's `runeLen`: the sequence length a lead byte announces, used by
/// `gbk_bin` to step over bytes whether or not they are valid.
pub(crate) fn lead_len(b: u8) -> usize {
    match b {
        0x00..=0x7F => 1,
        0x80..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}
