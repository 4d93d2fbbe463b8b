//! Databases and tables the target lacks are created from the dump's own
//! schema files (as Lightning does), under the names the routing rules give
//! them; tables that exist are checked against the dump's columns instead,
//! so an import never writes rows laid out for another definition.

use mysql_async::prelude::Queryable;
use squall_common::TaskConfig;
use squall_source::schema_parse::MAX_SCHEMA_FILE_BYTES;
use squall_source::{discover, load_schemas, SourceCharset, SourceStore};

use super::connect::Session;
use super::error::TidbError;
use super::statement::{definition_after_name, quote, statements, Creates};
use super::table_info::target_columns;

/// What the dump says the target should hold.
#[derive(Debug, Clone, Default)]
pub struct DumpSchemas {
    pub databases: Vec<DumpDatabase>,
    pub tables: Vec<DumpTable>,
}

#[derive(Debug, Clone)]
pub struct DumpDatabase {
    pub name: String,
    /// The options of the schema file's `CREATE DATABASE`, after the name.
    pub definition: String,
}

#[derive(Debug, Clone)]
pub struct DumpTable {
    pub db: String,
    pub name: String,
    /// The schema file, for messages.
    pub file: String,
    /// The `CREATE TABLE` text after the table name: columns and options.
    pub definition: String,
    /// Column names in order, as parsed.
    pub columns: Vec<String>,
}

impl DumpTable {
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote(&self.db), quote(&self.name))
    }
}

/// Reads the dump's schema files (blocking: it reads the source).
pub fn read_dump_schemas(cfg: &TaskConfig) -> Result<DumpSchemas, TidbError> {
    let store = SourceStore::open(&cfg.mydumper.data_source_dir)?;
    let catalog = discover(&store, &cfg.mydumper)?;
    // Parsing first: a schema the import cannot use is refused before
    // anything is created on the target.
    let parsed = load_schemas(&store, &catalog, cfg, None)?;
    let charset =
        SourceCharset::from_name(&cfg.mydumper.character_set).unwrap_or(SourceCharset::Auto);
    let read = |path: &str| -> Result<String, TidbError> {
        let bytes = store.read_all(path, MAX_SCHEMA_FILE_BYTES)?;
        charset
            .decode_text(&bytes)
            .map_err(|e| TidbError::SchemaFile {
                file: path.to_string(),
                reason: e.reason,
            })
    };
    let mut out = DumpSchemas::default();
    for db in &catalog.databases {
        let definition = match &db.schema_file {
            Some(path) => {
                let text = read(path)?;
                statements(&text)
                    .into_iter()
                    .find_map(|s| definition_after_name(s, Creates::Database))
                    .unwrap_or("")
                    .to_string()
            }
            None => String::new(),
        };
        out.databases.push(DumpDatabase {
            name: db.name.clone(),
            definition,
        });
    }
    for (t, p) in catalog.tables.iter().zip(&parsed.tables) {
        // load_schemas refused tables without a schema file already.
        let Some(path) = &t.schema_file else { continue };
        let text = read(path)?;
        let definition = statements(&text)
            .into_iter()
            .find_map(|s| definition_after_name(s, Creates::Table))
            .ok_or_else(|| TidbError::SchemaFile {
                file: path.clone(),
                reason: "no CREATE TABLE statement found".into(),
            })?
            .to_string();
        if !out.databases.iter().any(|d| d.name == t.db) {
            out.databases.push(DumpDatabase {
                name: t.db.clone(),
                definition: String::new(),
            });
        }
        out.tables.push(DumpTable {
            db: t.db.clone(),
            name: t.name.clone(),
            file: path.clone(),
            definition,
            // Expression indexes' hidden columns are not in information_schema.
            columns: (p.info.columns.iter())
                .filter(|c| !squall_source::schema_parse::is_hidden_column(&c.name))
                .map(|c| c.name.clone())
                .collect(),
        });
    }
    Ok(out)
}

/// Checks every table that exists, then (all of them agreeing) creates
/// what is missing, so a refusal leaves the target as it was. Returns one
/// note per database or table created.
pub async fn ensure_schemas(
    session: &mut Session,
    dump: &DumpSchemas,
) -> Result<Vec<String>, TidbError> {
    let mut missing = Vec::new();
    for t in &dump.tables {
        let found = target_columns(session, &t.db, &t.name).await?;
        match found.is_empty() {
            true => missing.push(t),
            false => check_columns(session.addr(), t, &found)?,
        }
    }
    let mut notes = Vec::new();
    const SCHEMATA: &str = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA";
    let existing: Vec<String> = session.run("list databases", |c| c.query(SCHEMATA)).await?;
    for db in &dump.databases {
        if existing.iter().any(|e| e.eq_ignore_ascii_case(&db.name)) {
            continue;
        }
        let sql = format!(
            "CREATE DATABASE IF NOT EXISTS {}{}",
            quote(&db.name),
            db.definition
        );
        let what = format!("create database {}", quote(&db.name));
        session.run(&what, |c| c.query_drop(sql.clone())).await?;
        tracing::info!(addr = session.addr(), database = %db.name, "created database on the target");
        notes.push(format!("created database {}", quote(&db.name)));
    }
    for t in missing {
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {}{}",
            t.qualified(),
            t.definition
        );
        let what = format!("create table {} from {}", t.qualified(), t.file);
        session.run(&what, |c| c.query_drop(sql.clone())).await?;
        tracing::info!(addr = session.addr(), table = %t.qualified(), file = %t.file, "created table on the target from the dump's schema file");
        notes.push(format!("created table {} from {}", t.qualified(), t.file));
    }
    Ok(notes)
}

/// The target's columns must be the dump's, in the same order: rows are
/// encoded by the dump's definition.
fn check_columns(addr: &str, t: &DumpTable, target: &[String]) -> Result<(), TidbError> {
    let same = target.len() == t.columns.len()
        && target
            .iter()
            .zip(&t.columns)
            .all(|(a, b)| a.eq_ignore_ascii_case(b));
    if same {
        return Ok(());
    }
    Err(TidbError::Target {
        addr: addr.to_string(),
        reason: format!(
            "table {} exists with columns ({}) but the dump's {} defines ({}); \
             make them agree (ALTER TABLE on the target, or fix the schema file) before importing",
            t.qualified(),
            target.join(", "),
            t.file,
            t.columns.join(", ")
        ),
    })
}
