//! MySQL backslash escapes, shared by the CSV and SQL parsers.

/// The byte that `\c` stands for: `\0 \b \n \r \t \Z` are control bytes,
/// anything else stands for itself (`\\`, `\'`, `\"`, `\,` ...). This is
/// Lightning's `unescape`, which also drops the backslash of `\%` and `\_`.
#[inline]
pub fn unescape_byte(c: u8) -> u8 {
    match c {
        b'0' => 0,
        b'b' => 0x08,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'Z' => 0x1A,
        other => other,
    }
}

/// Appends `src` to `dst` with backslash escapes resolved. A trailing lone
/// backslash is kept (the parsers reject it before getting here).
pub fn unescape_into(src: &[u8], dst: &mut Vec<u8>) {
    let mut rest = src;
    while let Some(i) = memchr::memchr(b'\\', rest) {
        dst.extend_from_slice(&rest[..i]);
        match rest.get(i + 1) {
            Some(&c) => {
                dst.push(unescape_byte(c));
                rest = &rest[i + 2..];
            }
            None => {
                dst.push(b'\\');
                rest = &[];
            }
        }
    }
    dst.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_every_escape() {
        let mut out = Vec::new();
        unescape_into(br#"a\0\b\n\r\t\Z\\\'\"\%\x"#, &mut out);
        assert_eq!(out, b"a\0\x08\n\r\t\x1a\\'\"%x");
    }
}
