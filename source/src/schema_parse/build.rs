//! Table definitions to TiDB's table model: column IDs 1..n, the handle
//! (clustered int PK, clustered common handle, or `_tidb_rowid`), and index
//! IDs 1..m in the order TiDB allocates them for a new table (table-level
//! constraints first, then column-level ones in column order).

use squall_common::schema::{
    ColumnDefault, ColumnInfo, HandleKind, IndexColumn, IndexInfo, RowIdSharding, TableInfo,
};

use super::grammar::{ColumnDef, Constraint, ConstraintKind, PartitionDef, TableDef};
use super::types::{check_default, field_type, CharsetScope};
use super::{ParsedTable, PartitionInfo, PartitionSpec};

/// A build error: byte offset of the offending definition and reason.
pub(crate) type BuildError = (usize, String, bool);

pub(crate) fn schema_err(offset: usize, reason: impl Into<String>) -> BuildError {
    (offset, reason.into(), false)
}

pub(crate) fn unsupported(offset: usize, reason: impl Into<String>) -> BuildError {
    (offset, reason.into(), true)
}

pub(crate) fn build_table(
    def: TableDef,
    db: &str,
    name: &str,
    db_scope: &CharsetScope,
) -> Result<ParsedTable, BuildError> {
    if def.name != name {
        tracing::debug!(sql_name = %def.name, table = %name, "CREATE TABLE names another table; the file name decides");
    }
    let table_scope =
        CharsetScope::resolve(db_scope, def.charset.as_deref(), def.collate.as_deref())
            .map_err(|e| schema_err(0, e))?;
    let mut columns = Vec::with_capacity(def.columns.len());
    for (i, c) in def.columns.iter().enumerate() {
        columns.push(column(c, i, &table_scope)?);
    }
    check_unique_names(&def.columns)?;
    let qualified = format!("`{db}`.`{name}`");
    for (c, d) in columns.iter().zip(&def.columns) {
        check_generated(&qualified, c, d.offset, &columns)?;
    }
    // TiDB: table constraints first, then column constraints in column order.
    let mut constraints = def.constraints.clone();
    // Expression key parts become hidden virtual columns (after the others).
    for (offset, at) in
        super::expr_index::add_hidden_columns(&mut constraints, &mut columns, &table_scope)?
    {
        check_generated(&qualified, &columns[offset], at, &columns)?;
    }
    for c in &def.columns {
        let cols = vec![(c.name.clone(), None)];
        if c.primary {
            constraints.push(Constraint {
                kind: ConstraintKind::Primary,
                name: None,
                columns: cols.clone(),
                expressions: vec![None],
                clustered: c.clustered,
                offset: c.offset,
            });
        }
        if c.unique {
            constraints.push(Constraint {
                kind: ConstraintKind::Unique,
                name: None,
                columns: cols,
                expressions: vec![None],
                clustered: None,
                offset: c.offset,
            });
        }
    }
    let handle = handle_kind(&constraints, &columns)?;
    let indices = indices(&constraints, &mut columns, handle)?;
    check_auto_random(&columns, handle, &def)?;
    let row_ids = row_id_sharding(&def, handle)?;
    if let Some(p) = &def.partition {
        check_partition(p, &columns)?;
    }
    let partition = def.partition.map(|p| PartitionInfo {
        kind: p.kind,
        expr: p.expr,
        partitions: p
            .names
            .into_iter()
            .map(|name| PartitionSpec { name, id: 0 })
            .collect(),
        scheme: Some(p.scheme),
    });
    Ok(ParsedTable {
        info: TableInfo {
            id: 0,
            db: db.to_string(),
            name: name.to_string(),
            columns,
            indices,
            handle,
            charset: Some(table_scope.charset),
            collate: Some(table_scope.collate),
            row_ids,
        },
        auto_increment_base: def.auto_increment,
        auto_random_base: def.auto_random_base,
        partition,
    })
}

