//! Per-value conversion of data to UTF-8, for character sets whose
//! structural bytes cannot hide inside a character (`utf8mb4`, and what a
//! caller sets in [`ReadOptions::data_charset`]): the file is parsed as it
//! is stored, so it can still be cut into chunks at byte offsets.

use crate::charset::{CharsetError, SourceCharset};
use crate::row::ReadOptions;
use crate::transcode::ReplaceLog;

pub(crate) struct ValueCharset {
    pub(crate) charset: SourceCharset,
    replace: Option<String>,
    log: ReplaceLog,
}

impl ValueCharset {
    pub(crate) fn new(read: &ReadOptions, file: &str) -> Self {
        Self {
            charset: read.data_charset,
            replace: read.invalid_char_replace.clone(),
            log: ReplaceLog::new(file, read.data_charset.name()),
        }
    }

    /// Converts `value` in place; `row_offset` goes into the replacement log.
    pub(crate) fn convert(
        &mut self,
        value: &mut Vec<u8>,
        row_offset: u64,
    ) -> Result<(), CharsetError> {
        let (n, first) = self
            .charset
            .convert_value_with(value, self.replace.as_deref())?;
        if n > 0 {
            self.log.record(row_offset, &first, n);
        }
        Ok(())
    }
}
