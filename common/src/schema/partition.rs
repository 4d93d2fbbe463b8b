//! How a partitioned table spreads its rows over partitions (the parts of
//! TiDB's `model.PartitionInfo` that decide where a row goes). The source
//! crate parses it from `PARTITION BY ...`; the worker evaluates it per row.

use serde::{Deserialize, Serialize};

/// `PARTITION BY <method>`. `LINEAR HASH`/`LINEAR KEY` are `Hash`/`Key`:
/// TiDB parses `LINEAR` and ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionMethod {
    Range,
    RangeColumns,
    List,
    ListColumns,
    Hash,
    Key,
}

/// A partitioning scheme: the method, what it is computed from, and each
/// partition's bound, in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionScheme {
    pub method: PartitionMethod,
    /// `RANGE (e)`, `LIST (e)`, `HASH (e)`: the expression.
    pub expr: Option<PartitionExpr>,
    /// `RANGE COLUMNS (a, b)`, `LIST COLUMNS (a)`, `KEY (a)`: column names.
    pub columns: Vec<String>,
    /// One per partition.
    pub bounds: Vec<PartitionBound>,
}

/// What one partition holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionBound {
    /// HASH and KEY partitions: chosen by number.
    Numbered,
    /// `VALUES LESS THAN (v, ...)`: one value per column (or one for RANGE).
    LessThan(Vec<PartitionExpr>),
    /// `VALUES IN (v, ...)` / `VALUES IN ((a, b), ...)`: the listed tuples.
    In(Vec<Vec<PartitionExpr>>),
    /// `DEFAULT` partition of a LIST table.
    Default,
}

/// A partitioning expression or bound value, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionExpr {
    Column(String),
    /// A number as written (`12`, `-3`, `1.5`).
    Number(String),
    Str(String),
    Null,
    MaxValue,
    /// `NAME(args)`, name upper-cased.
    Call(String, Vec<PartitionExpr>),
    /// `l op r` with op one of `+ - * / DIV MOD %`.
    Binary(String, Box<PartitionExpr>, Box<PartitionExpr>),
    /// `-e`.
    Neg(Box<PartitionExpr>),
}

impl std::fmt::Display for PartitionExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Column(c) => write!(f, "`{c}`"),
            Self::Number(n) => write!(f, "{n}"),
            Self::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Self::Null => write!(f, "NULL"),
            Self::MaxValue => write!(f, "MAXVALUE"),
            Self::Call(name, args) => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{a}")?;
                }
                write!(f, ")")
            }
            Self::Binary(op, l, r) => write!(f, "({l} {op} {r})"),
            Self::Neg(e) => write!(f, "-{e}"),
        }
    }
}
