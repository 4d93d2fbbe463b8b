//! Shard merge: Lightning's `[[routes]]` rules, which send tables of many
//! source schemas (MySQL shards) into one target table. Patterns are globs
//! (`*`, `?`, `[...]`, `[!...]`) over the whole name, case-insensitive unless
//! `case-sensitive`. As in Lightning's table router, a rule with a
//! `table-pattern` wins over a schema-only rule; two matching rules of the
//! same kind are an error (the import would depend on their order).

use regex::Regex;
use squall_common::config::TableRoute;

use crate::error::{ErrorKind, SourceError};

struct Rule {
    n: usize,
    schema: Regex,
    table: Option<Regex>,
    target_schema: String,
    target_table: String,
}

pub struct ShardRouter {
    rules: Vec<Rule>,
}

fn bad(n: usize, reason: impl std::fmt::Display) -> SourceError {
    SourceError::new(
        ErrorKind::Routing,
        "",
        format!("[[routes]] rule {n}: {reason}"),
    )
}

/// An anchored regex for a glob.
fn glob(pattern: &str, n: usize, case_sensitive: bool) -> Result<Regex, SourceError> {
    let mut out = String::from(if case_sensitive { "^(?:" } else { "(?i)^(?:" });
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                out.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    out.push('^');
                }
                loop {
                    let c = chars
                        .next()
                        .ok_or_else(|| bad(n, format!("pattern {pattern:?}: unterminated `[`")))?;
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
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push_str(")$");
    Regex::new(&out).map_err(|e| bad(n, format!("pattern {pattern:?}: {e}")))
}

impl ShardRouter {
    pub fn new(routes: &[TableRoute], case_sensitive: bool) -> Result<Self, SourceError> {
        let mut rules = Vec::with_capacity(routes.len());
        for (i, r) in routes.iter().enumerate() {
            let n = i + 1;
            if r.schema_pattern.is_empty() || r.target_schema.is_empty() {
                return Err(bad(n, "schema-pattern and target-schema are required"));
            }
            rules.push(Rule {
                n,
                schema: glob(&r.schema_pattern, n, case_sensitive)?,
                table: if r.table_pattern.is_empty() {
                    None
                } else {
                    Some(glob(&r.table_pattern, n, case_sensitive)?)
                },
                target_schema: r.target_schema.clone(),
                target_table: r.target_table.clone(),
            });
        }
        Ok(Self { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The target of table `db`.`table`, or `None` when no rule matches.
    pub fn route_table(
        &self,
        db: &str,
        table: &str,
    ) -> Result<Option<(String, String)>, SourceError> {
        let table_rule = self.only(db, |r| r.table.as_ref().is_some_and(|t| t.is_match(table)))?;
        if let Some(r) = table_rule {
            let name = if r.target_table.is_empty() {
                table
            } else {
                &r.target_table
            };
            return Ok(Some((r.target_schema.clone(), name.to_string())));
        }
        Ok(self
            .only(db, |r| r.table.is_none())?
            .map(|r| (r.target_schema.clone(), table.to_string())))
    }

    /// The target of schema `db` (schema-only rules), or `None`.
    pub fn route_schema(&self, db: &str) -> Result<Option<String>, SourceError> {
        Ok(self
            .only(db, |r| r.table.is_none())?
            .map(|r| r.target_schema.clone()))
    }

    /// The one rule of a kind matching `db`; two are an error.
    fn only(&self, db: &str, kind: impl Fn(&Rule) -> bool) -> Result<Option<&Rule>, SourceError> {
        let mut hits = self
            .rules
            .iter()
            .filter(|r| r.schema.is_match(db) && kind(r));
        let first = hits.next();
        if let (Some(a), Some(b)) = (first, hits.next()) {
            let reason = format!(
                "`{db}` matches rules {} and {} of the same kind: make the patterns disjoint",
                a.n, b.n
            );
            return Err(SourceError::new(
                ErrorKind::Routing,
                "",
                format!("[[routes]]: {reason}"),
            ));
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(schema: &str, table: &str, ts: &str, tt: &str) -> TableRoute {
        TableRoute {
            schema_pattern: schema.into(),
            table_pattern: table.into(),
            target_schema: ts.into(),
            target_table: tt.into(),
        }
    }

    #[test]
    fn table_rules_win_over_schema_rules() {
        let r = ShardRouter::new(
            &[
                route("shard_*", "", "db", ""),
                route("shard_?", "order[0-9]*", "db", "orders"),
            ],
            false,
        )
        .expect("rules");
        let t = |d, t| r.route_table(d, t).expect("route");
        assert_eq!(
            t("SHARD_1", "order_12"),
            Some(("db".into(), "order_12".into()))
        );
        assert_eq!(
            t("shard_1", "order12"),
            Some(("db".into(), "orders".into()))
        );
        assert_eq!(
            t("shard_10", "order12"),
            Some(("db".into(), "order12".into()))
        );
        assert_eq!(t("other", "order12"), None);
        assert_eq!(
            r.route_schema("shard_2").expect("schema"),
            Some("db".into())
        );
    }

    #[test]
    fn ambiguous_and_bad_rules_are_errors() {
        let r = ShardRouter::new(
            &[route("s*", "t", "a", ""), route("*", "t", "b", "")],
            false,
        )
        .expect("rules");
        let err = r.route_table("s1", "t").expect_err("two rules");
        assert!(err.to_string().contains("rules 1 and 2"), "{err}");
        assert!(ShardRouter::new(&[route("s[", "", "a", "")], false).is_err());
        assert!(ShardRouter::new(&[route("", "", "a", "")], false).is_err());
        let cs = ShardRouter::new(&[route("S", "", "a", "")], true).expect("rules");
        assert_eq!(cs.route_table("s", "t").expect("route"), None);
    }
}
