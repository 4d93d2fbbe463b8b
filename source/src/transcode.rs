//! Converting a data file to UTF-8 while it is read, before any parsing
//! (`mydumper.data-character-set` = gbk, gb18030 or latin1).
//!
//! It has to come before the parser: a GBK character's second byte may be
//! `\` (0x5C) or `|`, which a byte-level CSV or SQL parser would take for an
//! escape or a separator. Offsets after conversion are offsets in the UTF-8
//! text, so such a file is read whole, as one chunk (like a compressed one);
//! errors still name the byte offset in the file as stored.

use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, Encoding};

use crate::error::{ErrorKind, SourceError};

const RAW_BLOCK: usize = 64 << 10;

/// Counts replaced sequences and says so once, when the reader is dropped:
/// a replacement is never silent, and never one log line per value.
pub(crate) struct ReplaceLog {
    file: String,
    charset: &'static str,
    count: u64,
    first: Option<(u64, String)>,
}

impl ReplaceLog {
    pub(crate) fn new(file: &str, charset: &'static str) -> Self {
        Self {
            file: file.to_string(),
            charset,
            count: 0,
            first: None,
        }
    }

    /// `offset` is where the bad bytes are (or the row holding them).
    pub(crate) fn record(&mut self, offset: u64, bytes: &[u8], n: u64) {
        self.count += n;
        self.first.get_or_insert_with(|| (offset, hex(bytes)));
    }
}

impl Drop for ReplaceLog {
    fn drop(&mut self) {
        if let Some((offset, bytes)) = &self.first {
            tracing::warn!(
                file = %self.file,
                charset = self.charset,
                replaced = self.count,
                first_offset = offset,
                first_bytes = %bytes,
                "invalid bytes in the data replaced with mydumper.data-invalid-char-replace \
                 (set it to \"\" to stop at them instead)"
            );
        }
    }
}

/// `0x81 0x20`: bytes as they are in the file.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("0x{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `Read` of UTF-8 over a `Read` of `encoding` text.
pub(crate) struct Transcoder<R> {
    inner: R,
    decoder: Decoder,
    charset: &'static str,
    /// `None`: invalid bytes are an error.
    replace: Option<Vec<u8>>,
    file: String,
    raw: Vec<u8>,
    raw_pos: usize,
    raw_end: usize,
    /// File offset of `raw[raw_pos]`.
    offset: u64,
    /// The bytes just before `raw[0]`, to show a sequence cut by a refill.
    tail: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    out_end: usize,
    /// Newlines handed out, for the line of an error.
    lines: u64,
    eof: bool,
    done: bool,
    log: ReplaceLog,
}

