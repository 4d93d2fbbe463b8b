#!/usr/bin/env python3
"""Writes the Parquet files of tests/tests/import_parquet.rs with pyarrow
(another implementation than the reader under test), with the table schema
and the values MySQL shows for each row, written by hand here.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyarrow
    /tmp/venv/bin/python tests/data/parquet/make.py

Outputs, beside this script:
  pq-schema-create.sql, pq.t-schema.sql   the database and table
  pq.t.parquet                            every mapped type, NULLs, 4 row groups
  pq.t.expected.json                      [{column: text or null}] per row, by id
  pq.legacy-schema.sql, pq.legacy.parquet INT96 timestamps and strings as plain
                                          BYTE_ARRAY (Hive, Impala), 2 row groups
  pq.legacy.expected.json
  pq.nested.parquet                       a list column (refused, naming it)
  pq.req.parquet                          2000 rows, required columns, 3 row groups, gzip
"""
import datetime as dt
import decimal as dec
import json
import os
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
D = dec.Decimal
UTC = dt.timezone.utc

# (name, arrow type, MySQL column type, [(python value, MySQL text)] per row).
# Row i of every column is row i of the table; None is NULL in both.
ROWS = 10


def col(name, typ, sql, cells):
    assert len(cells) == ROWS, name
    return (name, typ, sql, cells)


def nulls(cells, every=3):
    """Every `every`-th row (from row 1) NULL."""
    return [(None, None) if i % every == 1 else c for i, c in enumerate(cells)]


