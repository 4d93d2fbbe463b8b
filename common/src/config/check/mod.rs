//! Loading a config file with every problem reported in one pass, each with
//! its key and, where the TOML text has it, line and column.
//!
//! Each key is asked about alone: a document holding only that key is
//! deserialised into [`TaskConfig`], so serde's field list stays the one
//! truth of what Squall reads (a field added to a section is known here at
//! once). A key serde does not know is looked up in Lightning's catalogue
//! ([`super::keys`]): accepted with a warning, mapped onto a Squall field,
//! or refused with the reason. Only the accepted keys make the config.

mod mapped;
mod path;
mod spans;

use std::collections::BTreeSet;
use std::fmt;

use super::keys::{self, Support};
use super::TaskConfig;
pub use path::KeyPath;
pub use spans::line_col;
use spans::Spans;

/// One problem (or warning) with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key as written (`mydumper.files[1].pattern`); `<file>` for the whole text.
    pub key: String,
    /// 1-based line and column of the key in the file, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.key)?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, " (line {l}, column {c})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// What loading a config text found.
#[derive(Debug, Clone)]
pub struct ConfigReport {
    /// The config from every accepted key (defaults for the rest).
    pub config: TaskConfig,
    pub errors: Vec<ConfigProblem>,
    pub warnings: Vec<ConfigProblem>,
}

impl ConfigReport {
    /// Adds the value checks of [`TaskConfig::problems`] (ranges, patterns,
    /// combinations), placed in `text`. Call once overrides are applied.
    pub fn validate(&mut self, text: &str) {
        let spans = Spans::new(text);
        for (key, message) in self.config.problems() {
            let at = spans.locate(&KeyPath::parse(&key), true);
            self.errors.push(problem(key, at, message));
        }
        sort_by_position(&mut self.errors);
    }
}

fn problem(key: String, at: Option<(usize, usize)>, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        key,
        line: at.map(|a| a.0),
        column: at.map(|a| a.1),
        message: message.into(),
    }
}

/// Checks a config text. `Err` only for a TOML syntax error (the text has
/// no keys to check then); everything else is in the report.
pub fn check_toml(text: &str) -> Result<ConfigReport, String> {
    let root: toml::Table =
        toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', " "))?;
    let mut w = Walker {
        spans: Spans::new(text),
        accepted: toml::Table::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        mapped: Vec::new(),
        present: BTreeSet::new(),
    };
    for (key, value) in &root {
        let path = KeyPath::default().child(key);
        collect_present(&path, value, &mut w.present);
        w.walk(&path, value);
    }
    let mut config = match toml::Value::Table(std::mem::take(&mut w.accepted)).try_into() {
        Ok(c) => c,
        Err(e) => {
            // Every key passed alone; together they should too. Say so if not.
            w.errors.push(problem("<file>".into(), None, e.to_string()));
            TaskConfig::default()
        }
    };
    for (path, value) in std::mem::take(&mut w.mapped) {
        for f in mapped::apply(&mut config, &path.catalogue_key(), &value, &w.present) {
            let at = match &f.sub {
                Some(s) => path.child(s),
                None => path.clone(),
            };
            w.report(&at, f.error, f.message);
        }
    }
    let (mut errors, mut warnings) = (w.errors, w.warnings);
    sort_by_position(&mut errors);
    sort_by_position(&mut warnings);
    Ok(ConfigReport {
        config,
        errors,
        warnings,
    })
}

/// Every key of the file, by catalogue name (`mydumper.files.pattern`).
fn collect_present(path: &KeyPath, value: &toml::Value, out: &mut BTreeSet<String>) {
    out.insert(path.catalogue_key());
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                collect_present(&path.child(k), v, out);
            }
        }
        toml::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                if v.is_table() {
                    collect_present(&path.index(i), v, out);
                }
            }
        }
        _ => {}
    }
}

/// File order: what a person fixes top to bottom.
fn sort_by_position(problems: &mut [ConfigProblem]) {
    problems.sort_by(|a, b| {
        let pos = |p: &ConfigProblem| (p.line.unwrap_or(usize::MAX), p.column.unwrap_or(0));
        pos(a).cmp(&pos(b)).then_with(|| a.key.cmp(&b.key))
    });
}

/// What serde says about a one-key document.
enum Probe {
    Ok,
    Unknown,
    Bad(String),
}

fn probe(path: &KeyPath, value: &toml::Value) -> Probe {
    match path.single(value.clone()).try_into::<TaskConfig>() {
        Ok(_) => Probe::Ok,
        Err(e) => {
            let msg = e.to_string();
            if msg.contains("unknown field") {
                Probe::Unknown
            } else {
                Probe::Bad(msg.trim_end().replace('\n', " "))
            }
        }
    }
}

/// The same shape with nothing in it: `{}` for a table, `[{}]` for an array of tables.
fn empty_like(value: &toml::Value) -> Option<toml::Value> {
    match value {
        toml::Value::Table(_) => Some(toml::Value::Table(toml::Table::new())),
        toml::Value::Array(a) if !a.is_empty() && a.iter().all(toml::Value::is_table) => Some(
            toml::Value::Array(vec![toml::Value::Table(toml::Table::new())]),
        ),
        _ => None,
    }
}

struct Walker<'a> {
    spans: Spans<'a>,
    accepted: toml::Table,
    errors: Vec<ConfigProblem>,
    warnings: Vec<ConfigProblem>,
    mapped: Vec<(KeyPath, toml::Value)>,
    present: BTreeSet<String>,
}

