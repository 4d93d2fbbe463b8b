//! [`TableEncoder`]: one converted row → the record KV and one KV per
//! written index, byte-exact with what TiDB (and Lightning) write.

use squall_common::schema::{ColumnInfo, HandleKind, IndexInfo, TableInfo};

use crate::collation::{trailing_space_count, Collation};
use crate::datum::Datum;
use crate::datum_codec::encode_key_datum;
use crate::error::EncodeError;
use crate::flag;
use crate::handle::Handle;
use crate::index_value::{encode_index_value_clustered_v1, encode_index_value_v0};
use crate::key::{append_index_prefix, append_record_prefix};
use crate::number::encode_int;
use crate::row_v2::{RowColumn, RowV2Encoder};
use crate::schema_rules::*;

/// Cluster settings that change the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// `new_collations_enabled_on_first_bootstrap` (on by default since TiDB 6.0).
    pub new_collation: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            new_collation: true,
        }
    }
}

/// One key/value pair to ingest. `key` is a raw TiDB key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedKv {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// `None` for the record (row) KV, the index ID for index KVs.
    pub index_id: Option<i64>,
}

#[derive(Debug, Clone)]
struct IndexColPlan {
    offset: usize,
    collation: Option<Collation>,
    need_restore: bool,
    bin_padding: bool,
    is_pk: bool,
}

#[derive(Debug, Clone)]
struct IndexPlan {
    info: IndexInfo,
    cols: Vec<IndexColPlan>,
    need_restore: bool,
}

/// Encodes rows of one table. Build once per table (it validates the schema
/// and precomputes the layout), then call [`TableEncoder::encode_row`].
#[derive(Debug)]
pub struct TableEncoder {
    table: TableInfo,
    opts: EncodeOptions,
    /// Column is never in the row value (int handle / clustered PK column).
    skip: Vec<bool>,
    omit_null: Vec<bool>,
    int_handle: Option<usize>,
    pk: Option<IndexPlan>,
    indices: Vec<IndexPlan>,
    row_enc: RowV2Encoder,
    truncated: Vec<Datum>,
}

impl TableEncoder {
    pub fn new(table: &TableInfo) -> Result<Self, EncodeError> {
        Self::with_options(table, EncodeOptions::default())
    }