ints = list(range(1, ROWS + 1))
COLUMNS = [
    col("id", pa.int64(), "BIGINT NOT NULL PRIMARY KEY", [(i, str(i)) for i in ints]),
    col("i8", pa.int8(), "TINYINT", nulls([(v, str(v)) for v in [-128, 127, 0, -1, 5, 6, 7, 8, 9, 10]])),
    col("i16", pa.int16(), "SMALLINT", nulls([(v, str(v)) for v in [-32768, 32767, 0, 1, 2, 3, 4, 5, 6, 7]])),
    col("i32", pa.int32(), "INT", nulls([(v, str(v)) for v in [-2**31, 2**31 - 1, 0, 1, 2, 3, 4, 5, 6, 7]])),
    col("i64", pa.int64(), "BIGINT", nulls([(v, str(v)) for v in [-2**63, 2**63 - 1, 0, 1, 2, 3, 4, 5, 6, 7]])),
    col("u8", pa.uint8(), "TINYINT UNSIGNED", nulls([(v, str(v)) for v in [255, 0, 1, 2, 3, 4, 5, 6, 7, 8]])),
    col("u16", pa.uint16(), "SMALLINT UNSIGNED", nulls([(v, str(v)) for v in [65535, 0, 1, 2, 3, 4, 5, 6, 7, 8]])),
    col("u32", pa.uint32(), "INT UNSIGNED", nulls([(v, str(v)) for v in [2**32 - 1, 0, 2**31, 2, 3, 4, 5, 6, 7, 8]])),
    col("u64", pa.uint64(), "BIGINT UNSIGNED", nulls([(v, str(v)) for v in [2**64 - 1, 0, 2**63, 2, 3, 4, 5, 6, 7, 8]])),
    col("b", pa.bool_(), "TINYINT(1)", nulls([(v, str(int(v))) for v in [True, False] * 5])),
    col("f32", pa.float32(), "FLOAT", nulls([(v, t) for v, t in [
        (1.5, "1.5"), (-0.25, "-0.25"), (0.1, "0.1"), (3.4e38, "3.4e38"), (0.0, "0"),
        (100.0, "100"), (-7.75, "-7.75"), (1e-10, "1e-10"), (2.5, "2.5"), (42.0, "42")]])),
    col("f64", pa.float64(), "DOUBLE", nulls([(v, t) for v, t in [
        (0.1, "0.1"), (-1.7976931348623157e308, "-1.7976931348623157e308"), (1e-300, "1e-300"),
        (123456789.125, "123456789.125"), (0.0, "0"), (2.0, "2"), (-3.5, "-3.5"),
        (1e21, "1e21"), (5e-324, "5e-324"), (7.0, "7")]])),
    # Stored as INT32, INT64 (store_decimal_as_integer) and FIXED_LEN_BYTE_ARRAY.
    col("dec9", pa.decimal128(9, 2), "DECIMAL(9,2)", nulls([(D(t), t) for t in [
        "1234567.89", "-1234567.89", "0.00", "0.01", "-0.50", "1.00", "2.20", "3.33", "4.40", "5.55"]])),
    col("dec18", pa.decimal128(18, 6), "DECIMAL(18,6)", nulls([(D(t), t) for t in [
        "999999999999.999999", "-999999999999.999999", "0.000001", "1.000000", "2.500000",
        "3.000000", "4.000000", "5.000000", "6.000000", "7.000000"]])),
    col("dec38", pa.decimal128(38, 10), "DECIMAL(38,10)", nulls([(D(t), t) for t in [
        "9999999999999999999999999999.9999999999", "-9999999999999999999999999999.9999999999",
        "0.0000000001", "1.0000000000", "2.0000000000", "3.0000000000", "4.0000000000",
        "5.0000000000", "6.0000000000", "7.0000000000"]])),
    col("dec65", pa.decimal256(65, 30), "DECIMAL(65,30)", nulls([(D(t), t) for t in [
        "12345678901234567890123456789012345.123456789012345678901234567890",
        "-99999999999999999999999999999999999.999999999999999999999999999999",
        "0.000000000000000000000000000001", "1.000000000000000000000000000000",
        "2.000000000000000000000000000000", "3.000000000000000000000000000000",
        "4.000000000000000000000000000000", "5.000000000000000000000000000000",
        "6.000000000000000000000000000000", "7.000000000000000000000000000000"]])),
    col("d", pa.date32(), "DATE", nulls([(dt.date.fromisoformat(t), t) for t in [
        "1000-01-01", "9999-12-31", "1970-01-01", "1969-12-31", "2024-02-29",
        "2000-01-01", "2001-02-03", "2010-10-10", "2020-12-31", "2023-06-15"]])),
    col("t_ms", pa.time32("ms"), "TIME(3)", nulls([(dt.time.fromisoformat(t), t) for t in [
        "00:00:00.000", "23:59:59.999", "12:34:56.789", "01:02:03.004", "10:00:00.000",
        "11:00:00.500", "12:00:00.000", "13:00:00.000", "14:00:00.000", "15:00:00.000"]])),
    col("t_us", pa.time64("us"), "TIME(6)", nulls([(dt.time.fromisoformat(t), t) for t in [
        "00:00:00.000001", "23:59:59.999999", "12:34:56.789012", "01:02:03.000004", "10:00:00.000000",
        "11:00:00.500000", "12:00:00.000000", "13:00:00.000000", "14:00:00.000000", "15:00:00.000000"]])),
    # Local (not adjusted to UTC) timestamps: the wall time as written.
    col("ts_ms", pa.timestamp("ms"), "DATETIME(3)", nulls([(dt.datetime.fromisoformat(t), t) for t in [
        "1000-01-01 00:00:00.000", "9999-12-31 23:59:59.999", "1970-01-01 00:00:00.000",
        "1969-12-31 23:59:59.999", "2024-02-29 12:00:00.123", "2000-01-01 00:00:00.000",
        "2001-02-03 04:05:06.007", "2010-10-10 10:10:10.100", "2020-12-31 23:59:59.000",
        "2023-06-15 08:30:00.250"]])),
    col("ts_us", pa.timestamp("us"), "DATETIME(6)", nulls([(dt.datetime.fromisoformat(t), t) for t in [
        "1000-01-01 00:00:00.000000", "9999-12-31 23:59:59.999999", "1970-01-01 00:00:00.000001",
        "1969-12-31 23:59:59.999999", "2024-02-29 12:00:00.123456", "2000-01-01 00:00:00.000000",
        "2001-02-03 04:05:06.000007", "2010-10-10 10:10:10.100000", "2020-12-31 23:59:59.000000",
        "2023-06-15 08:30:00.250000"]])),
    # Nanoseconds: whole microseconds here (MySQL keeps 6 digits).
    col("ts_ns", pa.timestamp("ns"), "DATETIME(6)", nulls([(dt.datetime.fromisoformat(t), t) for t in [
        "1970-01-01 00:00:00.000000", "2262-04-11 23:47:16.854775", "1677-09-21 00:12:43.145225",
        "2024-02-29 12:00:00.123456", "2000-01-01 00:00:00.000001", "2001-02-03 04:05:06.000007",
        "2010-10-10 10:10:10.100000", "2020-12-31 23:59:59.000000", "2023-06-15 08:30:00.250000",
        "1999-12-31 23:59:59.999999"]])),
    # Instants (adjusted to UTC), into TIMESTAMP: shown in the session zone (UTC in the test).
    col("ts_utc", pa.timestamp("us", tz="UTC"), "TIMESTAMP(6) NULL", nulls([
        (dt.datetime.fromisoformat(t).replace(tzinfo=UTC), t) for t in [
            "1970-01-01 00:00:01.000000", "2038-01-19 03:14:07.999999", "2024-02-29 12:00:00.123456",
            "2000-01-01 00:00:00.000000", "2001-02-03 04:05:06.000007", "2010-10-10 10:10:10.100000",
            "2020-12-31 23:59:59.000000", "2023-06-15 08:30:00.250000", "1999-12-31 23:59:59.999999",
            "2005-05-05 05:05:05.050505"]])),
    # An instant written in another zone: the file holds UTC, shown in UTC.
    col("ts_sh", pa.timestamp("ms", tz="Asia/Shanghai"), "TIMESTAMP(3) NULL", nulls([
        (dt.datetime.fromisoformat(s).replace(tzinfo=dt.timezone(dt.timedelta(hours=8))), t) for s, t in [
            ("2024-01-01 08:00:00.000", "2024-01-01 00:00:00.000"),
            ("2024-01-01 07:59:59.999", "2023-12-31 23:59:59.999"),
            ("2000-06-15 20:30:00.500", "2000-06-15 12:30:00.500"),
            ("1990-01-01 08:00:00.000", "1990-01-01 00:00:00.000"),
            ("2010-01-01 08:00:00.001", "2010-01-01 00:00:00.001"),
            ("2011-01-01 08:00:00.000", "2011-01-01 00:00:00.000"),
            ("2012-01-01 08:00:00.000", "2012-01-01 00:00:00.000"),
            ("2013-01-01 08:00:00.000", "2013-01-01 00:00:00.000"),
            ("2014-01-01 08:00:00.000", "2014-01-01 00:00:00.000"),
            ("2015-01-01 08:00:00.000", "2015-01-01 00:00:00.000")]])),
    col("s", pa.string(), "VARCHAR(64)", nulls([(t, t) for t in [
        "", "hello", "中文 ünïcödé", "😀 4-byte", "quote ' \" \\ back", "comma, and\nnewline",
        "tab\there", "NULL", "\\N", "end"]])),
    col("ls", pa.large_string(), "TEXT", nulls([(t, t) for t in ["x" * 300, "y", "", "z", "a", "b", "c", "d", "e", "f"]])),
    col("bin", pa.binary(), "VARBINARY(300)", nulls([(v, "0x" + v.hex().upper()) for v in [
        bytes(range(256)), b"", b"\x00", b"\xff\xfe", b"abc", b"\x80", b"\x01\x02", b"\x5c", b"\x27", b"\x22"]])),
    col("fbin", pa.binary(4), "BINARY(4)", nulls([(v, "0x" + v.hex().upper()) for v in [
        b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"abcd", b"\x00\x01\x02\x03", b"wxyz",
        b"1234", b"\x80\x81\x82\x83", b"    ", b"\\\\\\\\", b"''''"]])),
    col("f16", pa.float16(), "FLOAT", nulls([(v, t) for v, t in [
        (1.5, "1.5"), (-2.0, "-2"), (0.0, "0"), (65504.0, "65504"), (0.25, "0.25"),
        (1.0, "1"), (2.0, "2"), (3.0, "3"), (4.0, "4"), (5.0, "5")]])),
    col("u", pa.uuid(), "CHAR(36)", nulls([(uuid.UUID(t).bytes, t) for t in [
        "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "123e4567-e89b-12d3-a456-426614174000", "00010203-0405-0607-0809-0a0b0c0d0e0f",
        "a0000000-0000-0000-0000-000000000001", "b0000000-0000-0000-0000-000000000002",
        "c0000000-0000-0000-0000-000000000003", "d0000000-0000-0000-0000-000000000004",
        "e0000000-0000-0000-0000-000000000005", "f0000000-0000-0000-0000-000000000006"]])),
]


