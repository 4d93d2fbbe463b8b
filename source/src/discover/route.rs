//! File routing: which database/table a file belongs to and what it holds.
//! `[[mydumper.files]]` rules are tried first, in order, then (unless
//! `default-file-rules = false`) Lightning's Dumpling rules. First match wins.

use regex::Regex;
use squall_common::config::{FileRule, MydumperConfig};

use crate::catalog::Compression;
use crate::error::{ErrorKind, SourceError};
use crate::storage::percent_decode;

/// What a routed file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteType {
    SchemaSchema,
    TableSchema,
    ViewSchema,
    Sql,
    Csv,
    Parquet,
    Ignore,
}

impl RouteType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "schema-schema" => Self::SchemaSchema,
            "table-schema" => Self::TableSchema,
            "view-schema" => Self::ViewSchema,
            "sql" => Self::Sql,
            "csv" => Self::Csv,
            "parquet" => Self::Parquet,
            "ignore" => Self::Ignore,
            _ => return None,
        })
    }
}

/// The outcome of routing one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub db: String,
    pub table: String,
    pub kind: RouteType,
    pub key: String,
    pub compression: Compression,
}

enum Matcher {
    Regex(Regex),
    Path(String),
}

struct Rule {
    matcher: Matcher,
    rule: FileRule,
    /// Dumpling percent-escapes odd characters in names; its rules unescape.
    unescape: bool,
}

/// Lightning's default rules (Dumpling and mydumper naming).
const DEFAULT_RULES: [(&str, &str, &str, &str, &str, &str); 5] = [
    // (pattern, schema, table, type, key, compression)
    (
        r"(?i).*(-schema-trigger|-schema-post)\.sql$",
        "",
        "",
        "ignore",
        "",
        "",
    ),
    (
        r"(?i)^(?:[^/]*/)*([^/.]+)-schema-create\.sql$",
        "$1",
        "",
        "schema-schema",
        "",
        "",
    ),
    (
        r"(?i)^(?:[^/]*/)*([^/.]+)\.(.*?)-schema\.sql$",
        "$1",
        "$2",
        "table-schema",
        "",
        "",
    ),
    (
        r"(?i)^(?:[^/]*/)*([^/.]+)\.(.*?)-schema-view\.sql$",
        "$1",
        "$2",
        "view-schema",
        "",
        "",
    ),
    (
        r"(?i)^(?:[^/]*/)*([^/.]+)\.(.*?)(?:\.([0-9]+))?\.(sql|csv|parquet)(?:\.(\w+))?$",
        "$1",
        "$2",
        "$4",
        "$3",
        "$5",
    ),
];

pub struct Router {
    rules: Vec<Rule>,
}

fn routing_err(reason: impl Into<String>) -> SourceError {
    SourceError::new(ErrorKind::Routing, "", reason)
}

impl Router {
    pub fn new(cfg: &MydumperConfig) -> Result<Self, SourceError> {
        let mut rules = Vec::new();
        for (i, r) in cfg.files.iter().enumerate() {
            let matcher = match (r.pattern.is_empty(), r.path.is_empty()) {
                (false, true) => Matcher::Regex(Regex::new(&r.pattern).map_err(|e| {
                    routing_err(format!(
                        "[[mydumper.files]] rule #{}: bad pattern {:?}: {e}",
                        i + 1,
                        r.pattern
                    ))
                })?),
                (true, false) => Matcher::Path(r.path.trim_start_matches('/').to_string()),
                _ => {
                    return Err(routing_err(format!(
                        "[[mydumper.files]] rule #{} needs exactly one of `pattern` and `path`",
                        i + 1
                    )))
                }
            };
            if RouteType::parse(&r.file_type).is_none() && !r.file_type.contains('$') {
                return Err(routing_err(format!(
                    "[[mydumper.files]] rule #{}: unknown type {:?}",
                    i + 1,
                    r.file_type
                )));
            }
            rules.push(Rule {
                matcher,
                rule: r.clone(),
                unescape: false,
            });
        }
        if cfg.default_file_rules {
            for (pattern, schema, table, ty, key, compression) in DEFAULT_RULES {
                let rule = FileRule {
                    pattern: pattern.into(),
                    path: String::new(),
                    schema: schema.into(),
                    table: table.into(),
                    file_type: ty.into(),
                    key: key.into(),
                    compression: compression.into(),
                };
                let re = Regex::new(pattern).expect("built-in routing patterns are valid");
                rules.push(Rule {
                    matcher: Matcher::Regex(re),
                    rule,
                    unescape: true,
                });
            }
        }
        Ok(Self { rules })
    }

    /// Routes a relative path; `None` when no rule matches (the file is ignored).
    pub fn route(&self, path: &str) -> Result<Option<Route>, SourceError> {
        for rule in &self.rules {
            let expand = |tpl: &str, caps: Option<&regex::Captures>| -> String {
                let mut out = String::new();
                match caps {
                    Some(c) => c.expand(tpl, &mut out),
                    None => out.push_str(tpl),
                }
                if rule.unescape {
                    percent_decode(&out)
                } else {
                    out
                }
            };
            let caps = match &rule.matcher {
                Matcher::Regex(re) => match re.captures(path) {
                    Some(c) => Some(c),
                    None => continue,
                },
                Matcher::Path(p) if p == path => None,
                Matcher::Path(_) => continue,
            };
            let r = &rule.rule;
            let ty = expand(&r.file_type, caps.as_ref());
            let kind = RouteType::parse(&ty).ok_or_else(|| {
                routing_err(format!("rule {:?} gives unknown type {ty:?}", describe(r)))
                    .with_file(path)
            })?;
            let route = Route {
                db: expand(&r.schema, caps.as_ref()),
                table: expand(&r.table, caps.as_ref()),
                kind,
                key: expand(&r.key, caps.as_ref()),
                compression: parse_compression(&expand(&r.compression, caps.as_ref()))
                    .map_err(|e| e.with_file(path))?,
            };
            check_names(&route, r, path)?;
            return Ok(Some(route));
        }
        Ok(None)
    }
}

