//! A deterministic generated dump (three tables, CSV and SQL) and the rows
//! each table must hold after an import.

use std::fmt::Write as _;
use std::path::Path;

use super::Row;

/// A deterministic dump and the rows each table must end up with.
pub struct Generated {
    pub tables: Vec<(&'static str, Vec<Row>)>,
}

fn row(pairs: &[(&str, Option<String>)]) -> Row {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn csv_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Writes the dump into `dir`. `scale` multiplies the row counts.
pub fn generate(dir: &Path, scale: usize) -> Generated {
    std::fs::create_dir_all(dir).expect("mkdir");
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    w("rt-schema-create.sql", "CREATE DATABASE `rt`;\n");
    w(
        "rt.users-schema.sql",
        "CREATE TABLE `users` (\n  `id` BIGINT NOT NULL PRIMARY KEY,\n  `name` VARCHAR(64) NOT NULL,\n  `email` VARCHAR(128) DEFAULT NULL,\n  `balance` DECIMAL(12,2) NOT NULL,\n  `created` DATETIME NOT NULL,\n  `score` DOUBLE DEFAULT NULL,\n  `note` TEXT,\n  UNIQUE KEY `uk_email` (`email`),\n  KEY `idx_name` (`name`)\n) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;\n",
    );
    w(
        "rt.events-schema.sql",
        "CREATE TABLE `events` (\n  `user_id` INT NOT NULL,\n  `kind` VARCHAR(16) NOT NULL,\n  `amount` INT UNSIGNED NOT NULL,\n  `at` DATE NOT NULL,\n  KEY `idx_user_kind` (`user_id`, `kind`)\n);\n",
    );
    w(
        "rt.tags-schema.sql",
        "CREATE TABLE `tags` (\n  `tag` VARCHAR(32) NOT NULL PRIMARY KEY,\n  `weight` INT\n);\n",
    );

    let users = 1000 * scale;
    let mut user_rows = Vec::new();
    for file in 0..3 {
        let mut text = String::from("id,name,email,balance,created,score,note\n");
        for id in (file..users).step_by(3) {
            let name = format!("user-{:05}", (id * 7919) % users);
            let email = (id % 10 != 0).then(|| format!("u{id}@example.com"));
            let balance = format!("{}.{:02}", (id * 37) % 100_000, id % 100);
            let created = format!(
                "20{:02}-{:02}-{:02} {:02}:{:02}:{:02}",
                10 + id % 15,
                1 + id % 12,
                1 + id % 28,
                id % 24,
                id % 60,
                (id * 7) % 60
            );
            let score = (id % 7 != 3).then(|| format!("{}.25", id % 1000));
            let note = match id % 5 {
                0 => None,
                1 => Some(format!("plain note {id}")),
                2 => Some(format!("comma, and \"quotes\" {id}")),
                3 => Some(format!("two\nlines {id}")),
                _ => Some(String::new()),
            };
            let opt = |v: &Option<String>, quote: bool| match v {
                None => "\\N".to_string(),
                Some(s) if quote => csv_quote(s),
                Some(s) => s.clone(),
            };
            writeln!(
                text,
                "{id},{name},{},{balance},{created},{},{}",
                opt(&email, false),
                opt(&score, false),
                opt(&note, true)
            )
            .expect("fmt");
            user_rows.push(row(&[
                ("id", Some(id.to_string())),
                ("name", Some(name)),
                ("email", email),
                ("balance", Some(balance)),
                ("created", Some(created)),
                ("score", score),
                ("note", note),
            ]));
        }
        w(&format!("rt.users.{file:03}.csv"), &text);
    }

    let events = 2000 * scale;
    let mut event_rows = Vec::new();
    for file in 0..2 {
        let mut text = String::new();
        let mine: Vec<usize> = (0..events).filter(|i| i % 2 == file).collect();
        for stmt in mine.chunks(97) {
            text.push_str("INSERT INTO `events` (`kind`,`user_id`,`amount`,`at`) VALUES\n");
            let tuples: Vec<String> = stmt
                .iter()
                .map(|&i| {
                    let kind = ["click", "view", "buy", "it's"][i % 4];
                    let (user, amount, at) = (
                        i % users,
                        (i as u64 * 2_654_435_761) % 4_000_000_000,
                        format!("2023-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                    );
                    event_rows.push(row(&[
                        ("user_id", Some(user.to_string())),
                        ("kind", Some(kind.to_string())),
                        ("amount", Some(amount.to_string())),
                        ("at", Some(at.clone())),
                    ]));
                    format!("('{}',{user},{amount},'{at}')", kind.replace('\'', "\\'"))
                })
                .collect();
            text.push_str(&tuples.join(",\n"));
            text.push_str(";\n");
        }
        w(&format!("rt.events.{file}.sql"), &text);
    }

    let mut tag_rows = Vec::new();
    let mut text = String::from("INSERT INTO `tags` VALUES ");
    let tags: Vec<String> = (0..200 * scale)
        .map(|i| {
            let tag = format!("tag-{:x}", i * 2_654_435_761usize % 1_000_003);
            let weight = (i % 9 != 0).then(|| (i as i64 - 100).to_string());
            tag_rows.push(row(&[
                ("tag", Some(tag.clone())),
                ("weight", weight.clone()),
            ]));
            format!("('{tag}',{})", weight.unwrap_or_else(|| "NULL".into()))
        })
        .collect();
    text.push_str(&tags.join(","));
    text.push_str(";\n");
    w("rt.tags.sql", &text);

    Generated {
        tables: vec![
            ("rt.users", user_rows),
            ("rt.events", event_rows),
            ("rt.tags", tag_rows),
        ],
    }
}