fn column(c: &ColumnDef, i: usize, scope: &CharsetScope) -> Result<ColumnInfo, BuildError> {
    let mut ft = field_type(c, scope)
        .map_err(|e| schema_err(c.offset, format!("column `{}`: {e}", c.name)))?;
    ft.not_null = c.not_null == Some(true);
    let mut info = ColumnInfo::new(i as i64 + 1, c.name.clone(), i, ft);
    info.auto_increment = c.auto_increment;
    info.auto_random_bits = c.auto_random;
    info.comment = c.comment.clone();
    info.generated = c.generated.clone();
    info.generated_stored = c.generated_stored;
    if let Some(d) = &c.default {
        if let ColumnDefault::Literal(v) = d {
            check_default(&info.field_type, v)
                .map_err(|e| schema_err(c.default_offset, format!("column `{}`: {e}", c.name)))?;
        }
        if *d == ColumnDefault::Null && c.not_null == Some(true) {
            return Err(schema_err(
                c.default_offset,
                format!("column `{}` is NOT NULL but defaults to NULL", c.name),
            ));
        }
        info.default = d.clone();
    }
    Ok(info)
}

fn check_unique_names(cols: &[ColumnDef]) -> Result<(), BuildError> {
    for (i, c) in cols.iter().enumerate() {
        if cols[..i]
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(&c.name))
        {
            return Err(schema_err(
                c.offset,
                format!("duplicate column name `{}`", c.name),
            ));
        }
    }
    if cols.is_empty() {
        return Err(schema_err(0, "a table needs at least one column"));
    }
    Ok(())
}

fn handle_kind(
    constraints: &[Constraint],
    columns: &[ColumnInfo],
) -> Result<HandleKind, BuildError> {
    let mut pks = constraints
        .iter()
        .filter(|c| c.kind == ConstraintKind::Primary);
    let Some(pk) = pks.next() else {
        return Ok(HandleKind::RowId);
    };
    if let Some(second) = pks.next() {
        return Err(schema_err(second.offset, "multiple primary keys defined"));
    }
    let single_int = pk.columns.len() == 1
        && pk.columns[0].1.is_none()
        && find(columns, &pk.columns[0].0).is_some_and(|c| columns[c].field_type.tp.is_integer());
    Ok(match (pk.clustered, single_int) {
        (Some(false), _) => HandleKind::RowId,
        // TiDB's default (`tidb_enable_clustered_index = INT_ONLY`).
        (None | Some(true), true) => HandleKind::IntPk,
        (Some(true), false) => HandleKind::Common,
        (None, false) => HandleKind::RowId,
    })
}

fn find(columns: &[ColumnInfo], name: &str) -> Option<usize> {
    columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(name))
}

fn indices(
    constraints: &[Constraint],
    columns: &mut [ColumnInfo],
    handle: HandleKind,
) -> Result<Vec<IndexInfo>, BuildError> {
    let mut out: Vec<IndexInfo> = Vec::new();
    let mut next_id = 1;
    for c in constraints {
        let primary = c.kind == ConstraintKind::Primary;
        let mut cols = Vec::new();
        for (name, prefix) in &c.columns {
            let off = find(columns, name).ok_or_else(|| {
                schema_err(
                    c.offset,
                    format!("key column `{name}` does not exist in the table"),
                )
            })?;
            if primary {
                columns[off].field_type.not_null = true;
            }
            cols.push(IndexColumn {
                offset: off,
                name: columns[off].name.clone(),
                prefix_len: *prefix,
            });
        }
        let name = if primary {
            "PRIMARY".to_string()
        } else {
            index_name(c, &out)
        };
        if !primary && out.iter().any(|ix| ix.name.eq_ignore_ascii_case(&name)) {
            return Err(schema_err(c.offset, format!("duplicate key name `{name}`")));
        }
        // A clustered int PK is the handle itself: TiDB gives it no index ID.
        let id = if primary && handle == HandleKind::IntPk {
            0
        } else {
            next_id += 1;
            next_id - 1
        };
        out.push(IndexInfo {
            id,
            name,
            columns: cols,
            unique: primary || c.kind == ConstraintKind::Unique,
            primary,
        });
    }
    Ok(out)
}

/// An unnamed key is named after its first column (`col`, `col_2`, ...).
fn index_name(c: &Constraint, existing: &[IndexInfo]) -> String {
    if let Some(n) = &c.name {
        return n.clone();
    }
    let base = c
        .columns
        .first()
        .map(|(n, _)| n.clone())
        .unwrap_or_default();
    let taken = |n: &str| existing.iter().any(|ix| ix.name.eq_ignore_ascii_case(n));
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken(n))
        .unwrap_or(base)
}

