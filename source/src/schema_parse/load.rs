//! Reads every schema file of a catalog: decodes it under `[mydumper]
//! character-set`, parses it, and assigns table IDs.

use squall_common::config::TaskConfig;
use squall_common::schema::DatabaseInfo;

use crate::catalog::SourceCatalog;
use crate::charset::SourceCharset;
use crate::error::{ErrorKind, SourceError};
use crate::storage::SourceStore;

use super::{
    assign_table_ids, parse_create_table, parse_database, parse_view, ConfigTableIds, ParsedTable,
    TableIdSource,
};

/// Schema files larger than this are refused (they are read whole).
pub const MAX_SCHEMA_FILE_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSchemas {
    pub databases: Vec<DatabaseInfo>,
    /// One per `catalog.tables`, in the same order.
    pub tables: Vec<ParsedTable>,
    /// `CREATE VIEW` text per `catalog.views`, in the same order.
    pub views: Vec<String>,
}

fn read_text(
    store: &SourceStore,
    path: &str,
    charset: SourceCharset,
) -> Result<String, SourceError> {
    let bytes = store.read_all(path, MAX_SCHEMA_FILE_BYTES)?;
    charset.decode_text(&bytes).map_err(|e| {
        let line = 1 + bytes[..e.offset.min(bytes.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        SourceError::new(
            ErrorKind::Charset,
            path,
            format!("{} (character-set = {})", e.reason, charset.name()),
        )
        .at(e.offset as u64, line)
    })
}

/// Loads databases, tables and views. IDs come from `extra` first, then
/// `[squall] table-ids`, else are assigned deterministically.
pub fn load_schemas(
    store: &SourceStore,
    catalog: &SourceCatalog,
    cfg: &TaskConfig,
    extra: Option<&dyn TableIdSource>,
) -> Result<LoadedSchemas, SourceError> {
    let charset = SourceCharset::from_name(&cfg.mydumper.character_set).ok_or_else(|| {
        SourceError::new(
            ErrorKind::Routing,
            "",
            format!(
                "unknown [mydumper] character-set {:?}",
                cfg.mydumper.character_set
            ),
        )
    })?;
    let mut databases = Vec::new();
    for db in &catalog.databases {
        let info = match &db.schema_file {
            Some(path) => parse_database(&read_text(store, path, charset)?, &db.name),
            None => DatabaseInfo {
                name: db.name.clone(),
                charset: None,
                collate: None,
            },
        };
        databases.push(info);
    }
    let mut tables = Vec::new();
    for t in &catalog.tables {
        let Some(path) = &t.schema_file else {
            let reason = format!(
                "table `{}`.`{}` has data files but no schema file ({{db}}.{{table}}-schema.sql)",
                t.db, t.name
            );
            let file = t.data_files.first().map(|f| f.path.as_str()).unwrap_or("");
            return Err(SourceError::new(ErrorKind::Routing, file, reason));
        };
        let db = databases
            .iter()
            .find(|d| same(&d.name, &t.db, cfg.mydumper.case_sensitive))
            .cloned()
            .unwrap_or(DatabaseInfo {
                name: t.db.clone(),
                charset: None,
                collate: None,
            });
        let db = DatabaseInfo {
            name: t.db.clone(),
            ..db
        };
        let table = parse_create_table(&read_text(store, path, charset)?, path, &db, &t.name)
            .map_err(|mut e| {
                // A wrong character set garbles quotes first; say which was used.
                e.reason = format!(
                    "{} (read with character-set = {})",
                    e.reason,
                    charset.name()
                );
                e
            })?;
        tables.push(table);
    }
    let configured = ConfigTableIds::new(&cfg.squall.table_ids);
    match extra {
        Some(src) => assign_table_ids(&mut tables, &Chain(src, &configured))?,
        None => assign_table_ids(&mut tables, &configured)?,
    }
    let mut views = Vec::new();
    for v in &catalog.views {
        views.push(parse_view(
            &read_text(store, &v.schema_file, charset)?,
            &v.schema_file,
        )?);
    }
    Ok(LoadedSchemas {
        databases,
        tables,
        views,
    })
}

fn same(a: &str, b: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        a == b
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// Asks the first source, then the second.
struct Chain<'a>(&'a dyn TableIdSource, &'a dyn TableIdSource);

impl TableIdSource for Chain<'_> {
    fn table_id(&self, db: &str, table: &str) -> Result<Option<i64>, SourceError> {
        match self.0.table_id(db, table)? {
            Some(id) => Ok(Some(id)),
            None => self.1.table_id(db, table),
        }
    }

    fn partition_id(&self, db: &str, table: &str, p: &str) -> Result<Option<i64>, SourceError> {
        match self.0.partition_id(db, table, p)? {
            Some(id) => Ok(Some(id)),
            None => self.1.partition_id(db, table, p),
        }
    }
}
