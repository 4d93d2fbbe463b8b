//! `[mydumper.csv]` turned into the byte patterns the scanner uses.

use squall_common::config::CsvConfig;

use crate::error::{ErrorKind, SourceError};

/// Lightning's CSV dialect, as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Field separator, one or more bytes.
    pub separator: Vec<u8>,
    /// Quote; empty means fields are never quoted.
    pub delimiter: Vec<u8>,
    /// Line terminator; `None` means `\r`, `\n` or `\r\n`.
    pub terminator: Option<Vec<u8>>,
    pub header: bool,
    pub header_schema_match: bool,
    pub backslash_escape: bool,
    pub trim_last_separator: bool,
    /// A raw `\N` (quoted or not) is NULL: MySQL's convention, on when
    /// backslash escapes are on and `\N` is a null marker.
    pub mysql_null: bool,
    /// Unescaped field texts that mean NULL (empty when `not-null`).
    pub null_markers: Vec<Vec<u8>>,
}

impl CsvOptions {
    pub fn from_config(cfg: &CsvConfig) -> Result<Self, SourceError> {
        let invalid = |reason: &str| {
            SourceError::new(ErrorKind::Routing, "", format!("[mydumper.csv] {reason}"))
        };
        if cfg.separator.is_empty() {
            return Err(invalid("separator must not be empty"));
        }
        if !cfg.delimiter.is_empty() && cfg.separator.starts_with(&cfg.delimiter) {
            return Err(invalid("delimiter must differ from the separator"));
        }
        if cfg.backslash_escape && (cfg.separator == "\\" || cfg.delimiter == "\\") {
            return Err(invalid(
                "separator and delimiter cannot be `\\` with backslash-escape",
            ));
        }
        let markers = cfg.null.as_slice();
        let mysql_null =
            cfg.backslash_escape && !cfg.not_null && markers.iter().any(|m| m == "\\N");
        let null_markers = if cfg.not_null {
            Vec::new()
        } else {
            markers
                .iter()
                .filter(|m| !(mysql_null && m.as_str() == "\\N"))
                .map(|m| m.as_bytes().to_vec())
                .collect()
        };
        Ok(Self {
            separator: cfg.separator.as_bytes().to_vec(),
            delimiter: cfg.delimiter.as_bytes().to_vec(),
            terminator: (!cfg.terminator.is_empty()).then(|| cfg.terminator.as_bytes().to_vec()),
            header: cfg.header,
            header_schema_match: cfg.header_schema_match,
            backslash_escape: cfg.backslash_escape,
            trim_last_separator: cfg.trim_last_separator,
            mysql_null,
            null_markers,
        })
    }

    /// Bytes that end a run of plain bytes in an unquoted field.
    pub(crate) fn unquoted_stops(&self) -> [bool; 256] {
        let mut t = [false; 256];
        t[self.separator[0] as usize] = true;
        if let Some(&q) = self.delimiter.first() {
            t[q as usize] = true;
        }
        if self.backslash_escape {
            t[b'\\' as usize] = true;
        }
        match &self.terminator {
            Some(term) => t[term[0] as usize] = true,
            None => {
                t[b'\r' as usize] = true;
                t[b'\n' as usize] = true;
            }
        }
        t
    }
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self::from_config(&CsvConfig::default()).expect("Lightning's default CSV config is valid")
    }
}
