//! Lightning keys that are not fields of Squall's config but set one:
//! deprecated spellings (`on-duplicate`, `duplicate-resolution`), the table
//! form of `max-error`, and `escaped-by`. Applied after the fields are
//! loaded, because some depend on whether another key was in the file.

use std::collections::BTreeSet;

use crate::config::enums::ConflictStrategy;
use crate::config::TaskConfig;

/// One finding while applying a mapped key: `sub` names a key inside a
/// table value (`syntax` of `max-error`), `error` says whether it is fatal.
pub struct Finding {
    pub sub: Option<String>,
    pub error: bool,
    pub message: String,
}

fn warn(sub: Option<&str>, message: impl Into<String>) -> Finding {
    Finding {
        sub: sub.map(str::to_string),
        error: false,
        message: message.into(),
    }
}

fn error(sub: Option<&str>, message: impl Into<String>) -> Finding {
    Finding {
        sub: sub.map(str::to_string),
        error: true,
        message: message.into(),
    }
}

/// Whether `key` (a catalogue key) is applied here.
pub fn handles(key: &str) -> bool {
    matches!(
        key,
        "lightning.max-error"
            | "tikv-importer.on-duplicate"
            | "tikv-importer.duplicate-resolution"
            | "tikv-importer.pause-pd-scheduler-scope"
            | "mydumper.csv.escaped-by"
            | "routes"
    )
}

/// Applies one mapped key; `present` holds every catalogue key of the file.
pub fn apply(
    cfg: &mut TaskConfig,
    key: &str,
    value: &toml::Value,
    present: &BTreeSet<String>,
) -> Vec<Finding> {
    match key {
        "lightning.max-error" => max_error(cfg, value),
        "tikv-importer.on-duplicate" => on_duplicate(cfg, value, present),
        "tikv-importer.duplicate-resolution" => duplicate_resolution(cfg, value, present),
        "mydumper.csv.escaped-by" => escaped_by(cfg, value),
        "tikv-importer.pause-pd-scheduler-scope" => pause_scope(value),
        "routes" => routes(cfg, value),
        _ => vec![error(None, "no mapping (a bug in Squall's key catalogue)")],
    }
}

/// `[[routes]]` (shard merge): every rule is checked, good ones are kept
/// in `mydumper.routes` (discovery applies them).
fn routes(cfg: &mut TaskConfig, value: &toml::Value) -> Vec<Finding> {
    let Some(items) = value.as_array() else {
        return vec![error(
            None,
            format!("{value}: expected [[routes]] tables (schema-pattern, table-pattern, target-schema, target-table)"),
        )];
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let n = i + 1;
        let Some(t) = item.as_table() else {
            out.push(error(None, format!("rule {n}: expected a table")));
            continue;
        };
        let mut rule = crate::config::TableRoute::default();
        let mut ok = true;
        for (k, v) in t {
            if matches!(
                k.as_str(),
                "extract-table" | "extract-schema" | "extract-source"
            ) {
                out.push(error(
                    Some(k.as_str()),
                    format!(
                        "rule {n}: refused: Squall does not add the source shard's names as a \
                         column; add the column in the data files or drop the key"
                    ),
                ));
                ok = false;
                continue;
            }
            let Some(text) = v.as_str() else {
                out.push(error(
                    Some(k.as_str()),
                    format!("rule {n}: {v}: expected a string"),
                ));
                ok = false;
                continue;
            };
            let text = text.to_string();
            match k.as_str() {
                "schema-pattern" => rule.schema_pattern = text,
                "table-pattern" => rule.table_pattern = text,
                "target-schema" => rule.target_schema = text,
                "target-table" => rule.target_table = text,
                other => {
                    out.push(error(
                        Some(other),
                        format!(
                            "rule {n}: unknown key: [[routes]] takes schema-pattern, \
                             table-pattern, target-schema and target-table"
                        ),
                    ));
                    ok = false;
                }
            }
        }
        for (key, val) in [
            ("schema-pattern", &rule.schema_pattern),
            ("target-schema", &rule.target_schema),
        ] {
            if val.trim().is_empty() {
                out.push(error(None, format!("rule {n}: {key} is required")));
                ok = false;
            }
        }
        if rule.table_pattern.is_empty() && !rule.target_table.is_empty() {
            out.push(error(
                None,
                format!("rule {n}: target-table needs a table-pattern (a rule without one moves whole schemas)"),
            ));
            ok = false;
        }
        if ok {
            cfg.mydumper.routes.push(rule);
        }
    }
    out
}

