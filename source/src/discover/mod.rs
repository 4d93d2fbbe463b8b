//! Discovery: list the source directory and build the [`SourceCatalog`].

mod filter;
mod route;

use std::collections::BTreeMap;

use squall_common::config::MydumperConfig;

use crate::catalog::{
    DataFile, DatabaseSource, FileKind, SkippedFile, SourceCatalog, TableSource, ViewSource,
};
use crate::error::{ErrorKind, SourceError};
use crate::storage::{ListedFile, SourceStore};

pub use filter::TableFilter;
pub use route::{Route, RouteType, Router};

/// Lists `store` and routes every file (see [`build_catalog`]).
pub fn discover(store: &SourceStore, cfg: &MydumperConfig) -> Result<SourceCatalog, SourceError> {
    let files = store.list()?;
    build_catalog(&files, cfg)
}

/// Name key: names compare case-insensitively unless `case-sensitive`.
fn key(name: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        name.to_string()
    } else {
        name.to_lowercase()
    }
}

#[derive(Default)]
struct Builder {
    databases: BTreeMap<String, DatabaseSource>,
    tables: BTreeMap<(String, String), TableSource>,
    views: BTreeMap<(String, String), ViewSource>,
    skipped: Vec<SkippedFile>,
}

/// Routes listed files into a catalog. Files that match no rule are
/// skipped; a routed Parquet file is an error (not supported yet).
pub fn build_catalog(
    files: &[ListedFile],
    cfg: &MydumperConfig,
) -> Result<SourceCatalog, SourceError> {
    let router = Router::new(cfg)?;
    let filter = TableFilter::new(&cfg.filter, cfg.case_sensitive)?;
    let cs = cfg.case_sensitive;
    let mut b = Builder::default();
    for f in files {
        let Some(route) = router.route(&f.path)? else {
            b.skipped.push(SkippedFile {
                path: f.path.clone(),
                reason: "matches no routing rule".into(),
            });
            continue;
        };
        if route.kind == RouteType::Ignore {
            b.skipped.push(SkippedFile {
                path: f.path.clone(),
                reason: "ignored by a routing rule".into(),
            });
            continue;
        }
        if route.kind == RouteType::SchemaSchema {
            if !filter.matches_schema(&route.db) {
                b.skipped.push(SkippedFile {
                    path: f.path.clone(),
                    reason: "excluded by the table filter".into(),
                });
                continue;
            }
            let db = b
                .databases
                .entry(key(&route.db, cs))
                .or_insert_with(|| DatabaseSource {
                    name: route.db.clone(),
                    schema_file: None,
                });
            db.schema_file = Some(f.path.clone());
            continue;
        }
        if !filter.matches(&route.db, &route.table) {
            b.skipped.push(SkippedFile {
                path: f.path.clone(),
                reason: "excluded by the table filter".into(),
            });
            continue;
        }
        b.add_table_file(f, route, cs)?;
    }
    Ok(b.finish(cs))
}

impl Builder {
    fn add_table_file(
        &mut self,
        f: &ListedFile,
        route: Route,
        cs: bool,
    ) -> Result<(), SourceError> {
        let k = (key(&route.db, cs), key(&route.table, cs));
        if route.kind == RouteType::ViewSchema {
            self.views.insert(
                k,
                ViewSource {
                    db: route.db,
                    name: route.table,
                    schema_file: f.path.clone(),
                },
            );
            return Ok(());
        }
        let table = self.tables.entry(k).or_insert_with(|| TableSource {
            db: route.db.clone(),
            name: route.table.clone(),
            schema_file: None,
            data_files: Vec::new(),
        });
        let kind = match route.kind {
            RouteType::TableSchema => {
                if let Some(prev) = &table.schema_file {
                    let reason = format!(
                        "table `{}`.`{}` has two schema files: {prev} and {}",
                        route.db, route.table, f.path
                    );
                    return Err(SourceError::new(ErrorKind::Routing, &f.path, reason));
                }
                table.schema_file = Some(f.path.clone());
                // The schema file's spelling of the names wins.
                table.db = route.db;
                table.name = route.table;
                return Ok(());
            }
            RouteType::Sql => FileKind::Sql,
            RouteType::Csv => FileKind::Csv,
            RouteType::Parquet => {
                let reason = format!(
                    "parquet is not supported (file routed to `{}`.`{}`); convert it to CSV or exclude it with the table filter",
                    route.db, route.table
                );
                return Err(SourceError::new(ErrorKind::Unsupported, &f.path, reason));
            }
            RouteType::SchemaSchema | RouteType::ViewSchema | RouteType::Ignore => return Ok(()),
        };
        table.data_files.push(DataFile {
            path: f.path.clone(),
            kind,
            compression: route.compression,
            size: f.size,
            sort_key: route.key,
        });
        Ok(())
    }

