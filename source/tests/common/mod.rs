//! Helpers shared by the integration tests: load a source directory the way
//! the planner and workers will (discover, parse schemas, chunk, read).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use squall_common::config::TaskConfig;
use squall_source::{
    chunk_table, discover, load_schemas, open_chunk_in, Chunk, LoadedSchemas, ReadOptions, Row,
    SourceCatalog, SourceError, SourceStore,
};

/// `../shared/fixtures/lightning` next to the workspace, if present.
pub fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/lightning");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} is absent", dir.display());
        None
    }
}

/// A row and the column names its reader reported for it.
pub type RowWithColumns = (Row, Option<Vec<String>>);

/// Everything read from one source directory.
pub struct Loaded {
    pub catalog: SourceCatalog,
    pub schemas: LoadedSchemas,
    pub chunks: BTreeMap<String, Vec<Chunk>>,
    /// Rows per `db.table`, with the columns the reader reported per row.
    pub rows: BTreeMap<String, Vec<RowWithColumns>>,
}

impl Loaded {
    pub fn rows(&self, qualified: &str) -> &[RowWithColumns] {
        self.rows
            .get(qualified)
            .map(Vec::as_slice)
            .unwrap_or_else(|| panic!("no table {qualified}: {:?}", self.rows.keys()))
    }

    pub fn table(&self, qualified: &str) -> &squall_source::ParsedTable {
        self.schemas
            .tables
            .iter()
            .find(|t| format!("{}.{}", t.info.db, t.info.name) == qualified)
            .unwrap_or_else(|| panic!("no schema for {qualified}"))
    }
}

/// A config file on top of Lightning's defaults, pointed at `data`.
pub fn config(config_file: Option<&Path>, data: &Path) -> TaskConfig {
    let mut cfg = match config_file {
        Some(f) => TaskConfig::from_file(f).expect("dataset config parses"),
        None => TaskConfig::default(),
    };
    cfg.mydumper.data_source_dir = data.to_str().expect("utf8 path").to_string();
    cfg
}

/// Loads with the table's column count as the field count every row must
/// have when the file does not name its columns (what the worker passes).
pub fn load(cfg: &TaskConfig) -> Result<Loaded, SourceError> {
    load_with(cfg, &ReadOptions::default())
}

pub fn load_with(cfg: &TaskConfig, read: &ReadOptions) -> Result<Loaded, SourceError> {
    let store = SourceStore::open(&cfg.mydumper.data_source_dir)?;
    let catalog = discover(&store, &cfg.mydumper)?;
    let schemas = load_schemas(&store, &catalog, cfg, None)?;
    let mut chunks = BTreeMap::new();
    let mut rows = BTreeMap::new();
    for (t, s) in catalog.tables.iter().zip(&schemas.tables) {
        let cs = chunk_table(&store, t, &cfg.mydumper, Some(s.info.columns.len()))?;
        let mut out = Vec::new();
        for c in &cs {
            let file = &t.data_files[c.file_index];
            let read = ReadOptions {
                expected_fields: Some(s.info.columns.len()),
                ..read.clone()
            };
            let mut r = open_chunk_in(&store, file, c, &cfg.mydumper, &read)?;
            while let Some(row) = r.next_row()? {
                let cols = r.columns().map(<[String]>::to_vec);
                out.push((row, cols));
            }
        }
        chunks.insert(t.qualified(), cs);
        rows.insert(t.qualified(), out);
    }
    Ok(Loaded {
        catalog,
        schemas,
        chunks,
        rows,
    })
}

/// Field `i` as text (`None` for NULL).
pub fn text(row: &Row, i: usize) -> Option<String> {
    row.fields[i]
        .as_ref()
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Field `i` as upper-case hex.
pub fn hex(row: &Row, i: usize) -> String {
    row.fields[i]
        .as_ref()
        .expect("not null")
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// Copies `src` into a new temp dir, renaming files by `renames`.
pub fn copy_renamed(src: &Path, renames: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(src).expect("read dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let target = renames
            .iter()
            .find(|(from, _)| *from == name)
            .map_or(name.clone(), |(_, to)| to.to_string());
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), dir.path().join(target)).expect("copy");
        }
    }
    dir
}