def write(table, cols, **kw):
    arrays = []
    for name, typ, _, cells in cols:
        values = [v for v, _ in cells]
        if isinstance(typ, pa.ExtensionType):
            storage = pa.array(values, type=typ.storage_type)
            arrays.append(pa.ExtensionArray.from_storage(typ, storage))
        else:
            arrays.append(pa.array(values, type=typ))
    t = pa.Table.from_arrays(arrays, names=[c[0] for c in cols])
    pq.write_table(t, os.path.join(HERE, f"pq.{table}.parquet"), **kw)
    sql = ",\n  ".join(f"`{n}` {s}" for n, _, s, _ in cols)
    with open(os.path.join(HERE, f"pq.{table}-schema.sql"), "w") as f:
        f.write(f"CREATE TABLE `{table}` (\n  {sql}\n);\n")
    rows = [{n: cells[i][1] for n, _, _, cells in cols} for i in range(ROWS)]
    with open(os.path.join(HERE, f"pq.{table}.expected.json"), "w") as f:
        json.dump(rows, f, ensure_ascii=False, indent=0)
        f.write("\n")


with open(os.path.join(HERE, "pq-schema-create.sql"), "w") as f:
    f.write("CREATE DATABASE `pq`;\n")

# 3 rows per row group: 4 row groups (3, 3, 3, 1); snappy pages, dictionaries on.
write("t", COLUMNS, row_group_size=3, compression="snappy", store_decimal_as_integer=True,
      write_statistics=False)

