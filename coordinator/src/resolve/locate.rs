//! Source positions of conflicting rows that no engine recorded.
//!
//! Every conflicting row must be reported with the file and byte offset it
//! came from. Where the positions come from:
//! - **Copies of a key inside one engine** (in-engine duplicates): the
//!   worker's duplicates file names every copy with its position, the
//!   ingested one included (`squall_common::duplicates_file`).
//! - **An engine's only copy of a key** that conflicts with another engine's
//!   row or with the table's earlier data: TiKV gives the row and the
//!   engine (by commit ts) but not which source row it was, and the engine's
//!   local copy (where every KV carried its row tag) is gone once the engine
//!   is done. Such rows are found here by reading the engine's chunks again
//!   and computing each row's handle as the worker did (same columns, same
//!   conversion, same `_tidb_rowid`s); the first row with a wanted handle is
//!   the one the engine ingested (the engine keeps a key's smallest row tag).
//! - Rows that were in the table before the import have no source position;
//!   the report says `origin: preexisting`.
//!
//! Memory is bounded by the conflicts, not the data: only the handles still
//! wanted, per engine, are held, and reading stops once all are found. The
//! cost is one parse and conversion pass over the engines that hold such
//! rows (no KV is encoded or written). Recording every row's position at
//! encode time instead would cost disk in proportion to the whole import.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use squall_codec::{Converter, Datum, Handle, TableEncoder, ValueForm};
use squall_common::checkpoint::ChunkSpec;
use squall_common::config::MydumperConfig;
use squall_common::schema::TableInfo;
use squall_common::TaskConfig;
use squall_source::{open_chunk_in, FileKind, ReadOptions, Row, SourceStore, ValueKind};
use squall_worker::task::columns::{ColumnMap, Target};
use squall_worker::task::row_tag;
use squall_worker::task::source_from_spec;

use super::rows::{Candidates, Origin};
use crate::duplicate::context::EngineSource;
use crate::duplicate::error::DuplicateError;
use crate::duplicate::local::SourcePos;

/// What reading the source again needs: the job's source and the settings
/// its rows were converted with.
#[derive(Clone)]
pub struct SourceRows {
    pub store: SourceStore,
    pub mydumper: MydumperConfig,
    /// The job's converter (its SQL mode, time zone and pinned "now").
    pub converter: Converter,
    /// The reader settings the workers read the source with: the same
    /// field values, or a row's handle here differs from the ingested one.
    pub read: ReadOptions,
}

/// The reader settings a job's workers use (`worker::task::run`): parquet
/// instants stored as UTC are shown in `tidb.time-zone`, the zone the
/// converter reads them in, so a TIMESTAMP key re-read here is the instant
/// the worker encoded.
pub fn job_read_options(cfg: &TaskConfig) -> ReadOptions {
    ReadOptions {
        time_zone: Some(cfg.tidb.time_zone.clone()),
        ..ReadOptions::default()
    }
}

/// The converter the workers of a job run with `cfg`, first planned at
/// `created_unix_ms`, used: its SQL mode, time zone and pinned "now".
pub fn job_converter(cfg: &TaskConfig, created_unix_ms: u64) -> Result<Converter, String> {
    let now = chrono::DateTime::from_timestamp_millis(created_unix_ms as i64).unwrap_or_default();
    Ok(Converter::new(&cfg.tidb.sql_mode, &cfg.tidb.time_zone)
        .map_err(|e| e.to_string())?
        .with_now(now))
}

/// A located row: its tag in the engine and its position.
pub type Located = (u64, SourcePos);

impl SourceRows {
    /// The settings of a job run with `cfg`, first planned at
    /// `created_unix_ms` (the worker pins "now" to it).
    pub fn for_job(cfg: &TaskConfig, created_unix_ms: u64) -> Result<Self, String> {
        let store = SourceStore::open(&cfg.mydumper.data_source_dir).map_err(|e| e.to_string())?;
        let converter = job_converter(cfg, created_unix_ms)?;
        Ok(Self {
            store,
            mydumper: cfg.mydumper.clone(),
            converter,
            read: job_read_options(cfg),
        })
    }

