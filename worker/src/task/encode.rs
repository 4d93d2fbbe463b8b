//! Encoding one chunk into the local engine: read rows, map fields to
//! columns, convert values, assign `_tidb_rowid` from the chunk's range,
//! encode record and index KVs and append them with a row tag that points
//! back at the source row. Blocking: runs on tokio's blocking pool.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use squall_codec::{
    ConvertError, ConvertWarning, Converter, Datum, EncodedKv, KvChecksum, TableEncoder, ValueForm,
};
use squall_common::checkpoint::ChunkSpec;
use squall_common::config::MydumperConfig;
use squall_common::schema::TableInfo;
use squall_source::{
    open_chunk_in, FileKind, ReadOptions, Row, SourceError, SourceStore, ValueKind,
};
use tokio_util::sync::CancellationToken;

use super::auto_ids::AutoIdMax;
use super::columns::{ColumnMap, Target};
use super::error::TaskError;
use super::partition::PartitionRouter;
use super::progress::WorkerProgress;
use super::rejects::{ErrorBudget, Reject, RejectLog};
use super::row_tag;
use super::spec::{chunk_source_bytes, source_from_spec};
use crate::engine::EngineWriter;

/// Rows between progress updates and cancellation checks.
const PROGRESS_EVERY: u64 = 1024;
/// Conversion warnings logged per chunk (all are counted).
const LOGGED_WARNINGS: u64 = 5;

/// What every chunk of one engine shares.
pub struct EncodeContext {
    pub store: SourceStore,
    pub mydumper: MydumperConfig,
    pub read: ReadOptions,
    pub table: TableInfo,
    pub router: PartitionRouter,
    pub converter: Converter,
    pub rejects: Arc<RejectLog>,
    pub budget: Arc<ErrorBudget>,
    /// Rows this engine attempt took from the budget (given back on failure).
    pub taken: AtomicU64,
    pub cancel: CancellationToken,
    pub progress: Arc<WorkerProgress>,
    /// `squall.index-mode = "after-data"`: record KVs only.
    pub rows_only: bool,
}

/// What one chunk produced (every KV, duplicates included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkOutcome {
    pub rows: u64,
    pub skipped: u64,
    pub warnings: u64,
    pub data: KvChecksum,
    pub indexes: BTreeMap<i64, KvChecksum>,
    /// Largest row ID and auto ID of the encoded rows (allocator rebase).
    pub auto_ids: AutoIdMax,
}

impl ChunkOutcome {
    pub fn merge(&mut self, other: &ChunkOutcome) {
        self.rows += other.rows;
        self.skipped += other.skipped;
        self.warnings += other.warnings;
        self.data.merge(&other.data);
        for (id, c) in &other.indexes {
            self.indexes.entry(*id).or_default().merge(c);
        }
        self.auto_ids.merge(&other.auto_ids);
    }
}

/// A row that cannot be imported, and where.
enum RowProblem {
    Convert(ConvertError),
    FieldCount { expected: usize, found: usize },
    BadRowId(String),
    Encode(String),
}

impl RowProblem {
    fn kind(&self) -> &'static str {
        match self {
            Self::Convert(_) | Self::BadRowId(_) => "type",
            Self::FieldCount { .. } => "data",
            Self::Encode(_) => "encode",
        }
    }

    fn column(&self) -> Option<String> {
        match self {
            Self::Convert(e) => Some(e.column.clone()),
            Self::BadRowId(_) => Some(super::columns::ROW_ID_COLUMN.to_string()),
            _ => None,
        }
    }

    fn reason(&self) -> String {
        match self {
            Self::Convert(e) => e.problem.to_string(),
            Self::FieldCount { expected, found } => {
                format!("expected {expected} fields, found {found}")
            }
            Self::BadRowId(v) => format!("_tidb_rowid {v:?} is not an integer"),
            Self::Encode(e) => e.clone(),
        }
    }
}