# Hive/Impala style: INT96 instants, strings without the UTF8 annotation, zstd.
LEGACY = [
    COLUMNS[0],
    col("ts96", pa.timestamp("ns", tz="UTC"), "DATETIME(6)", nulls([
        (dt.datetime.fromisoformat(t).replace(tzinfo=UTC), t) for t in [
            "1970-01-01 00:00:00.000000", "2024-02-29 12:00:00.123456", "1900-01-01 00:00:00.000001",
            "2100-12-31 23:59:59.999999", "2000-01-01 00:00:00.000000", "2001-01-01 00:00:00.000000",
            "2002-01-01 00:00:00.000000", "2003-01-01 00:00:00.000000", "2004-01-01 00:00:00.000000",
            "2005-01-01 00:00:00.000000"]])),
    col("name", pa.binary(), "VARCHAR(64)", nulls([(t.encode(), t) for t in [
        "hive", "中文", "", "x", "y", "z", "a", "b", "c", "d"]])),
]
write("legacy", LEGACY, row_group_size=5, compression="zstd",
      use_deprecated_int96_timestamps=True, store_schema=False)

# A list column (nested): refused with the column named.
nested = pa.Table.from_arrays(
    [pa.array([1, 2], type=pa.int64()), pa.array([[1, 2], None], type=pa.list_(pa.int32()))],
    names=["id", "tags"])
pq.write_table(nested, os.path.join(HERE, "pq.nested.parquet"))

# Required (non-nullable) columns: no definition levels in the file; dictionary off, gzip pages.
req = pa.Table.from_arrays(
    [pa.array(range(1, 2001), type=pa.int32()), pa.array([f"r{i}" for i in range(1, 2001)])],
    schema=pa.schema([pa.field("id", pa.int32(), nullable=False),
                      pa.field("name", pa.string(), nullable=False)]))
pq.write_table(req, os.path.join(HERE, "pq.req.parquet"), row_group_size=700,
               use_dictionary=False, compression="gzip")