    /// Fills in the source position (and row tag) of every imported row in
    /// `cands` that has none, reading the chunks of the engines that hold
    /// them. Rows that cannot be found keep `None` (and are logged).
    pub async fn locate_unpositioned(
        self: &Arc<Self>,
        table: &TableInfo,
        engines: &[EngineSource],
        cands: &mut Candidates,
    ) -> Result<(), DuplicateError> {
        let mut wanted: BTreeMap<u64, HashSet<Handle>> = BTreeMap::new();
        for (id, value) in &cands.rows {
            if let (Origin::Imported { commit_ts, .. }, None) = (id.origin, &value.source) {
                wanted
                    .entry(commit_ts)
                    .or_default()
                    .insert(id.handle.clone());
            }
        }
        for (commit_ts, handles) in wanted {
            let Some(engine) = engines.iter().find(|e| e.commit_ts == commit_ts) else {
                tracing::warn!(table = %table.qualified_name(), commit_ts, rows = handles.len(),
                    "no engine of the plan has this commit ts; rows reported without a position");
                continue;
            };
            let found = self.locate_in_engine(table, engine, handles).await?;
            for (id, value) in cands.rows.iter_mut() {
                if id.origin.commit_ts() != commit_ts || value.source.is_some() {
                    continue;
                }
                if let Some((tag, pos)) = found.get(&id.handle) {
                    value.source = Some(pos.clone());
                    value.row_tag.get_or_insert(*tag);
                }
            }
        }
        Ok(())
    }

    async fn locate_in_engine(
        self: &Arc<Self>,
        table: &TableInfo,
        engine: &EngineSource,
        handles: HashSet<Handle>,
    ) -> Result<HashMap<Handle, Located>, DuplicateError> {
        let (this, t, e) = (Arc::clone(self), table.clone(), engine.clone());
        let name = table.qualified_name();
        let (found, missing) =
            tokio::task::spawn_blocking(move || this.scan_engine(&t, &e, handles))
                .await
                .map_err(|e| DuplicateError::inconsistent(&name, format!("locating rows: {e}")))?
                .map_err(|reason| {
                    DuplicateError::inconsistent(
                        &name,
                        format!("engine {}: locating rows: {reason}", engine.engine_id),
                    )
                })?;
        if !missing.is_empty() {
            tracing::warn!(table = %name, engine = engine.engine_id, rows = missing.len(),
                first = %missing.iter().next().map(ToString::to_string).unwrap_or_default(),
                "rows not found in the engine's chunks; reported without a position");
        }
        Ok(found)
    }

    /// Reads the engine's chunks in source order until every handle is
    /// found. Returns the positions and the handles not found. Blocking.
    fn scan_engine(
        &self,
        table: &TableInfo,
        engine: &EngineSource,
        mut wanted: HashSet<Handle>,
    ) -> Result<(HashMap<Handle, Located>, HashSet<Handle>), String> {
        let mut chunks: Vec<&ChunkSpec> = engine.chunks.iter().collect();
        chunks.sort_by_key(|c| c.ordinal);
        let mut found = HashMap::new();
        for chunk in chunks {
            if wanted.is_empty() {
                break;
            }
            self.scan_chunk(table, chunk, &mut wanted, &mut found)?;
        }
        Ok((found, wanted))
    }