    pub fn with_options(table: &TableInfo, opts: EncodeOptions) -> Result<Self, EncodeError> {
        validate_columns(table)?;
        let int_handle = match table.handle {
            HandleKind::IntPk => Some(
                table
                    .int_handle_column()
                    .map(|c| c.offset)
                    .ok_or_else(|| bad(table, "IntPk table has no primary key column"))?,
            ),
            _ => None,
        };
        let pk = match table.handle {
            HandleKind::Common => {
                let ix = table
                    .primary_index()
                    .ok_or_else(|| bad(table, "clustered table has no primary key"))?;
                Some(plan_index(table, ix, opts)?)
            }
            _ => None,
        };
        let skip = table
            .columns
            .iter()
            .map(|c| skipped_in_row(table, c, int_handle, opts))
            .collect();
        let omit_null = table.columns.iter().map(omit_when_null).collect();
        let indices = table
            .written_indices()
            .map(|ix| plan_index(table, ix, opts))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            table: table.clone(),
            opts,
            skip,
            omit_null,
            int_handle,
            pk,
            indices,
            row_enc: RowV2Encoder::default(),
            truncated: Vec::new(),
        })
    }

    /// The same encoder writing record KVs only (`squall.index-mode =
    /// "after-data"`: the indexes are built from the imported rows later).
    /// A clustered primary key is the handle and still shapes the record key.
    pub fn without_indexes(mut self) -> Self {
        self.indices.clear();
        self
    }

    pub fn table(&self) -> &TableInfo {
        &self.table
    }

    pub fn options(&self) -> EncodeOptions {
        self.opts
    }

    /// The handle of a row: `_tidb_rowid` = `row_id`, the int PK value, or
    /// the comparable encoding of the clustered PK columns.
    pub fn handle_of(&mut self, row: &[Datum], row_id: i64) -> Result<Handle, EncodeError> {
        if let Some(off) = self.int_handle {
            return match &row[off] {
                Datum::Int(v) => Ok(Handle::Int(*v)),
                Datum::Uint(v) => Ok(Handle::Int(*v as i64)),
                other => Err(EncodeError::BadIntHandle {
                    column: self.table.columns[off].name.clone(),
                    value: format!("{other:?}"),
                }),
            };
        }
        match self.pk.take() {
            Some(pk) => {
                let mut buf = Vec::with_capacity(32);
                let r = self.append_index_values(&pk, row, &mut buf);
                self.pk = Some(pk);
                r?;
                Ok(Handle::Common(buf))
            }
            None => Ok(Handle::Int(row_id)),
        }
    }

    /// Appends the record KV, then one KV per written index, to `out`.
    /// `row` holds one datum per table column in column order; `row_id` is
    /// the `_tidb_rowid` for tables without a clustered primary key.
    pub fn encode_row(
        &mut self,
        row: &[Datum],
        row_id: i64,
        out: &mut Vec<EncodedKv>,
    ) -> Result<(), EncodeError> {
        if row.len() != self.table.columns.len() {
            return Err(EncodeError::WrongColumnCount {
                table: self.table.qualified_name(),
                got: row.len(),
                want: self.table.columns.len(),
            });
        }
        let handle = self.handle_of(row, row_id)?;
        out.push(self.record_kv(row, &handle)?);
        for i in 0..self.indices.len() {
            let plan = std::mem::replace(&mut self.indices[i], empty_plan());
            let kv = self.index_kv(&plan, row, &handle);
            self.indices[i] = plan;
            out.push(kv?);
        }
        Ok(())
    }

    fn record_kv(&mut self, row: &[Datum], handle: &Handle) -> Result<EncodedKv, EncodeError> {
        let mut key = Vec::with_capacity(19);
        append_record_prefix(&mut key, self.table.id);
        handle.encode_into(&mut key);
        let cols: Vec<RowColumn<'_>> = self
            .table
            .columns
            .iter()
            .zip(row)
            .enumerate()
            .filter(|(i, (_, d))| !(self.skip[*i] || d.is_null() && self.omit_null[*i]))
            .map(|(_, (c, d))| RowColumn {
                id: c.id,
                datum: d,
                ft: &c.field_type,
            })
            .collect();
        let mut value = Vec::with_capacity(64);
        self.row_enc.encode(&cols, &mut value)?;
        Ok(EncodedKv {
            key,
            value,
            index_id: None,
        })
    }

    fn index_kv(
        &mut self,
        plan: &IndexPlan,
        row: &[Datum],
        handle: &Handle,
    ) -> Result<EncodedKv, EncodeError> {
        let mut key = Vec::with_capacity(64);
        append_index_prefix(&mut key, self.table.id, plan.info.id);
        self.append_index_values(plan, row, &mut key)?;
        let distinct = plan.info.unique && !plan.cols.iter().any(|c| row[c.offset].is_null());
        if !distinct {
            match handle {
                Handle::Int(h) => {
                    key.push(flag::INT);
                    encode_int(&mut key, *h);
                }
                Handle::Common(b) => key.extend_from_slice(b),
            }
        }
        let mut value = Vec::with_capacity(16);
        if self.table.handle == HandleKind::Common {
            let restored = self.clustered_restored_data(plan, row)?;
            encode_index_value_clustered_v1(&mut value, distinct, handle, restored.as_deref());
        } else {
            let restored = if plan.need_restore {
                Some(self.restored_v0(plan, row)?)
            } else {
                None
            };
            encode_index_value_v0(&mut value, distinct, handle, restored.as_deref());
        }
        Ok(EncodedKv {
            key,
            value,
            index_id: Some(plan.info.id),
        })
    }

    /// Index column datums after prefix truncation, into `self.truncated`.
    fn truncate_values(&mut self, plan: &IndexPlan, row: &[Datum]) {
        self.truncated.clear();
        for (c, ic) in plan.cols.iter().zip(&plan.info.columns) {
            let ft = &self.table.columns[c.offset].field_type;
            self.truncated.push(match &row[c.offset] {
                Datum::Bytes(b) if ic.prefix_len.is_some() => {
                    Datum::Bytes(truncate_prefix(b, ic, ft).to_vec())
                }
                d => d.clone(),
            });
        }
    }

    fn append_index_values(
        &mut self,
        plan: &IndexPlan,
        row: &[Datum],
        buf: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        for (c, ic) in plan.cols.iter().zip(&plan.info.columns) {
            let col = &self.table.columns[c.offset];
            let d = &row[c.offset];
            match d {
                Datum::Bytes(b) if ic.prefix_len.is_some() => {
                    let t = Datum::Bytes(truncate_prefix(b, ic, &col.field_type).to_vec());
                    encode_key_datum(buf, &t, &col.field_type, c.collation)?;
                }
                _ => encode_key_datum(buf, d, &col.field_type, c.collation)?,
            }
        }
        Ok(())
    }

    /// Version-0 restored data: the original values of all index columns.
    fn restored_v0(&mut self, plan: &IndexPlan, row: &[Datum]) -> Result<Vec<u8>, EncodeError> {
        self.truncate_values(plan, row);
        let cols: Vec<RowColumn<'_>> = plan
            .cols
            .iter()
            .zip(&self.truncated)
            .map(|(c, d)| {
                let col = &self.table.columns[c.offset];
                RowColumn {
                    id: col.id,
                    datum: d,
                    ft: &col.field_type,
                }
            })
            .collect();
        let mut out = Vec::with_capacity(32);
        self.row_enc.encode(&cols, &mut out)?;
        Ok(out)
    }

    /// Clustered v1 restored data: non-PK index columns that need it, then
    /// the PK columns that need it (`_bin` columns store their trailing-space count).
    fn clustered_restored_data(
        &mut self,
        plan: &IndexPlan,
        row: &[Datum],
    ) -> Result<Option<Vec<u8>>, EncodeError> {
        let pk_restore: Vec<&IndexColPlan> = self
            .pk
            .as_ref()
            .map(|p| p.cols.iter().filter(|c| c.need_restore).collect())
            .unwrap_or_default();
        if !plan.need_restore && pk_restore.is_empty() {
            return Ok(None);
        }
        let mut ids = Vec::new();
        let mut datums = Vec::new();
        let mut fts = Vec::new();
        self.truncate_values(plan, row);
        for (c, d) in plan.cols.iter().zip(&self.truncated) {
            if c.is_pk || !c.need_restore {
                continue;
            }
            ids.push(self.table.columns[c.offset].id);
            fts.push(c.offset);
            datums.push(restored_datum(d, c.bin_padding));
        }
        let pk = self
            .pk
            .as_ref()
            .map(|p| (p.cols.clone(), p.info.columns.clone()));
        if let Some((pk_cols, pk_ics)) = pk {
            for (c, ic) in pk_cols.iter().zip(&pk_ics) {
                if !c.need_restore {
                    continue;
                }
                let col = &self.table.columns[c.offset];
                let d = match &row[c.offset] {
                    Datum::Bytes(b) => {
                        Datum::Bytes(truncate_prefix(b, ic, &col.field_type).to_vec())
                    }
                    d => d.clone(),
                };
                ids.push(col.id);
                fts.push(c.offset);
                datums.push(restored_datum(&d, c.bin_padding));
            }
        }
        let cols: Vec<RowColumn<'_>> = ids
            .iter()
            .zip(&datums)
            .zip(&fts)
            .map(|((id, d), off)| RowColumn {
                id: *id,
                datum: d,
                ft: &self.table.columns[*off].field_type,
            })
            .collect();
        let mut out = Vec::with_capacity(32);
        self.row_enc.encode(&cols, &mut out)?;
        Ok(Some(out))
    }
}