/// `max-error = N` or `{ syntax = 0, charset = N, type = N, conflict = N }`.
fn max_error(cfg: &mut TaskConfig, value: &toml::Value) -> Vec<Finding> {
    let table = match value {
        toml::Value::Integer(i) => {
            return vec![error(
                None,
                format!("{i}: must be a count of rows, 0 or more"),
            )]
        }
        toml::Value::Table(t) => t,
        other => {
            return vec![error(
                None,
                format!(
                    "{other}: expected an integer or a table such as {{ type = 10 }} \
                     (keys syntax, charset, type, conflict)"
                ),
            )]
        }
    };
    let mut out = Vec::new();
    for (sub, v) in table {
        let n = match v.as_integer() {
            Some(n) if n >= 0 => n,
            _ => {
                out.push(error(
                    Some(sub),
                    format!("{v}: must be a count of rows, 0 or more"),
                ));
                continue;
            }
        };
        match sub.as_str() {
            "type" => cfg.lightning.max_error = n.unsigned_abs(),
            "syntax" if n == 0 => {}
            "syntax" => out.push(error(
                Some(sub),
                "syntax errors always stop the import (Lightning fixes this at 0 too): set 0",
            )),
            "charset" => out.push(warn(
                Some(sub),
                "not counted: invalid bytes are replaced with mydumper.data-invalid-char-replace, \
                 or stop the import when it is \"\"",
            )),
            "conflict" => out.push(warn(
                Some(sub),
                "deprecated in Lightning: use conflict.threshold",
            )),
            other => out.push(error(
                Some(other),
                "unknown key: max-error takes syntax, charset, type and conflict",
            )),
        }
    }
    out
}

fn string_of<'v>(value: &'v toml::Value, what: &str) -> Result<&'v str, Finding> {
    value
        .as_str()
        .ok_or_else(|| error(None, format!("{value}: expected a string ({what})")))
}

/// Lightning's pre-7.3 `on-duplicate`: becomes `conflict.strategy` when that is absent.
fn on_duplicate(
    cfg: &mut TaskConfig,
    value: &toml::Value,
    present: &BTreeSet<String>,
) -> Vec<Finding> {
    let name = match string_of(value, "replace, ignore or error") {
        Ok(s) => s,
        Err(f) => return vec![f],
    };
    let strategy = match ConflictStrategy::parse(name) {
        Ok(s) => s,
        Err(e) => return vec![error(None, e)],
    };
    if present.contains("conflict.strategy") {
        return vec![warn(
            None,
            "deprecated and overridden by conflict.strategy: remove it",
        )];
    }
    cfg.conflict.strategy = strategy;
    vec![warn(
        None,
        format!("deprecated: read as conflict.strategy = \"{strategy}\"; write that instead"),
    )]
}

/// Lightning's deprecated `duplicate-resolution`: `remove` means strategy
/// `replace` when `conflict.strategy` is absent (Lightning does the same).
fn duplicate_resolution(
    cfg: &mut TaskConfig,
    value: &toml::Value,
    present: &BTreeSet<String>,
) -> Vec<Finding> {
    let name = match string_of(value, "none or remove") {
        Ok(s) => s.trim().to_ascii_lowercase(),
        Err(f) => return vec![f],
    };
    let strategy = match name.as_str() {
        "" | "none" => return vec![warn(None, "deprecated; \"none\" has no effect: remove it")],
        "remove" | "replace" => ConflictStrategy::Replace,
        "record" => ConflictStrategy::Record,
        "error" => ConflictStrategy::Error,
        other => {
            return vec![error(
                None,
                format!("{other:?}: expected \"none\" or \"remove\" (better: conflict.strategy)"),
            )]
        }
    };
    if present.contains("conflict.strategy") {
        return vec![error(
            None,
            "cannot be used with conflict.strategy (as in Lightning): keep only conflict.strategy",
        )];
    }
    cfg.conflict.strategy = strategy;
    vec![warn(
        None,
        format!("deprecated: read as conflict.strategy = \"{strategy}\"; write that instead"),
    )]
}

/// `pause-pd-scheduler-scope`: Lightning's values; Squall pauses the
/// schedulers cluster-wide with either (`coordinator/src/pd_schedulers.rs`).
fn pause_scope(value: &toml::Value) -> Vec<Finding> {
    match string_of(value, "\"table\" or \"global\"") {
        Ok("global") => Vec::new(),
        Ok("table") => vec![warn(
            None,
            "Squall pauses the balance schedulers cluster-wide (as \"global\"), not by the tables' key ranges",
        )],
        Ok(other) => vec![error(None, format!("{other:?}: expected \"table\" or \"global\""))],
        Err(f) => vec![f],
    }
}

/// `escaped-by`: only the backslash (or none) is an escape Squall's CSV reader knows.
fn escaped_by(cfg: &mut TaskConfig, value: &toml::Value) -> Vec<Finding> {
    match string_of(value, "\"\\\\\" or \"\"") {
        Ok("\\") => cfg.mydumper.csv.backslash_escape = true,
        Ok("") => cfg.mydumper.csv.backslash_escape = false,
        Ok(other) => {
            return vec![error(
                None,
                format!(
                    "{other:?}: Squall's CSV reader only knows the backslash escape: \
                     use \"\\\\\" or \"\" (or backslash-escape = true/false)"
                ),
            )]
        }
        Err(f) => return vec![f],
    }
    Vec::new()
}