/// One encoder per physical table (partition) of the chunk's table; row
/// KVs only under `index-mode = "after-data"`.
fn physical_encoders(cx: &EncodeContext) -> Result<Vec<TableEncoder>, TaskError> {
    let encoders = cx
        .router
        .physical_ids()
        .iter()
        .map(|&id| {
            let e = TableEncoder::new(&TableInfo {
                id,
                ..cx.table.clone()
            });
            e.map(|e| if cx.rows_only { e.without_indexes() } else { e })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(encoders)
}

/// Encodes one chunk into `writer` and closes it.
pub fn encode_chunk(
    cx: &EncodeContext,
    spec: &ChunkSpec,
    mut writer: EngineWriter,
) -> Result<ChunkOutcome, TaskError> {
    let (file, chunk) = source_from_spec(spec)?;
    let mut reader = open_chunk_in(&cx.store, &file, &chunk, &cx.mydumper, &cx.read)?;
    let by_name = file.kind != FileKind::Csv || cx.mydumper.csv.header_schema_match;
    let mut encoders = physical_encoders(cx)?;
    let mut state = ChunkState::new(spec);
    let mut row = Row::default();
    let mut map: Option<ColumnMap> = None;
    loop {
        if state.rows_seen.is_multiple_of(PROGRESS_EVERY) {
            if cx.cancel.is_cancelled() {
                return Err(TaskError::Cancelled);
            }
            state.report(cx, reader.position());
        }
        match reader.read_row(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if e.is_skippable() => {
                state.rows_seen += 1;
                cx.skip_source_error(&e, &mut state)?;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        let row_id = state.next_row_id(&row)?;
        let names = if by_name { reader.columns() } else { None };
        if !map.as_ref().is_some_and(|m| m.is_for(names)) {
            map = Some(cx.column_map(names, &spec.file.path)?);
        }
        let map = map.as_ref().expect("the map was just built");
        match cx.encode_row(map, &row, row_id, &mut encoders, &mut state) {
            Ok(()) => {
                for kv in state.kvs.drain(..) {
                    let tag = row_tag::pack(spec.ordinal, row.offset.saturating_sub(spec.start));
                    writer.append(&kv.key, &kv.value, tag)?;
                    match kv.index_id {
                        None => state.out.data.update(&kv.key, &kv.value),
                        Some(id) => state
                            .out
                            .indexes
                            .entry(id)
                            .or_default()
                            .update(&kv.key, &kv.value),
                    }
                }
                state.out.rows += 1;
            }
            Err(problem) => cx.skip_row(spec, &row, problem, &mut state)?,
        }
    }
    writer.close()?;
    squall_common::failpoint::point_blocking("encode.chunk-done");
    state.report(cx, u64::MAX);
    Ok(state.out)
}

/// Per-chunk bookkeeping.
struct ChunkState {
    out: ChunkOutcome,
    rows_seen: u64,
    row_id_base: i64,
    row_id_max: i64,
    file: String,
    chunk_bytes: u64,
    reported_bytes: u64,
    start: u64,
    kvs: Vec<EncodedKv>,
    datums: Vec<Datum>,
    warnings: Vec<ConvertWarning>,
}

impl ChunkState {
    fn new(spec: &ChunkSpec) -> Self {
        Self {
            out: ChunkOutcome::default(),
            rows_seen: 0,
            row_id_base: spec.row_id_base,
            row_id_max: spec.row_id_max,
            file: spec.file.path.clone(),
            chunk_bytes: chunk_source_bytes(spec),
            reported_bytes: 0,
            start: spec.start,
            kvs: Vec::new(),
            datums: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The `_tidb_rowid` of the next row: `row_id_base + 1 + n` for the n-th
    /// row of the chunk (rows skipped for errors count too, so a row's ID does
    /// not depend on which other rows were bad).
    fn next_row_id(&mut self, row: &Row) -> Result<i64, TaskError> {
        let id = self
            .row_id_base
            .saturating_add(1)
            .saturating_add(self.rows_seen as i64);
        self.rows_seen += 1;
        if id > self.row_id_max {
            return Err(TaskError::RowIdOverflow {
                file: self.file.clone(),
                offset: row.offset,
                max: self.row_id_max,
            });
        }
        Ok(id)
    }

    /// Reports source bytes read since the last report (`u64::MAX`: the end).
    fn report(&mut self, cx: &EncodeContext, position: u64) {
        let done = position.saturating_sub(self.start).min(self.chunk_bytes);
        if done > self.reported_bytes {
            cx.progress.encoded(done - self.reported_bytes);
            self.reported_bytes = done;
        }
    }
}

impl EncodeContext {
    fn column_map(&self, names: Option<&[String]>, file: &str) -> Result<ColumnMap, TaskError> {
        let map = ColumnMap::build(&self.table, names).map_err(|error| TaskError::Columns {
            file: file.to_string(),
            error,
        })?;
        if !map.missing().is_empty() {
            let missing: Vec<&str> = map
                .missing()
                .iter()
                .map(|&c| self.table.columns[c].name.as_str())
                .collect();
            tracing::warn!(table = %self.table.qualified_name(), file, colName = %missing.join(","),
                "column missing from data file, going to fill with default value");
        }
        Ok(map)
    }

    /// Converts and encodes one row into `state.kvs`.
    fn encode_row(
        &self,
        map: &ColumnMap,
        row: &Row,
        mut row_id: i64,
        encoders: &mut [TableEncoder],
        state: &mut ChunkState,
    ) -> Result<(), RowProblem> {
        if !map.accepts_field_count(row.fields.len()) {
            return Err(RowProblem::FieldCount {
                expected: map.targets().len(),
                found: row.fields.len(),
            });
        }
        let cols = &self.table.columns;
        let datums = &mut state.datums;
        datums.clear();
        datums.resize(cols.len(), Datum::Null);
        let mut given = vec![false; cols.len()];
        // The handle of an implicit row ID carries the table's
        // SHARD_ROW_ID_BITS; an explicit `_tidb_rowid` is kept as given, and
        // auto IDs use the plain row ID, as in Lightning.
        let mut handle =
            squall_codec::row_id::shard_row_id(row_id, self.table.row_ids.shard_row_id_bits);
        for (i, (target, field)) in map.targets().iter().zip(&row.fields).enumerate() {
            match *target {
                Target::Column(c) => {
                    datums[c] = self
                        .converter
                        .convert_as(
                            &cols[c],
                            field.as_deref(),
                            form(row.kind(i)),
                            &mut state.warnings,
                        )
                        .map_err(RowProblem::Convert)?;
                    given[c] = true;
                }
                Target::RowId => {
                    row_id = parse_row_id(field.as_deref())?;
                    handle = row_id;
                }
            }
        }
        // Generated columns take no default: they are computed below.
        for (c, col) in cols
            .iter()
            .enumerate()
            .filter(|(c, col)| !given[*c] && col.generated.is_none())
        {
            datums[c] = self
                .converter
                .default_for(col, &mut state.warnings)
                .map_err(RowProblem::Convert)?;
        }
        self.converter.fill_auto_ids(&self.table, datums, row_id);
        map.fill_generated(&self.table, datums, &self.converter)
            .map_err(RowProblem::Encode)?;
        let part = self
            .router
            .route(datums, &self.converter)
            .map_err(|e| RowProblem::Encode(e.to_string()))?;
        encoders[part]
            .encode_row(datums, handle, &mut state.kvs)
            .map_err(|e| RowProblem::Encode(e.to_string()))?;
        state.out.auto_ids.note(&self.table, datums, row_id);
        self.note_warnings(state, row);
        Ok(())
    }

    fn note_warnings(&self, state: &mut ChunkState, row: &Row) {
        for w in state.warnings.drain(..) {
            if state.out.warnings < LOGGED_WARNINGS {
                tracing::warn!(table = %self.table.qualified_name(), file = %state.file, line = row.line, warning = %w,
                    "value adjusted (non-strict sql-mode)");
            }
            state.out.warnings += 1;
        }
    }

    fn skip_source_error(&self, e: &SourceError, state: &mut ChunkState) -> Result<(), TaskError> {
        let reject = Reject {
            table: self.table.qualified_name(),
            file: e.pos.file.clone(),
            offset: e.pos.offset.unwrap_or(0),
            line: e.pos.line.unwrap_or(0),
            column: e.pos.column.clone(),
            kind: "data",
            reason: e.reason.clone(),
        };
        self.record(reject, state)
    }

    fn skip_row(
        &self,
        spec: &ChunkSpec,
        row: &Row,
        problem: RowProblem,
        state: &mut ChunkState,
    ) -> Result<(), TaskError> {
        state.kvs.clear();
        state.warnings.clear();
        let reject = Reject {
            table: self.table.qualified_name(),
            file: spec.file.path.clone(),
            offset: row.offset,
            line: row.line,
            column: problem.column(),
            kind: problem.kind(),
            reason: problem.reason(),
        };
        self.record(reject, state)
    }

    /// Records a skipped row, or fails the task when the budget is spent.
    fn record(&self, reject: Reject, state: &mut ChunkState) -> Result<(), TaskError> {
        let line = format!(
            "{}:{} (byte {}){}: {}",
            reject.file,
            reject.line,
            reject.offset,
            reject
                .column
                .as_deref()
                .map(|c| format!(" column {c}"))
                .unwrap_or_default(),
            reject.reason
        );
        if !self.budget.take() {
            return Err(TaskError::TooManyErrors {
                limit: self.budget.limit(),
                last: line,
                log: self.rejects.path().display().to_string(),
            });
        }
        self.taken.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(table = %reject.table, row = %line, "row skipped");
        self.rejects
            .write(&reject)
            .map_err(|e| TaskError::io("write", self.rejects.path(), e))?;
        state.out.skipped += 1;
        Ok(())
    }
}

/// How the SQL reader saw a value, in the converter's terms.
fn form(kind: ValueKind) -> ValueForm {
    match kind {
        ValueKind::Text => ValueForm::Text,
        ValueKind::Number => ValueForm::Number,
        ValueKind::Binary => ValueForm::Binary,
    }
}

fn parse_row_id(field: Option<&[u8]>) -> Result<i64, RowProblem> {
    let text = field.map(String::from_utf8_lossy).unwrap_or_default();
    text.trim()
        .parse::<i64>()
        .map_err(|_| RowProblem::BadRowId(text.into_owned()))
}

/// Planning's sample for engine ranges (`squall.engine-ranges`): encodes at
/// most the first `max_rows` rows of the chunk with this very path (column
/// map, converter, partition routing, `TableEncoder`) and hands each KV to
/// `sink`. Rows that fail are passed over, neither logged nor counted
/// against `max-error` (the encode task will). Returns the source bytes the
/// sampled rows span. Blocking.
pub fn sample_chunk(
    cx: &EncodeContext,
    spec: &ChunkSpec,
    max_rows: u64,
    sink: &mut dyn FnMut(&EncodedKv),
) -> Result<u64, TaskError> {
    let (file, chunk) = source_from_spec(spec)?;
    let mut reader = open_chunk_in(&cx.store, &file, &chunk, &cx.mydumper, &cx.read)?;
    let by_name = file.kind != FileKind::Csv || cx.mydumper.csv.header_schema_match;
    let mut encoders = physical_encoders(cx)?;
    let mut state = ChunkState::new(spec);
    let mut row = Row::default();
    let mut map: Option<ColumnMap> = None;
    let mut at_end = false;
    while state.rows_seen < max_rows {
        match reader.read_row(&mut row) {
            Ok(true) => {}
            Ok(false) => {
                at_end = true;
                break;
            }
            Err(e) if e.is_skippable() => {
                state.rows_seen += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        let row_id = state.next_row_id(&row)?;
        let names = if by_name { reader.columns() } else { None };
        if !map.as_ref().is_some_and(|m| m.is_for(names)) {
            map = Some(cx.column_map(names, &spec.file.path)?);
        }
        let map = map.as_ref().expect("the map was just built");
        if cx
            .encode_row(map, &row, row_id, &mut encoders, &mut state)
            .is_ok()
        {
            for kv in &state.kvs {
                sink(kv);
            }
        }
        state.kvs.clear();
    }
    let chunk_bytes = chunk_source_bytes(spec);
    if at_end {
        return Ok(chunk_bytes);
    }
    Ok(reader
        .position()
        .saturating_sub(spec.start)
        .clamp(1, chunk_bytes.max(1)))
}