    /// Moves the handles of `wanted` that rows of `spec` have to `found`.
    fn scan_chunk(
        &self,
        table: &TableInfo,
        spec: &ChunkSpec,
        wanted: &mut HashSet<Handle>,
        found: &mut HashMap<Handle, Located>,
    ) -> Result<(), String> {
        let (file, chunk) = source_from_spec(spec).map_err(|e| e.to_string())?;
        let mut reader = open_chunk_in(&self.store, &file, &chunk, &self.mydumper, &self.read)
            .map_err(|e| e.to_string())?;
        let by_name = file.kind != FileKind::Csv || self.mydumper.csv.header_schema_match;
        let mut encoder = TableEncoder::new(table).map_err(|e| e.to_string())?;
        let mut row = Row::default();
        let mut map: Option<ColumnMap> = None;
        // Row IDs as the worker gives them: one per row read, skipped rows too.
        let mut next_row_id = spec.row_id_base;
        while !wanted.is_empty() {
            match reader.read_row(&mut row) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) if e.is_skippable() => {
                    next_row_id = next_row_id.saturating_add(1);
                    continue;
                }
                Err(e) => return Err(e.to_string()),
            }
            next_row_id = next_row_id.saturating_add(1);
            let names = if by_name { reader.columns() } else { None };
            if !map.as_ref().is_some_and(|m| m.is_for(names)) {
                map = Some(ColumnMap::build(table, names).map_err(|e| e.to_string())?);
            }
            let Some(map) = map.as_ref() else { continue };
            let Some(handle) = self.handle_of(table, map, &row, next_row_id, &mut encoder) else {
                continue; // The worker skipped this row too.
            };
            if wanted.remove(&handle) {
                let tag = row_tag::pack(spec.ordinal, row.offset.saturating_sub(spec.start));
                let pos = SourcePos {
                    file: spec.file.path.clone(),
                    offset: row.offset,
                };
                found.insert(handle, (tag, pos));
            }
        }
        Ok(())
    }

    /// The row's handle, converted as the worker's encoder does; `None` for
    /// a row the worker could not import.
    fn handle_of(
        &self,
        table: &TableInfo,
        map: &ColumnMap,
        row: &Row,
        mut row_id: i64,
        encoder: &mut TableEncoder,
    ) -> Option<Handle> {
        if !map.accepts_field_count(row.fields.len()) {
            return None;
        }
        let cols = &table.columns;
        let mut datums = vec![Datum::Null; cols.len()];
        let mut given = vec![false; cols.len()];
        let mut warnings = Vec::new();
        // As the worker: implicit row IDs carry SHARD_ROW_ID_BITS.
        let mut handle =
            squall_codec::row_id::shard_row_id(row_id, table.row_ids.shard_row_id_bits);
        for (i, (target, field)) in map.targets().iter().zip(&row.fields).enumerate() {
            match *target {
                Target::Column(c) => {
                    let form = form(row.kind(i));
                    let d =
                        self.converter
                            .convert_as(&cols[c], field.as_deref(), form, &mut warnings);
                    datums[c] = d.ok()?;
                    given[c] = true;
                }
                Target::RowId => {
                    let text = field.as_deref().map(String::from_utf8_lossy)?;
                    row_id = text.trim().parse().ok()?;
                    handle = row_id;
                }
            }
        }
        for (c, col) in cols.iter().enumerate().filter(|(c, _)| !given[*c]) {
            datums[c] = self.converter.default_for(col, &mut warnings).ok()?;
        }
        self.converter.fill_auto_ids(table, &mut datums, row_id);
        encoder.handle_of(&datums, handle).ok()
    }
}

/// How the SQL reader saw a value, in the converter's terms (as the worker).
fn form(kind: ValueKind) -> ValueForm {
    match kind {
        ValueKind::Text => ValueForm::Text,
        ValueKind::Number => ValueForm::Number,
        ValueKind::Binary => ValueForm::Binary,
    }
}

#[cfg(test)]
mod tests {
    use squall_common::schema::HandleKind;

    use super::*;
    use crate::duplicate::context::test_chunk;
    use crate::duplicate::target::tests::sample_table;
    use crate::duplicate::test_util::TempDir;

    const CSV: &str = "id,u,v\n1,10,a\n2,oops,b\n3,30,c\n1,11,late\n4,40,d\n";

