//! Table filters in Lightning's syntax (`[mydumper] filter`):
//! `db.*`, `!db.tmp*`, `db?.t[0-9]`, `` `a.b`.c ``, `"x".y`, `/^re$/.t`.
//! Rules are read in order and the last one that matches decides; a rule
//! starting with `!` excludes. Matching is case-insensitive unless
//! `case-sensitive = true`. A table no rule matches is excluded.

use regex::Regex;

use crate::error::{ErrorKind, SourceError};

struct FilterRule {
    negate: bool,
    schema: Regex,
    table: Regex,
    table_is_any: bool,
}

pub struct TableFilter {
    rules: Vec<FilterRule>,
}

fn bad(rule: &str, reason: &str) -> SourceError {
    SourceError::new(
        ErrorKind::Routing,
        "",
        format!("[mydumper] filter rule {rule:?}: {reason}"),
    )
}

impl TableFilter {
    pub fn new(rules: &[String], case_sensitive: bool) -> Result<Self, SourceError> {
        let mut out = Vec::new();
        for raw in rules {
            let text = raw.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            if text.starts_with('@') {
                return Err(bad(
                    text,
                    "importing rules from a file (`@path`) is not supported",
                ));
            }
            let (negate, body) = match text.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            let (schema, rest) = parse_part(body, text, case_sensitive)?;
            let Some(rest) = rest.strip_prefix('.') else {
                return Err(bad(text, "expected `schema.table`"));
            };
            let (table, tail) = parse_part(rest, text, case_sensitive)?;
            if !tail.trim().is_empty() {
                return Err(bad(text, "unexpected text after the table pattern"));
            }
            let table_is_any = table.as_str().ends_with("^(?:.*)$");
            out.push(FilterRule {
                negate,
                schema,
                table,
                table_is_any,
            });
        }
        Ok(Self { rules: out })
    }

    /// Whether `db.table` is imported.
    pub fn matches(&self, db: &str, table: &str) -> bool {
        for r in self.rules.iter().rev() {
            if r.schema.is_match(db) && r.table.is_match(table) {
                return !r.negate;
            }
        }
        false
    }

    /// Whether database `db` is created: some table of it may be imported.
    pub fn matches_schema(&self, db: &str) -> bool {
        for r in self.rules.iter().rev() {
            if r.schema.is_match(db) && (!r.negate || r.table_is_any) {
                return !r.negate;
            }
        }
        false
    }
}

/// Parses one pattern (up to an unquoted `.` or the end) into an anchored regex.
fn parse_part<'a>(
    s: &'a str,
    rule: &str,
    case_sensitive: bool,
) -> Result<(Regex, &'a str), SourceError> {
    let flags = if case_sensitive { "" } else { "(?i)" };
    let first = s.chars().next().ok_or_else(|| bad(rule, "empty pattern"))?;
    let (body, rest) = match first {
        '`' | '"' => {
            let (lit, rest) = quoted(s, first).ok_or_else(|| bad(rule, "unterminated quote"))?;
            (regex::escape(&lit), rest)
        }
        '/' => {
            let end = s[1..]
                .find('/')
                .ok_or_else(|| bad(rule, "unterminated /regex/"))?
                + 1;
            (s[1..end].to_string(), &s[end + 1..])
        }
        _ => wildcard(s, rule)?,
    };
    let re = Regex::new(&format!("{flags}^(?:{body})$")).map_err(|e| bad(rule, &e.to_string()))?;
    Ok((re, rest))
}

/// A quoted name; the quote doubled stands for itself.
fn quoted(s: &str, q: char) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == q {
            if matches!(chars.peek(), Some((_, c2)) if *c2 == q) {
                chars.next();
                out.push(q);
                continue;
            }
            return Some((out, &s[i + c.len_utf8()..]));
        }
        out.push(c);
    }
    None
}

/// `*`, `?`, `[...]` (with `!` for negation) and `\x` escapes, up to a `.`.
fn wildcard<'a>(s: &'a str, rule: &str) -> Result<(String, &'a str), SourceError> {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '.' => return Ok((out, &s[i..])),
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => {
                let (_, e) = chars
                    .next()
                    .ok_or_else(|| bad(rule, "dangling backslash"))?;
                out.push_str(&regex::escape(&e.to_string()));
            }
            '[' => {
                out.push('[');
                if matches!(chars.peek(), Some((_, '!'))) {
                    chars.next();
                    out.push('^');
                }
                loop {
                    let (_, c) = chars.next().ok_or_else(|| bad(rule, "unterminated `[`"))?;
                    if c == ']' {
                        break;
                    }
                    if c == '\\' || c == '[' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push(']');
            }
            c if c.is_whitespace() => return Err(bad(rule, "unexpected whitespace")),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    Ok((out, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(rules: &[&str]) -> TableFilter {
        let rules: Vec<String> = rules.iter().map(|s| s.to_string()).collect();
        TableFilter::new(&rules, false).expect("valid filter")
    }

    #[test]
    fn last_matching_rule_wins() {
        let f = filter(&["db.*", "!db.tmp*"]);
        assert!(f.matches("db", "orders"));
        assert!(f.matches("DB", "Orders"));
        assert!(!f.matches("db", "tmp_1"));
        assert!(!f.matches("other", "t"));
        assert!(f.matches_schema("db"));
        assert!(!f.matches_schema("other"));
    }

    #[test]
    fn default_filter_excludes_system_schemas() {
        let f = filter(&["*.*", "!mysql.*", "!sys.*", "!INFORMATION_SCHEMA.*"]);
        assert!(f.matches("vt", "bit"));
        assert!(!f.matches("mysql", "user"));
        assert!(!f.matches("information_schema", "tables"));
        assert!(!f.matches_schema("mysql"));
    }

    #[test]
    fn quoting_classes_and_regex() {
        let f = filter(&[
            "`a.b`.\"c\"\"d\"",
            "db[0-9].t?",
            "/^log_\\d+$/.*",
            "x.[!a]*",
        ]);
        assert!(f.matches("a.b", "c\"d"));
        assert!(f.matches("db7", "t1"));
        assert!(!f.matches("dbx", "t1"));
        assert!(f.matches("log_2020", "anything"));
        assert!(f.matches("x", "bcd"));
        assert!(!f.matches("x", "abc"));
    }

    #[test]
    fn malformed_rules_are_errors() {
        for r in ["db", "`db.t", "db.[a", "@rules.txt", "db.t x"] {
            assert!(TableFilter::new(&[r.to_string()], false).is_err(), "{r}");
        }
    }
}
