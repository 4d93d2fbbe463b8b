//! Columns and their MySQL types.

use serde::{Deserialize, Serialize};

/// MySQL column types, named as in TiDB's `mysql.Type*` constants. The numeric
/// value is the MySQL protocol type code, which TiDB also uses internally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MysqlType {
    Decimal = 0,
    Tiny = 1,
    Short = 2,
    Long = 3,
    Float = 4,
    Double = 5,
    Null = 6,
    Timestamp = 7,
    LongLong = 8,
    Int24 = 9,
    Date = 10,
    Duration = 11,
    Datetime = 12,
    Year = 13,
    Varchar = 15,
    Bit = 16,
    Json = 245,
    NewDecimal = 246,
    Enum = 247,
    Set = 248,
    TinyBlob = 249,
    MediumBlob = 250,
    LongBlob = 251,
    Blob = 252,
    VarString = 253,
    String = 254,
}

impl MysqlType {
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Self::Tiny | Self::Short | Self::Int24 | Self::Long | Self::LongLong | Self::Year
        )
    }

    pub fn is_string_like(self) -> bool {
        matches!(
            self,
            Self::Varchar
                | Self::VarString
                | Self::String
                | Self::TinyBlob
                | Self::MediumBlob
                | Self::LongBlob
                | Self::Blob
        )
    }

    pub fn is_time(self) -> bool {
        matches!(self, Self::Date | Self::Datetime | Self::Timestamp)
    }
}

/// The character sets Squall understands for column data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Charset {
    Utf8mb4,
    Utf8,
    Binary,
    Latin1,
    Ascii,
    Gbk,
    Gb18030,
}

impl Charset {
    /// Parses a MySQL charset name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "utf8mb4" => Self::Utf8mb4,
            "utf8" | "utf8mb3" => Self::Utf8,
            "binary" => Self::Binary,
            "latin1" => Self::Latin1,
            "ascii" => Self::Ascii,
            "gbk" => Self::Gbk,
            "gb18030" => Self::Gb18030,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8mb4 => "utf8mb4",
            Self::Utf8 => "utf8",
            Self::Binary => "binary",
            Self::Latin1 => "latin1",
            Self::Ascii => "ascii",
            Self::Gbk => "gbk",
            Self::Gb18030 => "gb18030",
        }
    }

    /// The collation MySQL picks when a column names only the charset.
    pub fn default_collation(self) -> &'static str {
        match self {
            Self::Utf8mb4 => "utf8mb4_bin",
            Self::Utf8 => "utf8_bin",
            Self::Binary => "binary",
            Self::Latin1 => "latin1_bin",
            Self::Ascii => "ascii_bin",
            Self::Gbk => "gbk_bin",
            Self::Gb18030 => "gb18030_bin",
        }
    }
}

/// A column's type with its attributes, like TiDB's `types.FieldType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldType {
    pub tp: MysqlType,
    /// Display width / max length in characters (`-1` = unspecified, TiDB's `UnspecifiedLength`).
    pub flen: i32,
    /// Scale for DECIMAL, fractional seconds precision for time types (`-1` = unspecified).
    pub decimal: i32,
    pub unsigned: bool,
    pub not_null: bool,
    pub charset: Charset,
    /// Collation name, lower case (`utf8mb4_bin`, `utf8mb4_general_ci`, `binary`, ...).
    pub collate: String,
    /// Members of ENUM and SET, in declaration order.
    pub elems: Vec<String>,
}

impl FieldType {
    /// A type with no length, scale or charset attributes (binary collation).
    pub fn new(tp: MysqlType) -> Self {
        Self {
            tp,
            flen: -1,
            decimal: -1,
            unsigned: false,
            not_null: false,
            charset: Charset::Binary,
            collate: "binary".to_string(),
            elems: Vec::new(),
        }
    }

    /// True when comparisons of this column go through a collation other
    /// than plain bytes, i.e. index keys hold sort keys and TiDB stores
    /// restored data in the index value.
    pub fn has_non_binary_collation(&self) -> bool {
        self.tp.is_string_like() || matches!(self.tp, MysqlType::Enum | MysqlType::Set)
    }
}

/// What a column holds when the source does not give a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnDefault {
    /// No DEFAULT clause: NULL for nullable columns, an error (strict) or the
    /// type's zero value (non-strict) for NOT NULL columns.
    None,
    Null,
    /// A literal default as written in the schema (unquoted text).
    Literal(String),
    /// `CURRENT_TIMESTAMP` / `NOW()`: the job's start time.
    CurrentTimestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// Column ID as TiDB assigns it (1-based, in declaration order for a new table).
    pub id: i64,
    pub name: String,
    /// Position in the table's column list (0-based).
    pub offset: usize,
    pub field_type: FieldType,
    pub default: ColumnDefault,
    pub auto_increment: bool,
    /// `AUTO_RANDOM(shard_bits)` on a bigint primary key.
    pub auto_random_bits: Option<u32>,
    /// Expression text of a generated column (`AS (expr)`), as written.
    pub generated: Option<String>,
    /// `STORED` (kept in the row) rather than `VIRTUAL` (computed on read,
    /// left out of the row, present in indexes that use it).
    #[serde(default)]
    pub generated_stored: bool,
    pub comment: String,
}

impl ColumnInfo {
    pub fn new(id: i64, name: impl Into<String>, offset: usize, field_type: FieldType) -> Self {
        Self {
            id,
            name: name.into(),
            offset,
            field_type,
            default: ColumnDefault::None,
            auto_increment: false,
            auto_random_bits: None,
            generated: None,
            generated_stored: false,
            comment: String::new(),
        }
    }
}