    /// An engine of two chunks of one CSV file: rows 1-3, then the rest.
    fn setup(dir: &TempDir) -> (SourceRows, EngineSource) {
        std::fs::write(dir.path().join("db.t.000.csv"), CSV).expect("write");
        let split = CSV.find("1,11").expect("row") as u64;
        let mut first = test_chunk(0);
        first.file.size = CSV.len() as u64;
        (first.start, first.end, first.row_id_max) = (0, split, 100);
        let mut second = first.clone();
        second.ordinal = 1;
        (second.start, second.end) = (split, CSV.len() as u64);
        second.columns = Some(vec!["id".into(), "u".into(), "v".into()]);
        (second.row_id_base, second.row_id_max) = (100, 200);
        let mut mydumper = MydumperConfig::default();
        mydumper.csv.header = true;
        let rows = SourceRows {
            store: SourceStore::open(dir.path().to_str().expect("utf-8")).expect("store"),
            mydumper,
            converter: Converter::new("STRICT_TRANS_TABLES", "UTC").expect("converter"),
            read: ReadOptions::default(),
        };
        let engine = EngineSource {
            engine_id: 0,
            commit_ts: 9,
            chunks: vec![second, first],
        };
        (rows, engine)
    }

    fn pos(offset: usize) -> SourcePos {
        SourcePos {
            file: "db.t.000.csv".into(),
            offset: offset as u64,
        }
    }

    #[test]
    fn finds_the_first_row_of_each_handle_in_source_order() {
        let dir = TempDir::new("locate");
        let (rows, engine) = setup(&dir);
        let table = sample_table(HandleKind::IntPk);
        let wanted = [
            Handle::Int(1),
            Handle::Int(4),
            Handle::Int(2),
            Handle::Int(9),
        ];
        let (found, missing) = rows
            .scan_engine(&table, &engine, wanted.into_iter().collect())
            .expect("scans");
        let at = |s: &str| CSV.find(s).expect("row");
        assert_eq!(
            found[&Handle::Int(1)],
            (row_tag::pack(0, at("1,10") as u64), pos(at("1,10")))
        );
        let late = at("4,40");
        let tag = row_tag::pack(1, (late - at("1,11")) as u64);
        assert_eq!(found[&Handle::Int(4)], (tag, pos(late)));
        // Row 2 does not convert (strict mode): the worker skipped it too.
        let left: HashSet<Handle> = [Handle::Int(2), Handle::Int(9)].into();
        assert_eq!(missing, left);
    }

    #[test]
    fn rows_are_read_again_in_the_jobs_time_zone() {
        let dir = TempDir::new("locate-zone");
        let mut cfg = TaskConfig::default();
        cfg.mydumper.data_source_dir = dir.path().to_str().expect("utf-8").into();
        cfg.tidb.time_zone = "+08:00".into();
        let rows = SourceRows::for_job(&cfg, 0).expect("source rows");
        assert_eq!(rows.read.time_zone.as_deref(), Some("+08:00"));
        // Everything else as the worker has it (ReadOptions' defaults).
        let worker = ReadOptions {
            time_zone: Some("+08:00".into()),
            ..ReadOptions::default()
        };
        assert_eq!(rows.read, worker);
    }

    #[test]
    fn row_id_handles_count_every_row_of_the_chunk() {
        let dir = TempDir::new("locate-rowid");
        let (rows, engine) = setup(&dir);
        let table = sample_table(HandleKind::RowId);
        let wanted = [Handle::Int(3), Handle::Int(101)];
        let (found, missing) = rows
            .scan_engine(&table, &engine, wanted.into_iter().collect())
            .expect("scans");
        assert!(missing.is_empty(), "{missing:?}");
        assert_eq!(
            found[&Handle::Int(3)].1,
            pos(CSV.find("3,30").expect("row"))
        );
        assert_eq!(
            found[&Handle::Int(101)].1,
            pos(CSV.find("1,11").expect("row"))
        );
    }
}
