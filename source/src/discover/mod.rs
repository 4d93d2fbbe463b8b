//! Discovery: list the source directory and build the [`SourceCatalog`].

mod filter;
mod route;
mod shard;

use std::collections::BTreeMap;

use squall_common::config::MydumperConfig;

use crate::catalog::{
    DataFile, DatabaseSource, FileKind, SkippedFile, SourceCatalog, TableSource, ViewSource,
};
use crate::error::{ErrorKind, SourceError};
use crate::storage::{ListedFile, SourceStore};

pub use filter::TableFilter;
pub use route::{Route, RouteType, Router};
pub use shard::ShardRouter;

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
    /// Tables whose schema file came from a routed shard (the target's own
    /// schema file replaces it).
    routed_schema: std::collections::BTreeSet<(String, String)>,
}

/// Routes listed files into a catalog. Files that match no rule are
/// skipped.
pub fn build_catalog(
    files: &[ListedFile],
    cfg: &MydumperConfig,
) -> Result<SourceCatalog, SourceError> {
    let router = Router::new(cfg)?;
    let shards = ShardRouter::new(&cfg.routes, cfg.case_sensitive)?;
    let filter = TableFilter::new(&cfg.filter, cfg.case_sensitive)?;
    let cs = cfg.case_sensitive;
    let mut b = Builder::default();
    for f in files {
        let Some(mut route) = router.route(&f.path)? else {
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
            let routed = shards
                .route_schema(&route.db)
                .map_err(|e| e.with_file(&f.path))?;
            let name = routed.clone().unwrap_or_else(|| route.db.clone());
            let db = b
                .databases
                .entry(key(&name, cs))
                .or_insert_with(|| DatabaseSource {
                    name: name.clone(),
                    schema_file: None,
                });
            // Shards routed into one schema: the first file names it (its
            // text is never executed, only the name is used).
            if routed.is_none() || db.schema_file.is_none() {
                db.schema_file = Some(f.path.clone());
            }
            continue;
        }
        if !filter.matches(&route.db, &route.table) {
            b.skipped.push(SkippedFile {
                path: f.path.clone(),
                reason: "excluded by the table filter".into(),
            });
            continue;
        }
        let mut routed = false;
        if route.kind != RouteType::ViewSchema {
            let target = shards
                .route_table(&route.db, &route.table)
                .map_err(|e| e.with_file(&f.path))?;
            if let Some((db, table)) = target {
                routed = (db.as_str(), table.as_str()) != (route.db.as_str(), route.table.as_str());
                (route.db, route.table) = (db, table);
            }
        }
        b.add_table_file(f, route, routed, cs)?;
    }
    Ok(b.finish(cs))
}

impl Builder {
    fn add_table_file(
        &mut self,
        f: &ListedFile,
        route: Route,
        routed: bool,
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
        let table = self.tables.entry(k.clone()).or_insert_with(|| TableSource {
            db: route.db.clone(),
            name: route.table.clone(),
            schema_file: None,
            data_files: Vec::new(),
        });
        let kind = match route.kind {
            RouteType::TableSchema => {
                // Shard merge: one CREATE TABLE for the target, its own
                // schema file if it has one, else the first shard's.
                let kept_routed = self.routed_schema.contains(&k);
                if let Some(prev) = table.schema_file.clone().filter(|_| routed || kept_routed) {
                    if routed {
                        self.skipped.push(SkippedFile {
                            path: f.path.clone(),
                            reason: format!(
                                "schema of a table routed into `{}`.`{}`, which uses {prev}",
                                route.db, route.table
                            ),
                        });
                        return Ok(());
                    }
                    self.skipped.push(SkippedFile {
                        path: prev,
                        reason: format!(
                            "schema of a table routed into `{}`.`{}`, which uses its own {}",
                            route.db, route.table, f.path
                        ),
                    });
                    self.routed_schema.remove(&k);
                    table.schema_file = None;
                }
                if let Some(prev) = &table.schema_file {
                    let reason = format!(
                        "table `{}`.`{}` has two schema files: {prev} and {}",
                        route.db, route.table, f.path
                    );
                    return Err(SourceError::new(ErrorKind::Routing, &f.path, reason));
                }
                table.schema_file = Some(f.path.clone());
                if routed {
                    self.routed_schema.insert(k);
                } else {
                    // The schema file's spelling of the names wins.
                    table.db = route.db;
                    table.name = route.table;
                }
                return Ok(());
            }
            RouteType::Sql => FileKind::Sql,
            RouteType::Csv => FileKind::Csv,
            RouteType::Parquet => FileKind::Parquet,
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
    fn parquet_files_are_routed_like_csv_and_sql() {
        let files = listed(&["db.t.parquet", "db.t.2.parquet", "test.parquet"]);
        let cat = build_catalog(&files, &MydumperConfig::default()).expect("catalog");
        assert_eq!(cat.tables.len(), 1);
        let kinds: Vec<(&str, FileKind)> = cat.tables[0]
            .data_files
            .iter()
            .map(|f| (f.path.as_str(), f.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("db.t.parquet", FileKind::Parquet),
                ("db.t.2.parquet", FileKind::Parquet)
            ]
        );
        // One dot: matches no rule (Lightning's examples/test.parquet).
        assert_eq!(cat.skipped.len(), 1);
    }
}

#[cfg(test)]
mod shard_tests {
    use super::*;
    use squall_common::config::TableRoute;

    fn listed(paths: &[&str]) -> Vec<ListedFile> {
        paths
            .iter()
            .map(|p| ListedFile {
                path: p.to_string(),
                size: 10,
            })
            .collect()
    }

    fn routes(target_own_schema: bool) -> SourceCatalog {
        let cfg = MydumperConfig {
            routes: vec![TableRoute {
                schema_pattern: "shard_*".into(),
                table_pattern: "t".into(),
                target_schema: "db".into(),
                target_table: "t".into(),
            }],
            ..MydumperConfig::default()
        };
        let mut paths = vec![
            "shard_1-schema-create.sql",
            "shard_1.t-schema.sql",
            "shard_1.t.000000001.sql",
            "shard_2-schema-create.sql",
            "shard_2.t-schema.sql",
            "shard_2.t.000000001.sql",
            "shard_2.u.sql",
        ];
        if target_own_schema {
            paths.push("db.t-schema.sql");
        }
        build_catalog(&listed(&paths), &cfg).expect("catalog")
    }

    #[test]
    fn shards_merge_into_the_target_table() {
        let cat = routes(false);
        let t = cat.table("db", "t", false).expect("target table");
        assert_eq!(t.schema_file.as_deref(), Some("shard_1.t-schema.sql"));
        let files: Vec<&str> = t.data_files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            files,
            vec!["shard_1.t.000000001.sql", "shard_2.t.000000001.sql"]
        );
        // Tables no rule matches stay where they are.
        assert!(cat.table("shard_2", "u", false).is_some());
        assert!(cat.table("shard_1", "t", false).is_none());
        assert!(
            cat.skipped
                .iter()
                .any(|s| s.path == "shard_2.t-schema.sql"
                    && s.reason.contains("shard_1.t-schema.sql"))
        );
    }

    #[test]
    fn the_targets_own_schema_file_wins() {
        let cat = routes(true);
        let t = cat.table("db", "t", false).expect("target table");
        assert_eq!(t.schema_file.as_deref(), Some("db.t-schema.sql"));
        assert_eq!(t.data_files.len(), 2);
    }
}
