//! One column of a row group read in batches, a value at a time, so a row
//! is assembled from all columns without holding the row group in memory.

use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{
    BoolType, ByteArrayType, DataType, DoubleType, FixedLenByteArrayType, FloatType, Int32Type,
    Int64Type, Int96Type,
};
use parquet::errors::Result;

use super::mapping::{write_decimal_bytes, write_f16, write_int, write_int96, write_uuid, Mapping};
use super::tz::ShowTz;
use crate::row::Row;

/// Values decoded per column at a time.
const BATCH: usize = 1024;

pub(crate) struct Typed<T: DataType> {
    reader: ColumnReaderImpl<T>,
    values: Vec<T::T>,
    defs: Vec<i16>,
    /// Next definition level (= next record: columns are flat) and value.
    level: usize,
    value: usize,
    /// Records in the buffers.
    records: usize,
}

impl<T: DataType> Typed<T> {
    fn new(reader: ColumnReaderImpl<T>) -> Self {
        Self {
            reader,
            values: Vec::new(),
            defs: Vec::new(),
            level: 0,
            value: 0,
            records: 0,
        }
    }

    /// The next record: `None` at the end of the column chunk, `Some(None)` a NULL.
    fn next(&mut self, max_def: i16) -> Result<Option<Option<&T::T>>> {
        if self.level == self.records {
            self.values.clear();
            self.defs.clear();
            let (records, _, _) =
                self.reader
                    .read_records(BATCH, Some(&mut self.defs), None, &mut self.values)?;
            (self.level, self.value, self.records) = (0, 0, records);
            if records == 0 {
                return Ok(None);
            }
        }
        let defined = max_def == 0 || self.defs.get(self.level).copied() == Some(max_def);
        self.level += 1;
        if !defined {
            return Ok(Some(None));
        }
        let v = self.values.get(self.value);
        self.value += 1;
        match v {
            Some(v) => Ok(Some(Some(v))),
            None => Err(parquet::errors::ParquetError::General(
                "fewer values than definition levels say".into(),
            )),
        }
    }
}

pub(crate) enum Cursor {
    Bool(Typed<BoolType>),
    Int32(Typed<Int32Type>),
    Int64(Typed<Int64Type>),
    Int96(Typed<Int96Type>),
    Float(Typed<FloatType>),
    Double(Typed<DoubleType>),
    Bytes(Typed<ByteArrayType>),
    Fixed(Typed<FixedLenByteArrayType>),
}

/// Writes the next record of `t` into field `i` of `row` with `fmt`; false
/// when the column chunk has no more records.
fn put<T: DataType>(
    t: &mut Typed<T>,
    max_def: i16,
    row: &mut Row,
    i: usize,
    fmt: impl FnOnce(&T::T, &mut Vec<u8>),
) -> Result<bool> {
    match t.next(max_def)? {
        None => Ok(false),
        Some(None) => {
            row.set_null(i);
            Ok(true)
        }
        Some(Some(v)) => {
            fmt(v, row.field_buf(i));
            Ok(true)
        }
    }
}

impl Cursor {
    pub(crate) fn new(reader: ColumnReader) -> Self {
        match reader {
            ColumnReader::BoolColumnReader(r) => Self::Bool(Typed::new(r)),
            ColumnReader::Int32ColumnReader(r) => Self::Int32(Typed::new(r)),
            ColumnReader::Int64ColumnReader(r) => Self::Int64(Typed::new(r)),
            ColumnReader::Int96ColumnReader(r) => Self::Int96(Typed::new(r)),
            ColumnReader::FloatColumnReader(r) => Self::Float(Typed::new(r)),
            ColumnReader::DoubleColumnReader(r) => Self::Double(Typed::new(r)),
            ColumnReader::ByteArrayColumnReader(r) => Self::Bytes(Typed::new(r)),
            ColumnReader::FixedLenByteArrayColumnReader(r) => Self::Fixed(Typed::new(r)),
        }
    }

    /// Reads the next value into field `i` of `row`, as `m` says; false at
    /// the end of the column chunk.
    pub(crate) fn read_into(
        &mut self,
        max_def: i16,
        m: Mapping,
        tz: &ShowTz,
        row: &mut Row,
        i: usize,
    ) -> Result<bool> {
        use std::io::Write;
        match self {
            Self::Bool(t) => put(t, max_def, row, i, |v, o| {
                o.push(if *v { b'1' } else { b'0' })
            }),
            Self::Int32(t) => put(t, max_def, row, i, |v, o| {
                write_int(m, i64::from(*v), 32, tz, o)
            }),
            Self::Int64(t) => put(t, max_def, row, i, |v, o| write_int(m, *v, 64, tz, o)),
            Self::Int96(t) => put(t, max_def, row, i, |v, o| write_int96(v.data(), tz, o)),
            Self::Float(t) => put(t, max_def, row, i, |v, o| {
                let _ = write!(o, "{v}");
            }),
            Self::Double(t) => put(t, max_def, row, i, |v, o| {
                let _ = write!(o, "{v}");
            }),
            Self::Bytes(t) => put(t, max_def, row, i, |v, o| bytes_value(m, v.data(), o)),
            Self::Fixed(t) => put(t, max_def, row, i, |v, o| bytes_value(m, v.data(), o)),
        }
    }
}

fn bytes_value(m: Mapping, b: &[u8], out: &mut Vec<u8>) {
    match m {
        Mapping::Decimal { scale } => write_decimal_bytes(b, scale, out),
        Mapping::Uuid => write_uuid(b, out),
        Mapping::Float16 => write_f16(b, out),
        _ => out.extend_from_slice(b),
    }
}