    fn finish(mut self, cs: bool) -> SourceCatalog {
        for t in self.tables.values_mut() {
            t.data_files.sort_by(|a, b| {
                sort_key_cmp(&a.sort_key, &b.sort_key).then_with(|| a.path.cmp(&b.path))
            });
        }
        // A table's database is created even without a schema-create file.
        let implied: Vec<String> = self
            .tables
            .values()
            .map(|t| t.db.clone())
            .chain(self.views.values().map(|v| v.db.clone()))
            .collect();
        for db in implied {
            self.databases
                .entry(key(&db, cs))
                .or_insert_with(|| DatabaseSource {
                    name: db.clone(),
                    schema_file: None,
                });
        }
        SourceCatalog {
            databases: self.databases.into_values().collect(),
            tables: self.tables.into_values().collect(),
            views: self.views.into_values().collect(),
            skipped: self.skipped,
        }
    }
}

/// Numeric keys compare as numbers (`2` < `10`), others as text.
fn sort_key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(paths: &[&str]) -> Vec<ListedFile> {
        paths
            .iter()
            .map(|p| ListedFile {
                path: p.to_string(),
                size: 10,
            })
            .collect()
    }

    #[test]
    fn groups_files_by_table_case_insensitively() {
        let files = listed(&[
            "Shop-schema-create.sql",
            "shop.Orders-schema.sql",
            "shop.orders.10.sql",
            "SHOP.ORDERS.2.sql",
            "shop.orders-schema-trigger.sql",
            "shop.v-schema-view.sql",
            "metadata",
        ]);
        let cat = build_catalog(&files, &MydumperConfig::default()).expect("catalog");
        assert_eq!(cat.databases.len(), 1);
        assert_eq!(
            cat.databases[0].schema_file.as_deref(),
            Some("Shop-schema-create.sql")
        );
        assert_eq!(cat.tables.len(), 1);
        let t = &cat.tables[0];
        assert_eq!((t.db.as_str(), t.name.as_str()), ("shop", "Orders"));
        let order: Vec<&str> = t.data_files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(order, vec!["SHOP.ORDERS.2.sql", "shop.orders.10.sql"]);
        assert_eq!(cat.views.len(), 1);
        assert_eq!(cat.skipped.len(), 2);
    }

    #[test]
    fn filter_excludes_tables() {
        let cfg = MydumperConfig {
            filter: vec!["db.*".into(), "!db.tmp*".into()],
            ..MydumperConfig::default()
        };
        let files = listed(&["db.keep.sql", "db.tmp1.sql", "other.t.sql"]);
        let cat = build_catalog(&files, &cfg).expect("catalog");
        let names: Vec<&str> = cat.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["keep"]);
    }

    #[test]
    fn routed_parquet_is_an_error() {
        let err = build_catalog(&listed(&["db.t.parquet"]), &MydumperConfig::default())
            .expect_err("parquet");
        assert_eq!(err.kind, ErrorKind::Unsupported);
        assert!(
            err.to_string().contains("parquet is not supported"),
            "{err}"
        );
    }
}