fn check_auto_random(
    columns: &[ColumnInfo],
    handle: HandleKind,
    def: &TableDef,
) -> Result<(), BuildError> {
    for (c, d) in columns.iter().zip(&def.columns) {
        if c.auto_random_bits.is_some()
            && (handle != HandleKind::IntPk
                || c.field_type.tp != squall_common::schema::MysqlType::LongLong)
        {
            return Err(schema_err(
                d.offset,
                format!(
                    "AUTO_RANDOM column `{}` must be a clustered BIGINT primary key",
                    c.name
                ),
            ));
        }
    }
    Ok(())
}

/// `SHARD_ROW_ID_BITS`, `PRE_SPLIT_REGIONS` and AUTO_RANDOM's range bits,
/// within TiDB's limits (shard bits at most 15, range bits 32..=64).
/// `SHARD_ROW_ID_BITS` only shapes `_tidb_rowid`: TiDB refuses it with a
/// clustered primary key, so there it is ignored (with a log line).
fn row_id_sharding(def: &TableDef, handle: HandleKind) -> Result<RowIdSharding, BuildError> {
    // TiDB's `maxShardRowIDBits` / `autoid.MaxAutoRandomBits`.
    const MAX_SHARD_BITS: u32 = 15;
    let mut out = RowIdSharding::default();
    let too_many = |what: &str, n: u64| {
        schema_err(
            0,
            format!("{what} = {n}: TiDB allows at most {MAX_SHARD_BITS} shard bits"),
        )
    };
    if let Some(n) = def.shard_row_id_bits {
        if n > u64::from(MAX_SHARD_BITS) {
            return Err(too_many("SHARD_ROW_ID_BITS", n));
        }
        if handle == HandleKind::RowId {
            out.shard_row_id_bits = n as u32;
        } else if n > 0 {
            tracing::debug!(table = %def.name, "SHARD_ROW_ID_BITS on a table whose primary key is the handle: ignored, as TiDB has no _tidb_rowid there");
        }
    }
    for (c, d) in def.columns.iter().enumerate() {
        let Some(bits) = d.auto_random else { continue };
        if bits == 0 || bits > MAX_SHARD_BITS {
            return Err(schema_err(
                def.columns[c].offset,
                format!(
                    "AUTO_RANDOM({bits}) on column `{}`: the shard bits must be 1 to {MAX_SHARD_BITS}",
                    d.name
                ),
            ));
        }
        if let Some(range) = d.auto_random_range {
            if !(32..=64).contains(&range) || range <= bits + 1 {
                return Err(schema_err(
                    d.offset,
                    format!(
                        "AUTO_RANDOM({bits}, {range}) on column `{}`: the range bits must be 32 to 64 and above the shard bits",
                        d.name
                    ),
                ));
            }
            out.auto_random_range_bits = Some(range);
        }
    }
    if let Some(n) = def.pre_split_regions {
        // TiDB caps it at the shard bits (it only splits at shard boundaries).
        out.pre_split_regions = n.min(u64::from(MAX_SHARD_BITS)) as u32;
    }
    Ok(out)
}

