//! Errors raised while decoding TiDB bytes (keys, values, datums).

/// A byte string is not a valid TiDB encoding of what the caller expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("{what}: need {need} bytes, only {have} left")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error(
        "memcomparable bytes: invalid marker byte {marker:#04x} in group ending at offset {offset}"
    )]
    InvalidMarker { marker: u8, offset: usize },
    #[error(
        "memcomparable bytes: non-zero padding byte in the last group ending at offset {offset}"
    )]
    InvalidPadding { offset: usize },
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    #[error("unknown datum flag {0:#04x}")]
    UnknownFlag(u8),
    #[error("not a {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
}

impl CodecError {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

/// Splits `n` bytes off the front of `buf`, or reports what was being read.
pub(crate) fn take<'a>(
    buf: &mut &'a [u8],
    n: usize,
    what: &'static str,
) -> Result<&'a [u8], CodecError> {
    if buf.len() < n {
        return Err(CodecError::Truncated {
            what,
            need: n,
            have: buf.len(),
        });
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

/// A row or table cannot be encoded the way TiDB would.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    #[error("decimal {value} does not fit DECIMAL({prec},{frac})")]
    DecimalOverflow {
        value: String,
        prec: usize,
        frac: usize,
    },
    #[error("column id {0} cannot be stored in row format v2")]
    ColumnIdOutOfRange(i64),
    #[error(
        "table {table}: column `{column}` is a generated column; Squall cannot evaluate `{expr}`"
    )]
    GeneratedColumn {
        table: String,
        column: String,
        expr: String,
    },
    #[error("table {table}: column `{column}`: {source}")]
    UnsupportedCollation {
        table: String,
        column: String,
        source: crate::collation::UnsupportedCollation,
    },
    #[error("table {table}: {reason}")]
    BadSchema { table: String, reason: String },
    #[error("row has {got} values, table {table} has {want} columns")]
    WrongColumnCount {
        table: String,
        got: usize,
        want: usize,
    },
    #[error("column `{column}`: handle value {value} is not an integer")]
    BadIntHandle { column: String, value: String },
}
