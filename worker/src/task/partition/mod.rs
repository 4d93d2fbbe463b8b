//! Which partition (physical table) a row of a partitioned table goes to,
//! as TiDB's `locatePartition` decides:
//! * RANGE (expr): the first partition whose bound is above the value;
//!   NULL goes to the first partition.
//! * RANGE COLUMNS (a, b, ...): the same on the column tuple, compared
//!   column by column (strings under the column's collation), MAXVALUE
//!   above everything.
//! * LIST (expr) / LIST COLUMNS: the partition listing the value (NULL
//!   included), else the DEFAULT partition.
//! * HASH (expr): `|value mod n|` on the value as a signed 64-bit integer;
//!   NULL goes to partition 0. `LINEAR` is ignored, as in TiDB.
//! * KEY (cols): CRC-32 (IEEE) over each column's hash key (the collation
//!   key of its text; a single 0 byte for NULL), mod n.
//!
//! A row that fits no partition gets TiDB's error ("Table has no partition
//! for value ...") and is skipped under the error budget. Bounds are
//! evaluated once, on the first row, with the job's converter (its time
//! zone reads `UNIX_TIMESTAMP('...')` bounds as TiDB did at CREATE TABLE).

mod eval;
mod keyhash;

use std::cmp::Ordering;
use std::sync::OnceLock;

use squall_codec::collation::Collation;
use squall_codec::{Converter, Datum, ValueForm};
use squall_common::checkpoint::PartitionRecord;
use squall_common::schema::{
    PartitionBound, PartitionExpr, PartitionMethod, PartitionScheme, TableInfo,
};

use eval::{eval, int, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("table {table} is partitioned by {kind} ({expr}): {reason}")]
pub struct RouteError {
    pub table: String,
    pub kind: String,
    pub expr: String,
    pub reason: String,
}

#[derive(Debug)]
pub struct PartitionRouter {
    table: TableInfo,
    /// Physical table IDs, one per partition, in declaration order.
    ids: Vec<i64>,
    kind: String,
    expr: String,
    scheme: Option<PartitionScheme>,
    /// Offsets of the `COLUMNS`/`KEY` columns.
    columns: Vec<usize>,
    bounds: OnceLock<Result<Bounds, String>>,
}

/// Bounds evaluated to values.
#[derive(Debug)]
enum Bounds {
    /// RANGE: `None` is MAXVALUE.
    Range(Vec<Option<i128>>),
    /// RANGE COLUMNS: per partition, per column; `None` is MAXVALUE.
    RangeColumns(Vec<Vec<Option<Datum>>>),
    /// LIST / LIST COLUMNS: per partition, its tuples (`None`: DEFAULT).
    List(Vec<Option<Vec<Vec<Datum>>>>),
    Numbered,
}

