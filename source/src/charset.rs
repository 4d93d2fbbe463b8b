//! Character sets of source files, and their conversion to UTF-8.
//!
//! Schema files follow `[mydumper] character-set` with Lightning's rules:
//! `auto` keeps valid UTF-8 and otherwise decodes GB18030; `utf8mb4` rejects
//! invalid UTF-8; `gb18030`/`gbk` reject undecodable bytes and U+FFFD;
//! `binary` keeps the bytes (invalid UTF-8 bytes read as Latin-1, which is
//! what TiDB makes of them). Data values follow the data character set
//! (Lightning's `data-character-set`, default `binary`: bytes pass through).

use encoding_rs::{Encoding, GB18030, GBK, WINDOWS_1252};

/// A character set name from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SourceCharset {
    /// UTF-8 if valid, else GB18030 (schema files only).
    Auto,
    Utf8mb4,
    /// No conversion.
    Binary,
    Latin1,
    Gbk,
    Gb18030,
}

/// Bytes that are not valid in a character set: offset of the first bad byte
/// relative to the start of the decoded text, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharsetError {
    pub offset: usize,
    pub reason: String,
}

impl SourceCharset {
    /// Parses a config value (`auto`, `utf8mb4`/`utf8`, `binary`, `latin1`, `gbk`, `gb18030`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "auto" => Self::Auto,
            "utf8mb4" | "utf8" | "utf-8" => Self::Utf8mb4,
            "binary" | "" => Self::Binary,
            "latin1" => Self::Latin1,
            "gbk" => Self::Gbk,
            "gb18030" => Self::Gb18030,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Utf8mb4 => "utf8mb4",
            Self::Binary => "binary",
            Self::Latin1 => "latin1",
            Self::Gbk => "gbk",
            Self::Gb18030 => "gb18030",
        }
    }

    /// Decodes a whole schema file to text under this character set.
    pub fn decode_text(self, bytes: &[u8]) -> Result<String, CharsetError> {
        match self {
            Self::Utf8mb4 => decode_utf8(bytes),
            Self::Auto => match std::str::from_utf8(bytes) {
                Ok(s) => Ok(s.to_string()),
                Err(_) => decode_strict(GB18030, bytes),
            },
            Self::Gb18030 => decode_strict(GB18030, bytes),
            Self::Gbk => decode_strict(GBK, bytes),
            Self::Latin1 => Ok(WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned()),
            Self::Binary => Ok(utf8_or_latin1(bytes)),
        }
    }

    /// Converts one data value to UTF-8 in place (`binary` leaves it as is).
    /// `utf8mb4` only validates.
    pub fn convert_value(self, value: &mut Vec<u8>) -> Result<(), CharsetError> {
        match self {
            Self::Binary => Ok(()),
            Self::Utf8mb4 | Self::Auto => {
                if value.is_ascii() {
                    return Ok(());
                }
                decode_utf8(value).map(|_| ())
            }
            Self::Latin1 | Self::Gbk | Self::Gb18030 => {
                if value.is_ascii() {
                    return Ok(());
                }
                let text = self.decode_text(value)?;
                value.clear();
                value.extend_from_slice(text.as_bytes());
                Ok(())
            }
        }
    }
}

impl SourceCharset {
    /// [`Self::convert_value`], but invalid UTF-8 (`utf8mb4`) is replaced
    /// with `replace` when given. Returns how many sequences were replaced
    /// and the first of them (to log: replacing is never silent).
    pub fn convert_value_with(
        self,
        value: &mut Vec<u8>,
        replace: Option<&str>,
    ) -> Result<(u64, Vec<u8>), CharsetError> {
        let (Self::Utf8mb4, Some(rep)) = (self, replace) else {
            return self.convert_value(value).map(|()| (0, Vec::new()));
        };
        if value.is_ascii() || std::str::from_utf8(value).is_ok() {
            return Ok((0, Vec::new()));
        }
        let mut out = Vec::with_capacity(value.len() + rep.len());
        let (mut count, mut first) = (0u64, Vec::new());
        for chunk in value.utf8_chunks() {
            out.extend_from_slice(chunk.valid().as_bytes());
            if !chunk.invalid().is_empty() {
                if count == 0 {
                    first = chunk.invalid().to_vec();
                }
                count += 1;
                out.extend_from_slice(rep.as_bytes());
            }
        }
        *value = out;
        Ok((count, first))
    }
}

