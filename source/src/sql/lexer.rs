//! Tokens of SQL dump files, read straight from the block buffer: blanks and
//! comments, words, quoted strings and identifiers, numbers, hex and bit
//! literals. Everything a dump's INSERT statements are made of.

use std::io::Read;

use crate::error::{ErrorKind, SourceError};
use crate::escape::unescape_byte;
use crate::input::Input;

pub(crate) struct Lexer<R> {
    pub(crate) input: Input<R>,
    pub(crate) file: String,
    pub(crate) max_token: usize,
}

/// Bytes of a bare word: ASCII letters, digits, `_`, `$`, and any non-ASCII
/// byte (identifiers like `中文表` are bare words in MySQL).
#[inline]
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl<R: Read> Lexer<R> {
    pub(crate) fn err(&mut self, kind: ErrorKind, reason: impl Into<String>) -> SourceError {
        let (o, l) = (self.input.offset(), self.input.line());
        SourceError::new(kind, &self.file, reason).at(o, l)
    }

    pub(crate) fn err_at(&self, offset: u64, line: u64, reason: impl Into<String>) -> SourceError {
        SourceError::new(ErrorKind::Syntax, &self.file, reason).at(offset, line)
    }

    fn io(&self, e: std::io::Error) -> SourceError {
        SourceError::from_io(&self.file, e, self.input.offset(), 0)
    }

    pub(crate) fn peek(&mut self) -> Result<Option<u8>, SourceError> {
        self.input.peek().map_err(|e| self.io(e))
    }

    pub(crate) fn peek_at(&mut self, i: usize) -> Result<Option<u8>, SourceError> {
        self.input.ensure(i + 1).map_err(|e| self.io(e))?;
        Ok(self.input.available().get(i).copied())
    }

    pub(crate) fn bump(&mut self, n: usize) {
        self.input.consume(n);
    }

    pub(crate) fn starts_with_ci(&mut self, pat: &[u8]) -> Result<bool, SourceError> {
        self.input
            .starts_with_ignore_case(pat)
            .map_err(|e| self.io(e))
    }

    /// Skips whitespace and comments (`/* */` incl. `/*! */`, `-- `, `#`).
    pub(crate) fn skip_blank(&mut self) -> Result<(), SourceError> {
        loop {
            let avail = self.input.available();
            let blanks = avail.iter().take_while(|b| b.is_ascii_whitespace()).count();
            if blanks > 0 {
                self.bump(blanks);
                continue;
            }
            match self.peek()? {
                None => return Ok(()),
                Some(b'/') if self.peek_at(1)? == Some(b'*') => self.skip_block_comment()?,
                Some(b'-') if self.peek_at(1)? == Some(b'-') => match self.peek_at(2)? {
                    None => self.bump(2),
                    Some(c) if c.is_ascii_whitespace() => self.skip_line()?,
                    Some(_) => return Ok(()),
                },
                Some(b'#') => self.skip_line()?,
                Some(b) if b.is_ascii_whitespace() => self.bump(1),
                Some(_) => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) -> Result<(), SourceError> {
        loop {
            let avail = self.input.available();
            if let Some(i) = memchr::memchr(b'\n', avail) {
                self.bump(i + 1);
                return Ok(());
            }
            let n = avail.len();
            self.bump(n);
            if self.peek()?.is_none() {
                return Ok(());
            }
        }
    }

    fn skip_block_comment(&mut self) -> Result<(), SourceError> {
        let (o, l) = (self.input.offset(), self.input.line());
        self.bump(2);
        loop {
            let avail = self.input.available();
            if let Some(i) = memchr::memmem::find(avail, b"*/") {
                self.bump(i + 2);
                return Ok(());
            }
            // Keep a trailing `*` so a `*/` split across blocks is still seen.
            let n = avail.len().saturating_sub(1);
            self.bump(n);
            if !self.input.fill().map_err(|e| self.io(e))? {
                return Err(self.err_at(o, l, "unterminated /* comment"));
            }
        }
    }

    /// Reads a bare word (may be empty) into `out`.
    pub(crate) fn read_word(&mut self, out: &mut Vec<u8>) -> Result<(), SourceError> {
        out.clear();
        loop {
            let avail = self.input.available();
            let n = avail.iter().take_while(|&&b| is_word_byte(b)).count();
            out.extend_from_slice(&avail[..n]);
            let all = n == avail.len();
            self.bump(n);
            if out.len() > self.max_token {
                return Err(self.err(ErrorKind::Syntax, "word too long"));
            }
            if !all || self.peek()?.is_none() {
                return Ok(());
            }
        }
    }

    /// Reads a quoted string or identifier; the read position is at the
    /// opening `quote`. Backslash escapes apply when `escapes` (strings, not
    /// identifiers); a doubled quote stands for one quote.
    pub(crate) fn read_quoted(
        &mut self,
        quote: u8,
        escapes: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), SourceError> {
        let (o, l) = (self.input.offset(), self.input.line());
        self.bump(1);
        loop {
            let avail = self.input.available();
            let found = if escapes {
                memchr::memchr2(quote, b'\\', avail)
            } else {
                memchr::memchr(quote, avail)
            };
            let Some(i) = found else {
                out.extend_from_slice(avail);
                let n = avail.len();
                self.bump(n);
                if out.len() > self.max_token {
                    return Err(self.err_at(o, l, "quoted value too long (unterminated quote?)"));
                }
                if !self.input.fill().map_err(|e| self.io(e))? {
                    return Err(self.err_at(o, l, "unterminated quoted string"));
                }
                continue;
            };
            let b = avail[i];
            out.extend_from_slice(&avail[..i]);
            self.bump(i + 1);
            if b == b'\\' && escapes {
                match self.peek()? {
                    Some(c) => {
                        out.push(unescape_byte(c));
                        self.bump(1);
                    }
                    None => {
                        return Err(self.err_at(
                            o,
                            l,
                            "unterminated quoted string (ends in a backslash)",
                        ))
                    }
                }
            } else if self.peek()? == Some(quote) {
                out.push(quote);
                self.bump(1);
            } else {
                return Ok(());
            }
        }
    }

    /// Reads an identifier: backquoted, double-quoted or bare.
    pub(crate) fn read_ident(&mut self, out: &mut Vec<u8>) -> Result<(), SourceError> {
        out.clear();
        match self.peek()? {
            Some(q @ (b'`' | b'"')) => self.read_quoted(q, false, out),
            Some(b) if is_word_byte(b) => self.read_word(out),
            Some(b) => Err(self.err(
                ErrorKind::Syntax,
                format!("expected an identifier, found {:?}", char::from(b)),
            )),
            None => Err(self.err(
                ErrorKind::Syntax,
                "expected an identifier, found end of file",
            )),
        }
    }

    /// Reads an unquoted number: `[+-]digits[.digits][e[+-]digits]`.
    pub(crate) fn read_number(&mut self, out: &mut Vec<u8>) -> Result<(), SourceError> {
        let (o, l) = (self.input.offset(), self.input.line());
        out.clear();
        if let Some(s @ (b'-' | b'+')) = self.peek()? {
            out.push(s);
            self.bump(1);
        }
        let int = self.take_digits(out)?;
        let mut frac = 0;
        if self.peek()? == Some(b'.') {
            out.push(b'.');
            self.bump(1);
            frac = self.take_digits(out)?;
        }
        if int + frac == 0 {
            return Err(self.err_at(o, l, "invalid number"));
        }
        if let Some(e @ (b'e' | b'E')) = self.peek()? {
            out.push(e);
            self.bump(1);
            if let Some(s @ (b'-' | b'+')) = self.peek()? {
                out.push(s);
                self.bump(1);
            }
            if self.take_digits(out)? == 0 {
                return Err(self.err_at(o, l, "invalid number: exponent has no digits"));
            }
        }
        if let Some(b) = self.peek()? {
            if is_word_byte(b) || b == b'.' {
                return Err(self.err_at(
                    o,
                    l,
                    format!("invalid number: unexpected {:?}", char::from(b)),
                ));
            }
        }
        Ok(())
    }

    fn take_digits(&mut self, out: &mut Vec<u8>) -> Result<usize, SourceError> {
        let mut total = 0;
        loop {
            let avail = self.input.available();
            let n = avail.iter().take_while(|b| b.is_ascii_digit()).count();
            out.extend_from_slice(&avail[..n]);
            let all = n == avail.len();
            self.bump(n);
            total += n;
            if out.len() > self.max_token {
                return Err(self.err(ErrorKind::Syntax, "number too long"));
            }
            if !all || self.peek()?.is_none() {
                return Ok(total);
            }
        }
    }

    /// Skips to just after the next `;` outside quotes and comments (or EOF).
    pub(crate) fn skip_statement(&mut self) -> Result<(), SourceError> {
        let mut scratch = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek()? {
                None => return Ok(()),
                Some(b';') => {
                    self.bump(1);
                    return Ok(());
                }
                Some(q @ (b'\'' | b'"')) => {
                    scratch.clear();
                    self.read_quoted(q, true, &mut scratch)?;
                }
                Some(b'`') => {
                    scratch.clear();
                    self.read_quoted(b'`', false, &mut scratch)?;
                }
                Some(b) if is_word_byte(b) => self.read_word(&mut scratch)?,
                Some(_) => self.bump(1),
            }
        }
    }
}

/// Decodes hex digits (an odd count gets a leading zero, as MySQL does for `0x`).
pub(crate) fn decode_hex(digits: &[u8], out: &mut Vec<u8>) -> Option<()> {
    fn val(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut iter = digits.iter();
    if digits.len() % 2 == 1 {
        out.push(val(*iter.next()?)?);
    }
    while let (Some(&h), Some(&l)) = (iter.next(), iter.next()) {
        out.push(val(h)? << 4 | val(l)?);
    }
    Some(())
}

/// Decodes binary digits into big-endian bytes (`b'1'` is one byte 0x01;
/// `b''` is empty).
pub(crate) fn decode_bits(digits: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if digits.iter().any(|&b| b != b'0' && b != b'1') {
        return None;
    }
    let lead = digits.len() % 8;
    let mut chunks: Vec<&[u8]> = Vec::new();
    if lead > 0 {
        chunks.push(&digits[..lead]);
    }
    chunks.extend(digits[lead..].chunks(8));
    for c in chunks {
        out.push(c.iter().fold(0u8, |acc, &b| acc << 1 | (b - b'0')));
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_bits() {
        let mut out = Vec::new();
        decode_hex(b"aBc", &mut out).expect("hex");
        assert_eq!(out, vec![0x0A, 0xBC]);
        out.clear();
        assert!(decode_hex(b"zz", &mut out).is_none());
        out.clear();
        decode_bits(b"1000000001", &mut out).expect("bits");
        assert_eq!(out, vec![0b10, 0b1]);
        out.clear();
        decode_bits(b"", &mut out).expect("bits");
        assert!(out.is_empty());
    }
}
