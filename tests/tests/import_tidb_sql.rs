//! The SQL steps of an import (`[tidb] host`) against a real MySQL-protocol
//! server (Debian's MariaDB, started per test): a missing database and
//! table are created from the dump's schema files, the AUTO_INCREMENT
//! allocator is moved past the imported rows, ANALYZE runs when asked, and
//! an unreachable server is named in the error within the timeout. The
//! rows themselves go to tikv-sim as in every import test; TiDB-only
//! statements are skipped on MariaDB and the summary says so.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::Path;
use std::time::{Duration, Instant};

use import_common::{config, export_rows, import, val};
use mysql_async::prelude::Queryable;
use squall_common::config::{Password, PostOpLevel};
use squall_common::TaskConfig;
use squall_tests::mariadb::{self, MariaDb};
use squall_tests::sim::start_sim;

/// `shop.items`: ids given in the data, the largest 900.
const ITEMS_SCHEMA: &str = "/*!40101 SET NAMES binary*/;\n\
CREATE TABLE `items` (\n\
  `id` INT NOT NULL AUTO_INCREMENT,\n\
  `name` VARCHAR(20) NOT NULL COMMENT 'shown; in lists',\n\
  `qty` INT DEFAULT NULL,\n\
  PRIMARY KEY (`id`)\n\
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n";
const ITEMS_DATA: &str =
    "INSERT INTO `items` (`id`,`name`,`qty`) VALUES (1,'apple',3),(2,'pear',NULL),(900,'plum',7);\n";
/// `shop.logs`: ids left to the import (the column is not in the data), so
/// they come from the row IDs 1..=4.
const LOGS_SCHEMA: &str = "CREATE TABLE `logs` (\n\
  `id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n\
  `msg` VARCHAR(50)\n\
);\n";
const LOGS_DATA: &str = "INSERT INTO `logs` (`msg`) VALUES ('a'),('b'),('c'),('d');\n";

fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("shop-schema-create.sql"),
        "CREATE DATABASE `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;\n",
    )
    .unwrap();
    std::fs::write(dir.join("shop.items-schema.sql"), ITEMS_SCHEMA).unwrap();
    std::fs::write(dir.join("shop.items.000000001.sql"), ITEMS_DATA).unwrap();
    std::fs::write(dir.join("shop.logs-schema.sql"), LOGS_SCHEMA).unwrap();
    std::fs::write(dir.join("shop.logs.000000001.sql"), LOGS_DATA).unwrap();
}

fn sql_config(work: &Path, port: u16) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.tidb.host = "127.0.0.1".into();
    cfg.tidb.port = port;
    cfg.tidb.user = mariadb::USER.into();
    cfg.tidb.password = Password(mariadb::PASSWORD.into());
    cfg.post_restore.analyze = PostOpLevel::Off;
    cfg
}

async fn columns(db: &MariaDb, schema: &str, table: &str) -> Vec<String> {
    let mut conn = db.conn().await;
    conn.exec(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        (schema, table),
    )
    .await
    .unwrap()
}

/// The target has neither the database nor the tables: the import creates
/// them from the dump's schema files (names and columns as dumped), and
/// the rows are in TiKV.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn missing_database_and_tables_are_created_from_the_dump() {
    let Some(db) = mariadb::start_or_skip().await else {
        return;
    };
    assert!(columns(&db, "shop", "items").await.is_empty());
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = sql_config(work.path(), db.port());
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    let rows = export_rows(&sim, &source, &cfg, "shop.items").await;
    sim.shutdown().await;
    assert_eq!(rows.len(), 3);
    assert_eq!(columns(&db, "shop", "items").await, ["id", "name", "qty"]);
    assert_eq!(columns(&db, "shop", "logs").await, ["id", "msg"]);
    // The column comment with a `;` and the table options came through.
    let mut conn = db.conn().await;
    let comment: Option<String> = conn
        .query_first(
            "SELECT COLUMN_COMMENT FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'items' AND COLUMN_NAME = 'name'",
        )
        .await
        .unwrap();
    assert_eq!(comment.as_deref(), Some("shown; in lists"));
    let text = summary.to_string();
    assert!(text.contains("created database `shop`"), "{text}");
    assert!(
        text.contains("created table `shop`.`items` from shop.items-schema.sql"),
        "{text}"
    );
    // MariaDB is no TiDB: the summary says what was not done and why.
    assert!(text.contains("TiDB-only steps skipped"), "{text}");
}