fn decode_utf8(bytes: &[u8]) -> Result<String, CharsetError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => Err(CharsetError {
            offset: e.valid_up_to(),
            reason: format!(
                "invalid utf8mb4 byte 0x{:02X}",
                bytes.get(e.valid_up_to()).copied().unwrap_or(0)
            ),
        }),
    }
}

/// Decodes without replacement; a malformed sequence or a U+FFFD in the
/// result is an error (Lightning treats U+FFFD as a failed conversion).
fn decode_strict(enc: &'static Encoding, bytes: &[u8]) -> Result<String, CharsetError> {
    let mut decoder = enc.new_decoder_without_bom_handling();
    let cap = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len() * 4);
    let mut out = String::with_capacity(cap);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::InputEmpty => {}
        encoding_rs::DecoderResult::Malformed(bad, extra) => {
            let offset = read.saturating_sub(bad as usize + extra as usize);
            return Err(CharsetError {
                offset,
                reason: format!("invalid {} byte sequence", enc.name().to_ascii_lowercase()),
            });
        }
        encoding_rs::DecoderResult::OutputFull => {
            return Err(CharsetError {
                offset: read,
                reason: "decoder output overflow".into(),
            });
        }
    }
    if out.contains('\u{FFFD}') {
        return Err(CharsetError {
            offset: bytes
                .windows(4)
                .position(|w| w == [0x84, 0x31, 0xA4, 0x37])
                .unwrap_or(0),
            reason: format!(
                "text decoded from {} contains U+FFFD",
                enc.name().to_ascii_lowercase()
            ),
        });
    }
    Ok(out)
}

/// Keeps valid UTF-8 sequences and reads every other byte as Latin-1.
fn utf8_or_latin1(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let good = e.valid_up_to();
                out.push_str(std::str::from_utf8(&bytes[..good]).unwrap_or_default());
                out.push(char::from(bytes[good]));
                bytes = &bytes[good + 1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB_ZHUJIAN: &[u8] = &[0xD6, 0xF7, 0xBC, 0xFC]; // 主键 in GB18030

    #[test]
    fn auto_keeps_utf8_and_decodes_gb18030() {
        assert_eq!(
            SourceCharset::Auto
                .decode_text("主键".as_bytes())
                .expect("utf8"),
            "主键"
        );
        assert_eq!(
            SourceCharset::Auto.decode_text(GB_ZHUJIAN).expect("gb"),
            "主键"
        );
    }

    #[test]
    fn utf8mb4_rejects_gb18030_with_offset() {
        let mut text = b"create table t (`".to_vec();
        text.extend_from_slice(GB_ZHUJIAN);
        let err = SourceCharset::Utf8mb4
            .decode_text(&text)
            .expect_err("invalid");
        assert_eq!(err.offset, 17);
    }

    #[test]
    fn binary_reads_invalid_bytes_as_latin1() {
        assert_eq!(
            SourceCharset::Binary
                .decode_text(GB_ZHUJIAN)
                .expect("binary"),
            "Ö÷¼ü"
        );
        assert_eq!(
            SourceCharset::Binary
                .decode_text("主键".as_bytes())
                .expect("binary"),
            "主键"
        );
    }

    #[test]
    fn gb18030_reads_utf8_as_mojibake() {
        let s = SourceCharset::Gb18030
            .decode_text("主键".as_bytes())
            .expect("decodes");
        assert_eq!(s, "涓婚敭");
    }

    #[test]
    fn gb18030_rejects_truncated_sequence() {
        let err = SourceCharset::Gb18030
            .decode_text(&[b'a', 0x81])
            .expect_err("truncated");
        assert_eq!(err.offset, 1);
    }

    #[test]
    fn data_values_convert_in_place() {
        let mut v = GB_ZHUJIAN.to_vec();
        SourceCharset::Gbk.convert_value(&mut v).expect("gbk");
        assert_eq!(v, "主键".as_bytes());
        let mut raw = vec![0xFF, 0x00];
        SourceCharset::Binary
            .convert_value(&mut raw)
            .expect("binary");
        assert_eq!(raw, vec![0xFF, 0x00]);
        let mut bad = vec![b'a', 0xFF];
        assert_eq!(
            SourceCharset::Utf8mb4
                .convert_value(&mut bad)
                .expect_err("bad")
                .offset,
            1
        );
        let mut latin = vec![0xE9];
        SourceCharset::Latin1
            .convert_value(&mut latin)
            .expect("latin1");
        assert_eq!(latin, "é".as_bytes());
    }
}