/// Refuses, at planning time, a partitioning the worker cannot route: an
/// unknown column or function, or bounds that do not fit the method.
fn check_partition(p: &PartitionDef, columns: &[ColumnInfo]) -> Result<(), BuildError> {
    use squall_common::schema::{PartitionBound as B, PartitionExpr as E, PartitionMethod as M};
    let s = &p.scheme;
    let refuse = |reason: String| {
        unsupported(
            p.offset,
            format!("PARTITION BY {} ({}): {reason}", p.kind, p.expr),
        )
    };
    for c in &s.columns {
        if find(columns, c).is_none() {
            return Err(refuse(format!("column `{c}` is not in the table")));
        }
    }
    fn walk(e: &E, columns: &[ColumnInfo], bad: &mut Option<String>) {
        match e {
            E::Column(c) if find(columns, c).is_none() => {
                *bad = Some(format!("column `{c}` is not in the table"));
            }
            E::Call(name, args) => {
                if !super::partition::FUNCTIONS.contains(&name.as_str()) {
                    *bad = Some(format!(
                        "function {name} cannot be evaluated by Squall (it evaluates {})",
                        super::partition::FUNCTIONS.join(", ")
                    ));
                }
                args.iter().for_each(|a| walk(a, columns, bad));
            }
            E::Binary(op, l, r) => {
                if !matches!(op.as_str(), "+" | "-" | "*" | "/" | "DIV" | "MOD") {
                    *bad = Some(format!("operator `{op}` cannot be routed by Squall"));
                }
                walk(l, columns, bad);
                walk(r, columns, bad);
            }
            E::Neg(x) => walk(x, columns, bad),
            _ => {}
        }
    }
    let mut bad = None;
    if let Some(e) = &s.expr {
        walk(e, columns, &mut bad);
    }
    for b in &s.bounds {
        match b {
            B::LessThan(vs) => vs.iter().for_each(|v| walk(v, columns, &mut bad)),
            B::In(ts) => ts.iter().flatten().for_each(|v| walk(v, columns, &mut bad)),
            _ => {}
        }
    }
    if let Some(reason) = bad {
        return Err(refuse(reason));
    }
    let want_cols = match s.method {
        M::RangeColumns | M::ListColumns => s.columns.len(),
        _ => 1,
    };
    for (name, b) in p.names.iter().zip(&s.bounds) {
        let ok = match (s.method, b) {
            (M::Range | M::RangeColumns, B::LessThan(vs)) => {
                vs.len() == want_cols || vs == &[E::MaxValue]
            }
            (M::List | M::ListColumns, B::In(ts)) => ts.iter().all(|t| t.len() == want_cols),
            (M::List | M::ListColumns, B::Default) => true,
            (M::Hash | M::Key, B::Numbered) => true,
            _ => false,
        };
        if !ok {
            return Err(refuse(format!(
                "partition `{name}` has a bound that does not fit the method"
            )));
        }
    }
    if s.method == M::Key && s.columns.is_empty() {
        return Err(refuse(
            "KEY () on the primary key: name the key columns".into(),
        ));
    }
    Ok(())
}

/// Refuses, at planning time, a generated column whose expression the
/// worker cannot evaluate: it names the column, the expression and why.
fn check_generated(
    table: &str,
    col: &ColumnInfo,
    offset: usize,
    columns: &[ColumnInfo],
) -> Result<(), BuildError> {
    use squall_common::schema::PartitionExpr as E;
    let Some(text) = &col.generated else {
        return Ok(());
    };
    let refuse = |why: String| {
        unsupported(
            offset,
            format!(
                "table {table}, generated column `{}` AS ({text}): {why}; Squall evaluates {}, \
                 + - * DIV MOD and comparisons",
                col.name,
                super::partition::GENERATED_FUNCTIONS.join(", ")
            ),
        )
    };
    let expr = super::partition::parse_expression(text).map_err(&refuse)?;
    fn walk(e: &E, me: &ColumnInfo, columns: &[ColumnInfo]) -> Result<(), String> {
        match e {
            E::Column(c) => match find(columns, c) {
                None => Err(format!("column `{c}` is not in the table")),
                Some(i) if columns[i].generated.is_some() && columns[i].offset >= me.offset => Err(
                    format!("it refers to generated column `{c}` defined at or after it"),
                ),
                Some(_) => Ok(()),
            },
            E::Call(name, args) => {
                if !super::partition::GENERATED_FUNCTIONS.contains(&name.as_str()) {
                    return Err(format!("function {name} cannot be evaluated by Squall"));
                }
                args.iter().try_for_each(|a| walk(a, me, columns))
            }
            E::Binary(op, l, r) => {
                if op == "/" {
                    return Err("`/` (decimal division) cannot be evaluated by Squall".into());
                }
                walk(l, me, columns)?;
                walk(r, me, columns)
            }
            E::Neg(x) => walk(x, me, columns),
            E::MaxValue => Err("MAXVALUE is not a value".into()),
            _ => Ok(()),
        }
    }
    walk(&expr, col, columns).map_err(refuse)
}
