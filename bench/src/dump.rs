//! A generated dump as the import plans it: discovery, schema files parsed
//! into TiDB table models, data files cut into chunks (squall-source, with
//! the task config's defaults), untimed.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use squall_common::config::TaskConfig;
use squall_source::schema_parse::ParsedTable;
use squall_source::{
    chunk_table, discover, load_schemas, Chunk, DataFile, FileKind, ReadOptions, SourceStore,
};

pub struct DumpTable {
    pub parsed: ParsedTable,
    pub files: Vec<DataFile>,
    pub chunks: Vec<Chunk>,
}

pub struct Dump {
    pub store: SourceStore,
    pub cfg: TaskConfig,
    pub tables: Vec<DumpTable>,
    /// Bytes of every data file (the source bytes rates are of).
    pub source_bytes: u64,
}

impl Dump {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let mut cfg = TaskConfig::default();
        cfg.mydumper.data_source_dir = dir
            .to_str()
            .with_context(|| format!("dump directory {} is not UTF-8", dir.display()))?
            .to_string();
        let store = SourceStore::open(&cfg.mydumper.data_source_dir)
            .with_context(|| format!("opening the dump {}", dir.display()))?;
        let catalog = discover(&store, &cfg.mydumper)
            .with_context(|| format!("listing the dump {}", dir.display()))?;
        let schemas = load_schemas(&store, &catalog, &cfg, None)
            .with_context(|| format!("reading the schema files of {}", dir.display()))?;
        let mut tables = Vec::new();
        let mut source_bytes = 0;
        for (source, parsed) in catalog.tables.iter().zip(schemas.tables) {
            let chunks = chunk_table(
                &store,
                source,
                &cfg.mydumper,
                Some(parsed.info.columns.len()),
            )
            .with_context(|| format!("cutting {} into chunks", source.qualified()))?;
            source_bytes += source.data_files.iter().map(|f| f.size).sum::<u64>();
            tables.push(DumpTable {
                parsed,
                files: source.data_files.clone(),
                chunks,
            });
        }
        anyhow::ensure!(
            !tables.is_empty(),
            "no table with data files in {}: generate one with `squall gen-dump --out {}`",
            dir.display(),
            dir.display()
        );
        Ok(Self {
            store,
            cfg,
            tables,
            source_bytes,
        })
    }

    /// Read options as the worker's encode sets them.
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            time_zone: Some(self.cfg.tidb.time_zone.clone()),
            ..ReadOptions::default()
        }
    }

    /// Every CSV data file, as paths on disk (the yardsticks read them).
    pub fn csv_files(&self, dir: &Path) -> Vec<std::path::PathBuf> {
        self.tables
            .iter()
            .flat_map(|t| &t.files)
            .filter(|f| f.kind == FileKind::Csv)
            .map(|f| dir.join(&f.path))
            .collect()
    }
}

/// Runs `f` over `items` on `threads` threads (each takes the next item, as
/// the worker's chunk pool does) and returns the results in item order.
pub fn par_map<T: Sync, R: Send>(
    threads: usize,
    items: &[T],
    f: impl Fn(&T) -> anyhow::Result<R> + Sync,
) -> anyhow::Result<Vec<R>> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = Vec::with_capacity(items.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| -> anyhow::Result<Vec<(usize, R)>> {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return Ok(mine);
                        };
                        mine.push((i, f(item)?));
                    }
                })
            })
            .collect();
        for h in handles {
            let part = h
                .join()
                .map_err(|_| anyhow::anyhow!("a benchmark thread panicked"))??;
            out.extend(part);
        }
        Ok::<_, anyhow::Error>(())
    })?;
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, r)| r).collect())
}
