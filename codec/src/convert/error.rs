//! Why a source value could not be converted (strict mode) or was adjusted
//! (non-strict mode: the same reasons become warnings).

/// The reason, worded like MySQL's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("column cannot be null")]
    NotNull,
    #[error("field doesn't have a default value")]
    NoDefault,
    #[error("incorrect {ty} value: '{value}'")]
    Incorrect { ty: &'static str, value: String },
    #[error("out of range value '{value}'")]
    OutOfRange { value: String },
    #[error("data truncated: '{value}'")]
    Truncated { value: String },
    #[error("data too long: {len} {unit}, the column holds {max}")]
    TooLong {
        len: usize,
        max: usize,
        unit: &'static str,
    },
    #[error("incorrect string value: bytes {bytes} at offset {offset} are not valid {charset}")]
    InvalidString {
        charset: &'static str,
        offset: usize,
        bytes: String,
    },
    #[error("invalid JSON text: {0}")]
    InvalidJson(String),
    #[error("zero date '{value}' is not allowed by the SQL mode")]
    ZeroDate { value: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// A value that cannot be stored (strict mode, or always for some problems).
/// The caller adds the file and offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column `{column}`: {problem}")]
pub struct ConvertError {
    pub column: String,
    pub problem: Problem,
}

/// A value stored after adjustment (non-strict mode), like a MySQL warning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column `{column}`: {problem}")]
pub struct ConvertWarning {
    pub column: String,
    pub problem: Problem,
}

/// The converter's own settings are wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConverterSetupError {
    #[error(
        "unknown time zone `{0}` (use SYSTEM, UTC, +08:00 or an IANA name like Asia/Shanghai)"
    )]
    TimeZone(String),
}

/// Shortens a value for an error message.
pub(crate) fn shown(raw: &[u8]) -> String {
    const MAX: usize = 64;
    let s = String::from_utf8_lossy(&raw[..raw.len().min(MAX)]).into_owned();
    if raw.len() > MAX {
        format!("{s}...")
    } else {
        s
    }
}