fn restored_datum(d: &Datum, bin_padding: bool) -> Datum {
    match d {
        Datum::Bytes(b) if bin_padding => Datum::Uint(trailing_space_count(b) as u64),
        d => d.clone(),
    }
}

fn empty_plan() -> IndexPlan {
    IndexPlan {
        info: IndexInfo {
            id: 0,
            name: String::new(),
            columns: Vec::new(),
            unique: false,
            primary: false,
        },
        cols: Vec::new(),
        need_restore: false,
    }
}

fn bad(table: &TableInfo, reason: &str) -> EncodeError {
    EncodeError::BadSchema {
        table: table.qualified_name(),
        reason: reason.to_string(),
    }
}

fn validate_columns(table: &TableInfo) -> Result<(), EncodeError> {
    for (i, c) in table.columns.iter().enumerate() {
        if c.offset != i {
            return Err(bad(
                table,
                &format!(
                    "column `{}` has offset {} but is at position {i}",
                    c.name, c.offset
                ),
            ));
        }
    }
    for ix in &table.indices {
        if let Some(ic) = ix
            .columns
            .iter()
            .find(|ic| ic.offset >= table.columns.len())
        {
            return Err(bad(
                table,
                &format!(
                    "index `{}` names column offset {} past the end",
                    ix.name, ic.offset
                ),
            ));
        }
    }
    Ok(())
}

fn skipped_in_row(
    table: &TableInfo,
    col: &ColumnInfo,
    int_handle: Option<usize>,
    opts: EncodeOptions,
) -> bool {
    if int_handle == Some(col.offset) {
        return true;
    }
    // A VIRTUAL generated column is computed on read: TiDB leaves it out of
    // the row (its value is in the indexes that use it).
    if col.generated.is_some() && !col.generated_stored {
        return true;
    }
    common_handle_columns(table).iter().any(|ic| {
        ic.offset == col.offset
            && ic.prefix_len.is_none()
            && !need_restored_data(&col.field_type, opts.new_collation)
    })
}

fn plan_index(
    table: &TableInfo,
    ix: &IndexInfo,
    opts: EncodeOptions,
) -> Result<IndexPlan, EncodeError> {
    let mut cols = Vec::with_capacity(ix.columns.len());
    for ic in &ix.columns {
        let col = &table.columns[ic.offset];
        let ft = &col.field_type;
        let collation = key_collation(ft, opts.new_collation).map_err(|source| {
            EncodeError::UnsupportedCollation {
                table: table.qualified_name(),
                column: col.name.clone(),
                source,
            }
        })?;
        cols.push(IndexColPlan {
            offset: ic.offset,
            collation,
            need_restore: need_restored_data(ft, opts.new_collation),
            bin_padding: Collation::is_bin_padding(&ft.collate),
            is_pk: is_pk_column(table, ic.offset),
        });
    }
    let need_restore = cols.iter().any(|c| c.need_restore);
    Ok(IndexPlan {
        info: ix.clone(),
        cols,
        need_restore,
    })
}
