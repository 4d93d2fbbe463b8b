//! Tokens of schema files (MySQL dialect as Dumpling and mysqldump write it).
//! MySQL's executable comments `/*!40101 ... */` and TiDB's feature comments
//! `/*T![clustered_index] ... */` are read as code, because TiDB runs them;
//! every other comment is skipped.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Bare word: keyword or unquoted identifier.
    Word(String),
    /// Backquoted identifier.
    Ident(String),
    /// `'...'` or `"..."` string, escapes resolved.
    Str(String),
    /// Unsigned number literal as written.
    Num(String),
    /// `0x..`/`x'..'` (hex) and `0b..`/`b'..'` (bit) literals, as bytes.
    Bytes(Vec<u8>),
    Punct(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offset in the text.
    pub start: usize,
    pub end: usize,
}

/// A tokenizer error: byte offset and reason.
pub(crate) type LexError = (usize, String);

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    let mut lx = Lexer {
        s: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    /// Open executable comments.
    depth: usize,
    out: Vec<Token>,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl Lexer<'_> {
    fn at(&self, k: usize) -> u8 {
        self.s.get(self.i + k).copied().unwrap_or(0)
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.out.push(Token {
            tok,
            start,
            end: self.i,
        });
    }

    fn run(&mut self) -> Result<(), LexError> {
        while self.i < self.s.len() {
            let (b, start) = (self.s[self.i], self.i);
            match b {
                _ if b.is_ascii_whitespace() => self.i += 1,
                b'/' if self.at(1) == b'*' => self.comment()?,
                b'*' if self.at(1) == b'/' && self.depth > 0 => {
                    self.depth -= 1;
                    self.i += 2;
                }
                b'-' if self.at(1) == b'-'
                    && (self.at(2).is_ascii_whitespace() || self.at(2) == 0) =>
                {
                    self.line()
                }
                b'#' => self.line(),
                b'`' => {
                    let s = self.quoted(b'`', false)?;
                    self.push(Tok::Ident(s), start);
                }
                b'\'' | b'"' => {
                    let s = self.quoted(b, true)?;
                    self.push(Tok::Str(s), start);
                }
                b'0' if matches!(self.at(1), b'x' | b'b') && is_word(self.at(2)) => self.radix()?,
                b'x' | b'X' | b'b' | b'B' if self.at(1) == b'\'' => self.quoted_bytes()?,
                b'0'..=b'9' => self.number(),
                b'.' if self.at(1).is_ascii_digit() => self.number(),
                _ if is_word(b) => {
                    while self.i < self.s.len() && is_word(self.s[self.i]) {
                        self.i += 1;
                    }
                    let w = self.text[start..self.i].to_string();
                    self.push(Tok::Word(w), start);
                }
                _ => {
                    let c = self.text[start..].chars().next().unwrap_or('?');
                    self.i += c.len_utf8();
                    self.push(Tok::Punct(c), start);
                }
            }
        }
        if self.depth > 0 {
            return Err((self.s.len(), "unterminated /*! comment".into()));
        }
        Ok(())
    }

    fn line(&mut self) {
        while self.i < self.s.len() && self.s[self.i] != b'\n' {
            self.i += 1;
        }
    }

    fn comment(&mut self) -> Result<(), LexError> {
        let start = self.i;
        if self.at(2) == b'!' {
            self.i += 3;
            while self.at(0).is_ascii_digit() {
                self.i += 1;
            }
            self.depth += 1;
            return Ok(());
        }
        if self.at(2) == b'T' && self.at(3) == b'!' && self.at(4) == b'[' {
            let close = self.s[self.i..]
                .iter()
                .position(|&b| b == b']')
                .ok_or((start, "unterminated /*T![ comment".to_string()))?;
            self.i += close + 1;
            self.depth += 1;
            return Ok(());
        }
        if self.at(2) == b'T' && self.at(3) == b'!' {
            // `/*T! SHARD_ROW_ID_BITS=4 */`: TiDB code with no feature ID.
            self.i += 4;
            self.depth += 1;
            return Ok(());
        }
        match memchr::memmem::find(&self.s[self.i + 2..], b"*/") {
            Some(n) => {
                self.i += n + 4;
                Ok(())
            }
            None => Err((start, "unterminated /* comment".into())),
        }
    }

    fn quoted(&mut self, q: u8, escapes: bool) -> Result<String, LexError> {
        let start = self.i;
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err((start, "unterminated quoted string or identifier".into()));
            };
            self.i += 1;
            if b == b'\\' && escapes {
                let Some(&c) = self.s.get(self.i) else {
                    return Err((start, "unterminated quoted string".into()));
                };
                out.push(crate::escape::unescape_byte(c));
                self.i += 1;
            } else if b == q {
                if self.s.get(self.i) == Some(&q) {
                    out.push(q);
                    self.i += 1;
                } else {
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
            } else {
                out.push(b);
            }
        }
    }

    fn radix(&mut self) -> Result<(), LexError> {
        let start = self.i;
        let hex = self.at(1) == b'x';
        self.i += 2;
        let digits_start = self.i;
        while self.i < self.s.len() && is_word(self.s[self.i]) {
            self.i += 1;
        }
        let digits = &self.s[digits_start..self.i];
        let bytes = decode(digits, hex).ok_or((start, "invalid hex or bit literal".to_string()))?;
        self.push(Tok::Bytes(bytes), start);
        Ok(())
    }

    fn quoted_bytes(&mut self) -> Result<(), LexError> {
        let start = self.i;
        let hex = self.at(0).eq_ignore_ascii_case(&b'x');
        self.i += 1;
        let digits = self.quoted(b'\'', false)?;
        let bytes = decode(digits.as_bytes(), hex)
            .ok_or((start, "invalid hex or bit literal".to_string()))?;
        self.push(Tok::Bytes(bytes), start);
        Ok(())
    }

    fn number(&mut self) {
        let start = self.i;
        let digits = |lx: &mut Self| {
            while lx.at(0).is_ascii_digit() {
                lx.i += 1;
            }
        };
        digits(self);
        if self.at(0) == b'.' && self.at(1).is_ascii_digit() || self.at(0) == b'.' && start < self.i
        {
            self.i += 1;
            digits(self);
        }
        if matches!(self.at(0), b'e' | b'E')
            && (self.at(1).is_ascii_digit()
                || matches!(self.at(1), b'+' | b'-') && self.at(2).is_ascii_digit())
        {
            self.i += 2;
            digits(self);
        }
        if is_word(self.at(0)) {
            // `1abc` is an identifier in MySQL.
            while self.i < self.s.len() && is_word(self.s[self.i]) {
                self.i += 1;
            }
            let w = self.text[start..self.i].to_string();
            self.push(Tok::Word(w), start);
            return;
        }
        let n = self.text[start..self.i].to_string();
        self.push(Tok::Num(n), start);
    }
}