impl Walker<'_> {
    /// Records a problem at the key, or at its value when the value is what is wrong.
    fn report(&mut self, path: &KeyPath, is_error: bool, message: impl Into<String>) {
        self.report_at(path, is_error, is_error, message);
    }

    fn report_at(
        &mut self,
        path: &KeyPath,
        is_error: bool,
        at_value: bool,
        message: impl Into<String>,
    ) {
        let at = self.spans.locate(path, at_value);
        let p = problem(path.to_string(), at, message);
        if is_error {
            self.errors.push(p);
        } else {
            self.warnings.push(p);
        }
    }

    fn walk(&mut self, path: &KeyPath, value: &toml::Value) {
        let key = path.catalogue_key();
        let verdict = probe(path, value);
        if matches!(verdict, Probe::Ok) {
            path.insert(&mut self.accepted, value.clone());
            return;
        }
        // A section or list Squall has, with something wrong inside: look at each key.
        if let Some(empty) = empty_like(value) {
            if matches!(probe(path, &empty), Probe::Ok) && !mapped::handles(&key) {
                path.insert(&mut self.accepted, empty);
                self.walk_children(path, value);
                return;
            }
        }
        if let Some(info) = keys::lookup(&key) {
            self.catalogued(path, value, info, verdict);
            return;
        }
        let prefix = format!("{key}.");
        if value.is_table() && keys::KEYS.iter().any(|k| k.key.starts_with(&prefix)) {
            // A Lightning section Squall has no struct for ([cron], [security]).
            self.walk_children(path, value);
            return;
        }
        match verdict {
            Probe::Bad(msg) => self.report(path, true, msg),
            _ if path.0.len() == 1 && value.is_table() => self.report_at(
                path,
                true,
                false,
                "unknown section: not a TiDB Lightning or Squall section (see docs/lightning-config.md)",
            ),
            _ => {
                let hint = suggest(&key)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                self.report_at(path, true, false, format!("unknown key{hint}"));
            }
        }
    }

    fn walk_children(&mut self, path: &KeyPath, value: &toml::Value) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    self.walk(&path.child(k), v);
                }
            }
            toml::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    let at = path.index(i);
                    match v.as_table() {
                        Some(t) => {
                            at.insert(&mut self.accepted, toml::Value::Table(toml::Table::new()));
                            for (k, v) in t {
                                self.walk(&at.child(k), v);
                            }
                        }
                        None => self.report(&at, true, "expected a table"),
                    }
                }
            }
            _ => {}
        }
    }

    /// A key serde refused, which Lightning's catalogue knows.
    fn catalogued(
        &mut self,
        path: &KeyPath,
        value: &toml::Value,
        info: &keys::KeyInfo,
        verdict: Probe,
    ) {
        let note = info.note;
        match info.support {
            Support::Warns => {
                if let Some(bad) = ignored_value_problem(&path.catalogue_key(), value) {
                    self.report(path, true, bad);
                } else {
                    self.report(
                        path,
                        false,
                        format!("accepted, no effect in Squall: {note}"),
                    );
                }
            }
            Support::RefusedWhenSet if keys::is_off(value) => self.report(
                path,
                false,
                format!("accepted, no effect in Squall: {note}"),
            ),
            Support::RefusedWhenSet | Support::Refused => {
                self.report(path, true, format!("refused: {note}"))
            }
            Support::Acts | Support::Differs | Support::SquallOnly => {
                if mapped::handles(&path.catalogue_key()) {
                    self.mapped.push((path.clone(), value.clone()));
                    return;
                }
                match verdict {
                    Probe::Bad(msg) => self.report(path, true, msg),
                    // A catalogue key serde does not know: a field was renamed or removed.
                    _ => self.report(
                        path,
                        true,
                        "known to the key catalogue but not read by this build (a Squall bug: please report it)",
                    ),
                }
            }
        }
    }
}

/// Values of ignored keys that are wrong even in Lightning (a typo there
/// is a typo in the file, not a setting to ignore).
fn ignored_value_problem(key: &str, value: &toml::Value) -> Option<String> {
    let text = value.as_str();
    match key {
        k if k.starts_with("cron.") => match text.map(parse_go_duration) {
            Some(Ok(_)) => None,
            Some(Err(e)) => Some(e),
            None => Some(format!("{value}: expected a duration such as \"5m\"")),
        },
        "tikv-importer.compress-kv-pairs" => match text {
            Some("" | "gz" | "gzip") => None,
            _ => Some(format!("{value}: expected \"\", \"gz\" or \"gzip\"")),
        },
        "tikv-importer.pause-pd-scheduler-scope" => match text.map(str::to_ascii_lowercase) {
            Some(s) if s == "table" || s == "global" => None,
            _ => Some(format!("{value}: expected \"table\" or \"global\"")),
        },
        _ => None,
    }
}

/// Parses a Go duration (`1h30m`, `60s`, `250ms`) into seconds.
pub fn parse_go_duration(text: &str) -> Result<f64, String> {
    let bad = || format!("{text:?}: expected a duration such as \"5m\", \"90s\" or \"1h30m\"");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(0.0);
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// The catalogue key in the same section closest to `key`, if close enough.
fn suggest(key: &str) -> Option<&'static str> {
    let section = key.rsplit_once('.').map_or("", |(s, _)| s);
    keys::KEYS
        .iter()
        .filter(|k| k.key.rsplit_once('.').map_or("", |(s, _)| s) == section)
        .map(|k| (edit_distance(k.key, key), k.key))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests;