impl<R: Read> Transcoder<R> {
    pub(crate) fn new(
        inner: R,
        encoding: &'static Encoding,
        charset: &'static str,
        replace: Option<&str>,
        file: &str,
    ) -> Self {
        let replace = replace.map(|r| r.as_bytes().to_vec());
        let slack = replace.as_ref().map_or(0, Vec::len);
        Self {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            charset,
            replace,
            file: file.to_string(),
            raw: vec![0; RAW_BLOCK],
            raw_pos: 0,
            raw_end: 0,
            offset: 0,
            tail: Vec::new(),
            // Room for a whole block decoded (3 UTF-8 bytes per input byte at
            // most) plus one replacement.
            out: vec![0; RAW_BLOCK * 3 + 16 + slack],
            out_pos: 0,
            out_end: 0,
            lines: 0,
            eof: false,
            done: false,
            log: ReplaceLog::new(file, charset),
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        let keep = self.raw_end.min(4);
        self.tail = self.raw[self.raw_end - keep..self.raw_end].to_vec();
        self.raw_pos = 0;
        self.raw_end = 0;
        loop {
            match self.inner.read(&mut self.raw) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.raw_end = n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The `len` bytes ending `from_end` bytes before the read position.
    fn bytes_before(&self, len: usize, from_end: usize) -> Vec<u8> {
        let mut all = self.tail.clone();
        all.extend_from_slice(&self.raw[..self.raw_pos]);
        let end = all.len().saturating_sub(from_end);
        all[end.saturating_sub(len)..end].to_vec()
    }

    fn decode_some(&mut self) -> io::Result<()> {
        let slack = self.replace.as_ref().map_or(0, Vec::len);
        let cap = self.out.len() - slack;
        let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
            &self.raw[self.raw_pos..self.raw_end],
            &mut self.out[..cap],
            self.eof,
        );
        self.raw_pos += read;
        self.offset += read as u64;
        self.out_pos = 0;
        self.out_end = written;
        match result {
            DecoderResult::InputEmpty => self.done = self.eof,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(bad, extra) => {
                let (bad, extra) = (usize::from(bad), usize::from(extra));
                let at = self.offset - (bad + extra) as u64;
                let bytes = self.bytes_before(bad, extra);
                match &self.replace {
                    Some(rep) => {
                        self.out[written..written + rep.len()].copy_from_slice(rep);
                        self.out_end += rep.len();
                        self.log.record(at, &bytes, 1);
                    }
                    None => {
                        let line = self.lines
                            + memchr::memchr_iter(b'\n', &self.out[..written]).count() as u64
                            + 1;
                        let reason = format!(
                            "bytes {} are not valid {} (mydumper.data-character-set = \"{}\"): \
                             set mydumper.data-invalid-char-replace to replace them, or fix \
                             data-character-set",
                            hex(&bytes),
                            self.charset,
                            self.charset
                        );
                        let err =
                            SourceError::new(ErrorKind::Charset, &self.file, reason).at(at, line);
                        return Err(io::Error::other(err));
                    }
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Transcoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_pos < self.out_end {
                let n = buf.len().min(self.out_end - self.out_pos);
                let chunk = &self.out[self.out_pos..self.out_pos + n];
                buf[..n].copy_from_slice(chunk);
                self.lines += memchr::memchr_iter(b'\n', chunk).count() as u64;
                self.out_pos += n;
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            if self.raw_pos == self.raw_end && !self.eof {
                self.refill()?;
            }
            self.decode_some()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(bytes: &[u8], enc: &'static Encoding, replace: Option<&str>) -> io::Result<String> {
        let mut t = Transcoder::new(bytes, enc, "gbk", replace, "t.csv");
        let mut s = String::new();
        t.read_to_string(&mut s)?;
        Ok(s)
    }

    #[test]
    fn gbk_with_backslash_second_byte_decodes() {
        // 0x95 0x5C is a GBK character whose second byte is `\`.
        let (text, _, bad) = encoding_rs::GBK.decode(&[0x95, 0x5C]);
        assert!(!bad);
        let mut src = b"1,\"".to_vec();
        src.extend_from_slice(&[0x95, 0x5C]);
        src.extend_from_slice(b"\"\n");
        let out = convert(&src, encoding_rs::GBK, None).expect("valid");
        assert_eq!(out, format!("1,\"{text}\"\n"));
    }

    #[test]
    fn invalid_bytes_replaced_or_named_with_their_offset() {
        let src = b"ab\ncd\x81\x20ef";
        let out = convert(src, encoding_rs::GBK, Some("?")).expect("replaced");
        assert_eq!(out, "ab\ncd? ef");
        let err = convert(src, encoding_rs::GBK, None).expect_err("invalid");
        let inner = err
            .into_inner()
            .and_then(|e| e.downcast::<SourceError>().ok())
            .expect("a SourceError inside");
        assert_eq!(inner.kind, ErrorKind::Charset);
        assert_eq!(inner.pos.offset, Some(5));
        assert_eq!(inner.pos.line, Some(2));
        assert!(inner.reason.contains("0x81"), "{}", inner.reason);
    }

    #[test]
    fn sequences_cut_by_a_block_boundary_survive() {
        // "中" (0xD6 0xD0) repeated, so a block boundary falls inside one.
        let src: Vec<u8> = [0xD6u8, 0xD0].repeat(RAW_BLOCK / 2 + 3);
        let mut odd = vec![b'x'];
        odd.extend_from_slice(&src);
        let out = convert(&odd, encoding_rs::GB18030, None).expect("valid");
        assert_eq!(out.chars().count(), 1 + RAW_BLOCK / 2 + 3);
        assert!(out[1..].chars().all(|c| c == '中'));
        // A truncated last character is invalid at the end of the file.
        let err = convert(&[b'a', 0xD6], encoding_rs::GB18030, None).expect_err("cut");
        assert!(err.to_string().contains("byte 1"), "{err}");
    }

    #[test]
    fn latin1_high_bytes_become_utf8() {
        let src: Vec<u8> = (0x80u8..=0xFF).collect();
        let out = convert(&src, encoding_rs::WINDOWS_1252, None).expect("latin1 never fails");
        assert_eq!(out.chars().count(), 128);
        assert!(out.starts_with('€'));
        assert!(out.ends_with('ÿ'));
    }
}
