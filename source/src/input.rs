//! A fixed-size read buffer over any `Read`, tracking the byte offset and the
//! line number of the read position. The parsers scan the buffer in place and
//! copy only field bytes out, so memory stays at one block per reader.

use std::io::Read;

/// The smallest buffer we use even when `read-block-size` is tiny (Lightning's
/// `read-block-size = 1` test): a buffer must hold the longest token we peek
/// at (a multi-byte separator), and tiny reads are only slow, never wrong.
const MIN_BLOCK: usize = 4096;

pub(crate) struct Input<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// File offset of `buf[0]`.
    base: u64,
    /// Line number (1-based) at `buf[counted]`.
    line: u64,
    counted: usize,
}

impl<R: Read> Input<R> {
    /// `start_offset`/`start_line` describe where `inner` starts in the file.
    pub(crate) fn new(inner: R, block_size: usize, start_offset: u64, start_line: u64) -> Self {
        Self {
            inner,
            buf: vec![0; block_size.max(MIN_BLOCK)],
            pos: 0,
            end: 0,
            eof: false,
            base: start_offset,
            line: start_line,
            counted: 0,
        }
    }

    /// File offset of the read position.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Line number of the read position.
    pub(crate) fn line(&mut self) -> u64 {
        self.count_lines();
        self.line
    }

    fn count_lines(&mut self) {
        if self.pos > self.counted {
            self.line +=
                memchr::memchr_iter(b'\n', &self.buf[self.counted..self.pos]).count() as u64;
            self.counted = self.pos;
        }
    }

    /// The unread bytes in the buffer (may be empty; call `fill` for more).
    #[inline]
    pub(crate) fn available(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(self.pos + n <= self.end);
        self.pos += n;
    }

    /// Reads more bytes, keeping the unread ones. Returns false at EOF.
    pub(crate) fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.count_lines();
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            self.counted = 0;
        }
        if self.end == self.buf.len() {
            // Only a peek longer than the buffer gets here; grow once.
            let len = self.buf.len();
            self.buf.resize(len * 2, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Makes at least `n` bytes available unless EOF comes first.
    pub(crate) fn ensure(&mut self, n: usize) -> std::io::Result<bool> {
        while self.end - self.pos < n {
            if !self.fill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The next byte without consuming it; `None` at EOF.
    #[inline]
    pub(crate) fn peek(&mut self) -> std::io::Result<Option<u8>> {
        if self.pos == self.end && !self.fill()? {
            return Ok(None);
        }
        Ok(Some(self.buf[self.pos]))
    }

    /// Whether the unread input starts with `pat` (reads ahead as needed).
    pub(crate) fn starts_with(&mut self, pat: &[u8]) -> std::io::Result<bool> {
        self.ensure(pat.len())?;
        Ok(self.available().starts_with(pat))
    }

    /// Whether the unread input starts with `pat`, ASCII case-insensitively.
    pub(crate) fn starts_with_ignore_case(&mut self, pat: &[u8]) -> std::io::Result<bool> {
        self.ensure(pat.len())?;
        let a = self.available();
        Ok(a.len() >= pat.len() && a[..pat.len()].eq_ignore_ascii_case(pat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_offset_and_line_across_refills() {
        let data = b"ab\ncd\nef".repeat(2000);
        let mut input = Input::new(&data[..], 1, 100, 1);
        let mut seen = 0usize;
        while input.peek().expect("read").is_some() {
            let n = input.available().len().min(7);
            input.consume(n);
            seen += n;
        }
        assert_eq!(seen, data.len());
        assert_eq!(input.offset(), 100 + data.len() as u64);
        assert_eq!(input.line(), 1 + 2 * 2000 - 1 + 1);
    }

    #[test]
    fn starts_with_reads_ahead() {
        let data = vec![b'x'; 10_000];
        let mut input = Input::new(&data[..], 1, 0, 1);
        input.ensure(4095).expect("fill");
        input.consume(4090);
        assert!(input.starts_with(&[b'x'; 20]).expect("peek"));
        assert!(!input.starts_with(b"y").expect("peek"));
    }
}