/// After the import, an INSERT that lets the server pick the ID must not
/// collide with an imported row: AUTO_INCREMENT is past the largest
/// imported ID, whether the data gave it (900) or the import did (4).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auto_increment_is_rebased_past_the_imported_maximum() {
    let Some(db) = mariadb::start_or_skip().await else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = sql_config(work.path(), db.port());
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    let logs = export_rows(&sim, &source, &cfg, "shop.logs").await;
    sim.shutdown().await;
    let max_log: i64 = logs
        .iter()
        .map(|r| val(r, "id").parse::<i64>().unwrap())
        .max()
        .unwrap();
    assert_eq!(max_log, 4, "{logs:?}");
    let mut conn = db.conn().await;
    conn.query_drop("INSERT INTO shop.items (name, qty) VALUES ('new', 1)")
        .await
        .unwrap();
    let item_id = conn.last_insert_id().unwrap();
    assert!(item_id > 900, "new item got id {item_id}, an imported id");
    conn.query_drop("INSERT INTO shop.logs (msg) VALUES ('new')")
        .await
        .unwrap();
    let log_id = conn.last_insert_id().unwrap();
    assert!(log_id > 4, "new log got id {log_id}, an imported id");
    let text = summary.to_string();
    assert!(
        text.contains("ran ALTER TABLE `shop`.`items` AUTO_INCREMENT = 901"),
        "{text}"
    );
}

/// `post-restore.analyze = required`: ANALYZE TABLE runs on every table
/// and the server's status for it is OK.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn analyze_runs_when_asked() {
    let Some(db) = mariadb::start_or_skip().await else {
        return;
    };
    let analyzed = async || -> u64 {
        let mut conn = db.conn().await;
        let row: Option<(String, String)> = conn
            .query_first("SHOW GLOBAL STATUS LIKE 'Com_analyze'")
            .await
            .unwrap();
        row.unwrap().1.parse().unwrap()
    };
    let before = analyzed().await;
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = sql_config(work.path(), db.port());
    cfg.post_restore.analyze = PostOpLevel::Required;
    let summary = import(&sim, &source, cfg, work.path())
        .await
        .expect("import");
    sim.shutdown().await;
    assert!(summary.verified, "{summary}");
    assert_eq!(analyzed().await - before, 2, "one ANALYZE per table");
    let text = summary.to_string();
    for table in ["`shop`.`items`", "`shop`.`logs`"] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("ANALYZE TABLE {table}:")))
            .unwrap_or_else(|| panic!("no ANALYZE line for {table}: {text}"));
        assert!(line.contains("status: OK"), "{line}");
    }
}

/// Nobody listens at tidb.host:tidb.port: the import fails before writing,
/// within the configured timeout and retries, with an error that names the
/// address and the keys to check.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_sql_server_is_named_within_the_timeout() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let port = squall_tests::free_port();
    let mut cfg = sql_config(work.path(), port);
    cfg.squall.rpc_timeout_secs = 2;
    cfg.squall.max_retries = 3;
    let started = Instant::now();
    let err = import(&sim, &source, cfg, work.path())
        .await
        .expect_err("no SQL server there");
    let took = started.elapsed();
    sim.shutdown().await;
    let msg = err.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.contains("tidb.host"), "{msg}");
    assert!(msg.contains("3 attempt(s)"), "{msg}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// The target already has the table, with other columns: the rows would
/// be encoded for the dump's definition, so the job is refused before it
/// writes anything, naming both column lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn existing_table_with_other_columns_is_refused() {
    let Some(db) = mariadb::start_or_skip().await else {
        return;
    };
    let mut conn = db.conn().await;
    conn.query_drop("CREATE DATABASE shop").await.unwrap();
    conn.query_drop("CREATE TABLE shop.items (id INT PRIMARY KEY, title TEXT)")
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = sql_config(work.path(), db.port());
    let err = import(&sim, &source, cfg, work.path())
        .await
        .expect_err("the target's columns differ");
    sim.shutdown().await;
    let msg = err.to_string();
    assert!(
        msg.contains("`shop`.`items` exists with columns (id, title)")
            && msg.contains("defines (id, name, qty)"),
        "{msg}"
    );
    // Every existing table is checked before anything is created: the
    // refusal left the target as it was (no `logs`).
    assert!(columns(&db, "shop", "logs").await.is_empty());
}