fn describe(r: &FileRule) -> &str {
    if r.pattern.is_empty() {
        &r.path
    } else {
        &r.pattern
    }
}

fn check_names(route: &Route, r: &FileRule, path: &str) -> Result<(), SourceError> {
    let needs_table = !matches!(route.kind, RouteType::SchemaSchema | RouteType::Ignore);
    if route.kind != RouteType::Ignore && route.db.is_empty() {
        return Err(
            routing_err(format!("rule {:?} gives an empty schema name", describe(r)))
                .with_file(path),
        );
    }
    if needs_table && route.table.is_empty() {
        return Err(
            routing_err(format!("rule {:?} gives an empty table name", describe(r)))
                .with_file(path),
        );
    }
    Ok(())
}

fn parse_compression(s: &str) -> Result<Compression, SourceError> {
    match s.to_ascii_lowercase().as_str() {
        "" => Ok(Compression::None),
        "gz" | "gzip" => Ok(Compression::Gzip),
        "zst" | "zstd" => Ok(Compression::Zstd),
        "snappy" => Ok(Compression::Snappy),
        other => Err(routing_err(format!("unknown compression {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(cfg: &MydumperConfig, path: &str) -> Option<Route> {
        Router::new(cfg)
            .expect("router")
            .route(path)
            .expect("route")
    }

    #[test]
    fn dumpling_names() {
        let cfg = MydumperConfig::default();
        let r = route(&cfg, "mocker_test.tbl_autoid.sql").expect("data");
        assert_eq!(
            (r.db.as_str(), r.table.as_str(), r.kind),
            ("mocker_test", "tbl_autoid", RouteType::Sql)
        );
        let r = route(&cfg, "db.t.0001.csv.gz").expect("data");
        assert_eq!(
            (r.key.as_str(), r.compression, r.kind),
            ("0001", Compression::Gzip, RouteType::Csv)
        );
        let r = route(&cfg, "sub/db.t.CSV.zst").expect("data");
        assert_eq!(r.compression, Compression::Zstd);
        assert_eq!(
            route(&cfg, "db-schema-create.sql").expect("db").kind,
            RouteType::SchemaSchema
        );
        assert_eq!(
            route(&cfg, "db.t-schema.sql").expect("t").kind,
            RouteType::TableSchema
        );
        assert_eq!(
            route(&cfg, "db.v-schema-view.sql").expect("v").kind,
            RouteType::ViewSchema
        );
        assert_eq!(
            route(&cfg, "db.t-schema-trigger.sql").expect("trg").kind,
            RouteType::Ignore
        );
        assert_eq!(
            route(&cfg, "db.t-schema-post.sql").expect("post").kind,
            RouteType::Ignore
        );
        assert!(route(&cfg, "test.parquet").is_none());
        assert!(route(&cfg, "metadata").is_none());
        let r = route(&cfg, "x`f\"n.exotic`table``name.sql").expect("exotic");
        assert_eq!(
            (r.db.as_str(), r.table.as_str()),
            ("x`f\"n", "exotic`table``name")
        );
        let r = route(&cfg, "db.t%2Ex.sql").expect("escaped");
        assert_eq!(r.table, "t.x");
    }

    #[test]
    fn snappy_is_read_and_unknown_compression_is_an_error() {
        let router = Router::new(&MydumperConfig::default()).expect("router");
        let r = router
            .route("db.t.000000001.sql.snappy")
            .expect("routes")
            .expect("data");
        assert_eq!(
            (r.compression, r.kind),
            (Compression::Snappy, RouteType::Sql)
        );
        assert_eq!(
            router.route("db.t.sql.bak").expect_err("bak").kind,
            ErrorKind::Routing
        );
    }

    #[test]
    fn custom_rules_first_with_substitution() {
        let mut cfg = MydumperConfig::default();
        cfg.files.push(FileRule {
            pattern: r"(?i)^dump/([a-z]+)_([a-z]+)\.(csv|sql)$".into(),
            schema: "$1".into(),
            table: "${2}".into(),
            file_type: "$3".into(),
            ..FileRule::default()
        });
        let r = route(&cfg, "dump/shop_orders.CSV").expect("custom");
        assert_eq!(
            (r.db.as_str(), r.table.as_str(), r.kind),
            ("shop", "orders", RouteType::Csv)
        );
        cfg.files[0].file_type = "$4".into();
        let err = Router::new(&cfg)
            .expect("router")
            .route("dump/a_b.csv")
            .expect_err("empty type");
        assert_eq!(err.kind, ErrorKind::Routing);
        assert_eq!(err.pos.file, "dump/a_b.csv");
    }
}