fn decode(digits: &[u8], hex: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    if hex {
        let s = std::str::from_utf8(digits).ok()?;
        let padded = if s.len() % 2 == 1 {
            format!("0{s}")
        } else {
            s.to_string()
        };
        for pair in padded.as_bytes().chunks(2) {
            out.push(u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?);
        }
    } else {
        if digits.iter().any(|&b| b != b'0' && b != b'1') {
            return None;
        }
        let lead = digits.len() % 8;
        let (head, tail) = digits.split_at(lead);
        if !head.is_empty() {
            out.push(head.iter().fold(0u8, |a, &b| a << 1 | (b - b'0')));
        }
        for c in tail.chunks(8) {
            out.push(c.iter().fold(0u8, |a, &b| a << 1 | (b - b'0')));
        }
    }
    Some(out)
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> u64 {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s)
            .expect("tokenizes")
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn executable_comments_are_code_others_are_skipped() {
        let t = toks("/*!40101 SET NAMES binary*/; /* hidden */ a -- x\n`b``c` /*T![clustered_index] CLUSTERED */");
        assert_eq!(
            t,
            vec![
                Tok::Word("SET".into()),
                Tok::Word("NAMES".into()),
                Tok::Word("binary".into()),
                Tok::Punct(';'),
                Tok::Word("a".into()),
                Tok::Ident("b`c".into()),
                Tok::Word("CLUSTERED".into()),
            ]
        );
    }

    #[test]
    fn literals() {
        let t = toks("'it''s\\n' 12.5 1e3 0x0A b'101' x'ff' 1abc");
        assert_eq!(
            t,
            vec![
                Tok::Str("it's\n".into()),
                Tok::Num("12.5".into()),
                Tok::Num("1e3".into()),
                Tok::Bytes(vec![10]),
                Tok::Bytes(vec![5]),
                Tok::Bytes(vec![255]),
                Tok::Word("1abc".into()),
            ]
        );
    }

    #[test]
    fn errors_have_offsets() {
        assert_eq!(tokenize("a 'open").expect_err("unterminated").0, 2);
        assert_eq!(tokenize("a /* open").expect_err("unterminated").0, 2);
    }
}
