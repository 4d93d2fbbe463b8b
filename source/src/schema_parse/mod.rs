//! Schema files: `CREATE DATABASE` and `CREATE TABLE` (MySQL dialect, as
//! Dumpling/mysqldump write them) into TiDB's table model.
//!
//! Names come from file names (Lightning's rule): the table name in the
//! `CREATE TABLE` text is replaced by the routed name, and the text of
//! `{db}-schema-create.sql` is only read for its default charset.
//! A hand-written parser, because dump output is full of things generic SQL
//! parsers reject: `/*!40101 ... */`, `/*T![clustered_index] CLUSTERED */`,
//! `AUTO_RANDOM`, partitions, invalid `CREATE DATABASE` text.

mod build;
mod expr_index;
mod expr_ops;
mod grammar;
mod ids;
mod lexer;
mod load;
mod partition;
mod types;

use serde::{Deserialize, Serialize};
use squall_common::schema::{DatabaseInfo, TableInfo};

use crate::error::{ErrorKind, SourceError};
use lexer::{line_of, tokenize, Tok, Token};

pub use expr_index::is_hidden_column;
pub use ids::{assign_table_ids, ConfigTableIds, TableIdSource, DETERMINISTIC_TABLE_ID_BASE};
pub use load::{load_schemas, LoadedSchemas, MAX_SCHEMA_FILE_BYTES};
pub use partition::{parse_expression, GENERATED_FUNCTIONS};

/// A parsed `CREATE TABLE`, with what `TableInfo` has no place for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedTable {
    pub info: TableInfo,
    /// `AUTO_INCREMENT = n` table option: allocation continues from here.
    pub auto_increment_base: Option<u64>,
    /// `AUTO_RANDOM_BASE = n` table option.
    pub auto_random_base: Option<u64>,
    /// Partitioning: rows are encoded under the partition's physical ID.
    pub partition: Option<PartitionInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInfo {
    /// `RANGE COLUMNS`, `HASH`, `LIST`, ...
    pub kind: String,
    /// The partitioning expression or column list, as written.
    pub expr: String,
    pub partitions: Vec<PartitionSpec>,
    /// The parsed scheme (method, expression or columns, bounds).
    pub scheme: Option<squall_common::schema::PartitionScheme>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionSpec {
    pub name: String,
    /// Physical table ID.
    pub id: i64,
}

fn split_statements(toks: &[Token]) -> Vec<&[Token]> {
    toks.split(|t| t.tok == Tok::Punct(';'))
        .filter(|s| !s.is_empty())
        .collect()
}

fn starts_with_words(stmt: &[Token], words: &[&str]) -> bool {
    stmt.len() >= words.len()
        && stmt
            .iter()
            .zip(words)
            .all(|(t, w)| matches!(&t.tok, Tok::Word(x) if x.eq_ignore_ascii_case(w)))
}

fn is_create_table(stmt: &[Token]) -> bool {
    starts_with_words(stmt, &["CREATE", "TABLE"])
        || starts_with_words(stmt, &["CREATE", "TEMPORARY", "TABLE"])
}

/// Reads the default charset/collation of a `{db}-schema-create.sql`. The
/// name is the file-derived `name`; the text is never executed, so text
/// that does not parse (Lightning's `perm` test) just gives no defaults.
pub fn parse_database(text: &str, name: &str) -> DatabaseInfo {
    let mut info = DatabaseInfo {
        name: name.to_string(),
        charset: None,
        collate: None,
    };
    let Ok(toks) = tokenize(text) else {
        return info;
    };
    let words: Vec<String> = toks
        .iter()
        .map(|t| match &t.tok {
            Tok::Word(w) | Tok::Ident(w) | Tok::Str(w) => w.clone(),
            Tok::Punct(c) => c.to_string(),
            _ => String::new(),
        })
        .collect();
    for (i, w) in words.iter().enumerate() {
        let next = |k: usize| words.get(i + k).map(String::as_str).unwrap_or("");
        let value = |k: usize| if next(k) == "=" { next(k + 1) } else { next(k) }.to_string();
        if w.eq_ignore_ascii_case("CHARSET") {
            info.charset = Some(value(1));
        } else if w.eq_ignore_ascii_case("CHARACTER") && next(1).eq_ignore_ascii_case("SET") {
            info.charset = Some(value(2));
        } else if w.eq_ignore_ascii_case("COLLATE") {
            info.collate = Some(value(1));
        }
    }
    info
}

/// Parses the `CREATE TABLE` of a table schema file; other statements in the
/// file (`SET`, `DROP TABLE`) are ignored. `db`/`table` are the routed names.
pub fn parse_create_table(
    text: &str,
    file: &str,
    db: &DatabaseInfo,
    table: &str,
) -> Result<ParsedTable, SourceError> {
    let at = |kind: ErrorKind, offset: usize, reason: String| {
        SourceError::new(kind, file, reason).at(offset as u64, line_of(text, offset))
    };
    let toks = tokenize(text).map_err(|(o, r)| at(ErrorKind::Syntax, o, r))?;
    let creates: Vec<&[Token]> = split_statements(&toks)
        .into_iter()
        .filter(|s| is_create_table(s))
        .collect();
    let stmt = match creates.as_slice() {
        [one] => *one,
        [] => {
            return Err(at(
                ErrorKind::Schema,
                0,
                "no CREATE TABLE statement in the table schema file".into(),
            ))
        }
        [_, second, ..] => {
            return Err(at(
                ErrorKind::Schema,
                second[0].start,
                "more than one CREATE TABLE in one schema file".into(),
            ))
        }
    };
    let mut p = grammar::Parser::new(stmt, text);
    let def = p
        .create_table()
        .map_err(|(o, r)| at(ErrorKind::Schema, o, format!("invalid CREATE TABLE: {r}")))?;
    let db_scope = types::CharsetScope::resolve(
        &types::CharsetScope {
            charset: "utf8mb4".into(),
            collate: "utf8mb4_bin".into(),
        },
        db.charset.as_deref(),
        db.collate.as_deref(),
    )
    .map_err(|r| at(ErrorKind::Schema, 0, format!("database `{}`: {r}", db.name)))?;
    build::build_table(def, &db.name, table, &db_scope).map_err(|(o, r, unsupported)| {
        at(
            if unsupported {
                ErrorKind::Unsupported
            } else {
                ErrorKind::Schema
            },
            o,
            r,
        )
    })
}

/// The `CREATE ... VIEW` statement of a view schema file, as text (the
/// `SET`/`DROP` statements around it are dropped).
pub fn parse_view(text: &str, file: &str) -> Result<String, SourceError> {
    let toks = tokenize(text).map_err(|(o, r)| {
        SourceError::new(ErrorKind::Syntax, file, r).at(o as u64, line_of(text, o))
    })?;
    for stmt in split_statements(&toks) {
        let is_create = starts_with_words(stmt, &["CREATE"]);
        let has_view = stmt
            .iter()
            .take_while(|t| t.tok != Tok::Word("AS".into()))
            .any(|t| matches!(&t.tok, Tok::Word(w) if w.eq_ignore_ascii_case("VIEW")));
        if is_create && has_view {
            let (start, end) = (stmt[0].start, stmt[stmt.len() - 1].end);
            return Ok(text[start..end].to_string());
        }
    }
    Err(SourceError::new(
        ErrorKind::Schema,
        file,
        "no CREATE VIEW statement in the view schema file",
    ))
}

#[cfg(test)]
mod tests;