impl PartitionRouter {
    pub fn new(table: &TableInfo, partition: Option<&PartitionRecord>) -> Self {
        let p = partition.filter(|p| !p.partitions.is_empty());
        let columns = p
            .and_then(|p| p.scheme.as_ref())
            .map(|s| {
                s.columns
                    .iter()
                    .filter_map(|c| table.column_by_name(c).map(|c| c.offset))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            table: table.clone(),
            ids: match p {
                Some(p) => p.partitions.iter().map(|(_, id)| *id).collect(),
                None => vec![table.id],
            },
            kind: p.map(|p| p.kind.clone()).unwrap_or_default(),
            expr: p.map(|p| p.expr.clone()).unwrap_or_default(),
            scheme: p.and_then(|p| p.scheme.clone()),
            columns,
            bounds: OnceLock::new(),
        }
    }

    /// Every physical table ID rows may go to.
    pub fn physical_ids(&self) -> &[i64] {
        &self.ids
    }

    fn error(&self, reason: impl Into<String>) -> RouteError {
        RouteError {
            table: self.table.qualified_name(),
            kind: self.kind.clone(),
            expr: self.expr.clone(),
            reason: reason.into(),
        }
    }

    /// Index into [`Self::physical_ids`] for `row`.
    pub fn route(&self, row: &[Datum], conv: &Converter) -> Result<usize, RouteError> {
        if self.ids.len() == 1 && self.kind.is_empty() {
            return Ok(0);
        }
        let Some(scheme) = &self.scheme else {
            return Err(self.error(
                "the job was planned by a Squall that did not record partition bounds; plan it again",
            ));
        };
        let bounds = self
            .bounds
            .get_or_init(|| self.eval_bounds(scheme, conv))
            .as_ref()
            .map_err(|e| self.error(format!("cannot evaluate the partition bounds: {e}")))?;
        let n = self.ids.len();
        match (scheme.method, bounds) {
            (PartitionMethod::Hash, _) => {
                let v = self.value(scheme, row, conv)?;
                match v {
                    Value::Null => Ok(0),
                    v => {
                        // TiDB reads the value as int64 (an unsigned BIGINT
                        // above 2^63 wraps) and takes |v mod n|.
                        let v = int(&v, "HASH").map_err(|e| self.error(e))? as i64;
                        Ok((v % n as i64).unsigned_abs() as usize)
                    }
                }
            }
            (PartitionMethod::Key, _) => {
                let sum = keyhash::key_hash(&self.table, &self.columns, row)
                    .map_err(|e| self.error(e))?;
                Ok((sum % n as u32) as usize)
            }
            (PartitionMethod::Range, Bounds::Range(bs)) => {
                let v = self.value(scheme, row, conv)?;
                let v = match v {
                    Value::Null => return Ok(0),
                    v => int(&v, "RANGE").map_err(|e| self.error(e))?,
                };
                bs.iter()
                    .position(|b| b.is_none_or(|b| v < b))
                    .ok_or_else(|| self.no_partition(&v.to_string()))
            }
            (PartitionMethod::RangeColumns, Bounds::RangeColumns(bs)) => {
                for (i, bound) in bs.iter().enumerate() {
                    if self.tuple_below(row, bound)? {
                        return Ok(i);
                    }
                }
                Err(self.no_partition(&self.describe_columns(row)))
            }
            (PartitionMethod::List | PartitionMethod::ListColumns, Bounds::List(parts)) => {
                let key: Vec<Datum> = if scheme.method == PartitionMethod::List {
                    match self.value(scheme, row, conv)? {
                        Value::Null => vec![Datum::Null],
                        v => vec![Datum::Int(
                            int(&v, "LIST").map_err(|e| self.error(e))? as i64
                        )],
                    }
                } else {
                    self.columns.iter().map(|&c| row[c].clone()).collect()
                };
                let mut default = None;
                for (i, p) in parts.iter().enumerate() {
                    match p {
                        None => default = default.or(Some(i)),
                        Some(tuples) => {
                            if tuples
                                .iter()
                                .any(|t| self.tuple_equal(&key, t, scheme.method))
                            {
                                return Ok(i);
                            }
                        }
                    }
                }
                default.ok_or_else(|| {
                    self.no_partition(&key.iter().map(show).collect::<Vec<_>>().join(", "))
                })
            }
            _ => Err(self.error("the partition bounds do not fit the method")),
        }
    }

    fn no_partition(&self, value: &str) -> RouteError {
        self.error(format!(
            "Table has no partition for value {value} (TiDB error 1526); add a partition for it or leave the row out"
        ))
    }

    fn value(
        &self,
        scheme: &PartitionScheme,
        row: &[Datum],
        conv: &Converter,
    ) -> Result<Value, RouteError> {
        let e = scheme
            .expr
            .as_ref()
            .ok_or_else(|| self.error("no partitioning expression"))?;
        eval(e, &self.table, Some(row), conv).map_err(|e| self.error(e))
    }

    fn eval_bounds(&self, s: &PartitionScheme, conv: &Converter) -> Result<Bounds, String> {
        let constant = |e: &PartitionExpr| -> Result<Option<i128>, String> {
            match e {
                PartitionExpr::MaxValue => Ok(None),
                e => match eval(e, &self.table, None, conv)? {
                    Value::Int(v) => Ok(Some(v)),
                    other => Err(format!("bound {e} is not an integer ({other:?})")),
                },
            }
        };
        let column_value = |k: usize, e: &PartitionExpr| -> Result<Option<Datum>, String> {
            let off = *self
                .columns
                .get(k)
                .ok_or("more bound values than columns")?;
            let col = &self.table.columns[off];
            let (text, form) = match e {
                PartitionExpr::MaxValue => return Ok(None),
                PartitionExpr::Null => return Ok(Some(Datum::Null)),
                PartitionExpr::Number(n) => (n.clone(), ValueForm::Number),
                PartitionExpr::Str(s) => (s.clone(), ValueForm::Text),
                other => match eval(other, &self.table, None, conv)? {
                    Value::Int(v) => (v.to_string(), ValueForm::Number),
                    v => return Err(format!("bound {other} gives {v:?}")),
                },
            };
            let mut warnings = Vec::new();
            conv.convert_as(col, Some(text.as_bytes()), form, &mut warnings)
                .map(Some)
                .map_err(|e| format!("bound {e} for column `{}`", col.name))
        };
        Ok(match s.method {
            PartitionMethod::Hash | PartitionMethod::Key => Bounds::Numbered,
            PartitionMethod::Range => Bounds::Range(
                s.bounds
                    .iter()
                    .map(|b| match b {
                        PartitionBound::LessThan(v) if v.len() == 1 => constant(&v[0]),
                        _ => Err("a RANGE partition needs VALUES LESS THAN (value)".into()),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            PartitionMethod::RangeColumns => Bounds::RangeColumns(
                s.bounds
                    .iter()
                    .map(|b| match b {
                        PartitionBound::LessThan(v) => {
                            let mut out = v
                                .iter()
                                .enumerate()
                                .map(|(k, e)| column_value(k, e))
                                .collect::<Result<Vec<_>, _>>()?;
                            // `VALUES LESS THAN MAXVALUE` on several columns.
                            out.resize(self.columns.len(), None);
                            Ok(out)
                        }
                        _ => Err("a RANGE COLUMNS partition needs VALUES LESS THAN (...)".into()),
                    })
                    .collect::<Result<_, String>>()?,
            ),
            PartitionMethod::List | PartitionMethod::ListColumns => Bounds::List(
                s.bounds
                    .iter()
                    .map(|b| match b {
                        PartitionBound::Default => Ok(None),
                        PartitionBound::In(tuples) => tuples
                            .iter()
                            .map(|t| {
                                if s.method == PartitionMethod::List {
                                    match &t[0] {
                                        PartitionExpr::Null => Ok(vec![Datum::Null]),
                                        e => match constant(e)? {
                                            Some(v) => Ok(vec![Datum::Int(v as i64)]),
                                            None => Err("MAXVALUE in a LIST".to_string()),
                                        },
                                    }
                                } else {
                                    t.iter()
                                        .enumerate()
                                        .map(|(k, e)| {
                                            column_value(k, e)?
                                                .ok_or_else(|| "MAXVALUE in a LIST".to_string())
                                        })
                                        .collect()
                                }
                            })
                            .collect::<Result<Vec<_>, _>>()
                            .map(Some),
                        _ => Err("a LIST partition needs VALUES IN (...)".into()),
                    })
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Whether the row's column tuple is below `bound` (RANGE COLUMNS).
    fn tuple_below(&self, row: &[Datum], bound: &[Option<Datum>]) -> Result<bool, RouteError> {
        for (k, b) in bound.iter().enumerate() {
            let Some(b) = b else { return Ok(true) };
            let off = self.columns[k];
            match self.compare(off, &row[off], b)? {
                Ordering::Less => return Ok(true),
                Ordering::Greater => return Ok(false),
                Ordering::Equal => {}
            }
        }
        Ok(false)
    }

    fn tuple_equal(&self, key: &[Datum], tuple: &[Datum], method: PartitionMethod) -> bool {
        if method == PartitionMethod::List {
            return key == tuple;
        }
        key.len() == tuple.len()
            && self
                .columns
                .iter()
                .zip(key.iter().zip(tuple))
                .all(|(&off, (a, b))| matches!(self.compare(off, a, b), Ok(Ordering::Equal)))
    }

    /// Compares two values of column `off`: NULL first, strings by their
    /// collation's sort keys.
    fn compare(&self, off: usize, a: &Datum, b: &Datum) -> Result<Ordering, RouteError> {
        let ft = &self.table.columns[off].field_type;
        Ok(match (a, b) {
            (Datum::Null, Datum::Null) => Ordering::Equal,
            (Datum::Null, _) => Ordering::Less,
            (_, Datum::Null) => Ordering::Greater,
            (Datum::Int(x), Datum::Int(y)) => x.cmp(y),
            (Datum::Uint(x), Datum::Uint(y)) => x.cmp(y),
            (Datum::Int(x), Datum::Uint(y)) => i128::from(*x).cmp(&i128::from(*y)),
            (Datum::Uint(x), Datum::Int(y)) => i128::from(*x).cmp(&i128::from(*y)),
            (Datum::Decimal(x), Datum::Decimal(y)) => x.cmp(y),
            (Datum::Time(x), Datum::Time(y)) => x.to_packed().cmp(&y.to_packed()),
            (Datum::Duration(x), Datum::Duration(y)) => x.nanos.cmp(&y.nanos),
            (Datum::Bytes(x), Datum::Bytes(y)) => {
                let c = Collation::from_name(&ft.collate).map_err(|e| self.error(e.to_string()))?;
                c.key_of(x).cmp(&c.key_of(y))
            }
            (x, y) => {
                return Err(self.error(format!(
                    "cannot compare {} with the bound {}",
                    show(x),
                    show(y)
                )))
            }
        })
    }

    fn describe_columns(&self, row: &[Datum]) -> String {
        self.columns
            .iter()
            .map(|&c| show(&row[c]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn show(d: &Datum) -> String {
    squall_codec::datum_codec::describe_datum(d)
}

#[cfg(test)]
mod tests;
