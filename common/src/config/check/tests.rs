use super::*;
use crate::config::{ConflictStrategy, PostOpLevel};

fn keys_of(problems: &[ConfigProblem]) -> Vec<&str> {
    problems.iter().map(|p| p.key.as_str()).collect()
}

#[test]
fn every_problem_of_a_file_in_one_run_with_positions() {
    let text = "\
[lightning]
table-concurency = 2
region-concurrency = 'many'

[tikv-importer]
backend = 'tidb'
sorted-kv-dirr = '/x'

[nonsense]
a = 1

[mydumper.csv]
separator = ','
";
    let r = check_toml(text).expect("valid TOML");
    assert_eq!(
        keys_of(&r.errors),
        [
            "lightning.table-concurency",
            "lightning.region-concurrency",
            "tikv-importer.backend",
            "tikv-importer.sorted-kv-dirr",
            "nonsense",
        ],
        "{:#?}",
        r.errors
    );
    let at = |k: &str| {
        let p = r.errors.iter().find(|p| p.key == k).expect("reported");
        (p.line, p.column)
    };
    assert_eq!(at("lightning.table-concurency"), (Some(2), Some(1)));
    // A bad value points at the value.
    assert_eq!(at("lightning.region-concurrency"), (Some(3), Some(22)));
    assert_eq!(at("tikv-importer.backend"), (Some(6), Some(11)));
    let typo = r
        .errors
        .iter()
        .find(|p| p.key == "lightning.table-concurency")
        .expect("typo");
    assert!(
        typo.message.contains("lightning.table-concurrency"),
        "{typo}"
    );
    let refused = r
        .errors
        .iter()
        .find(|p| p.key == "tikv-importer.backend")
        .expect("backend");
    assert!(refused.message.contains("physical"), "{refused}");
    // What was fine still loads.
    assert_eq!(r.config.mydumper.csv.separator, ",");
}

#[test]
fn no_effect_keys_warn_by_name_and_refusals_depend_on_the_value() {
    let text = "\
[lightning]
status-addr = ':8289'
server-mode = false
max-size = 128

[cron]
switch-mode = '5m'

[tikv-importer]
keyspace-name = ''
add-index-by-sql = true

[tidb.session-vars]
tidb_enable_clustered_index = 'OFF'
";
    let r = check_toml(text).expect("valid TOML");
    assert_eq!(keys_of(&r.errors), ["tikv-importer.add-index-by-sql"]);
    assert_eq!(
        keys_of(&r.warnings),
        [
            "lightning.status-addr",
            "lightning.server-mode",
            "lightning.max-size",
            "cron.switch-mode",
            "tikv-importer.keyspace-name",
            "tidb.session-vars.tidb_enable_clustered_index",
        ]
    );
    assert!(r.warnings.iter().all(|w| w.message.contains("no effect")));
    assert_eq!(r.warnings[3].line, Some(7));
}

#[test]
fn a_typo_in_an_ignored_duration_is_still_an_error() {
    let r = check_toml("[cron]\nlog-progress = '5 minutes'\n").expect("TOML");
    assert_eq!(keys_of(&r.errors), ["cron.log-progress"]);
    assert_eq!(parse_go_duration("1h30m"), Ok(5400.0));
    assert!(parse_go_duration("5mm").is_err());
}

#[test]
fn deprecated_keys_map_onto_conflict_strategy() {
    let r = check_toml("[tikv-importer]\nduplicate-resolution = 'remove'\n").expect("TOML");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.config.conflict.strategy, ConflictStrategy::Replace);
    assert_eq!(keys_of(&r.warnings), ["tikv-importer.duplicate-resolution"]);

    let both = "[tikv-importer]\nduplicate-resolution = 'remove'\n[conflict]\nstrategy = 'error'\n";
    let r = check_toml(both).expect("TOML");
    assert_eq!(keys_of(&r.errors), ["tikv-importer.duplicate-resolution"]);

    let r = check_toml("[tikv-importer]\non-duplicate = 'ignore'\n").expect("TOML");
    assert_eq!(keys_of(&r.errors), ["tikv-importer.on-duplicate"]);
}

#[test]
fn max_error_table_form() {
    let text =
        "[lightning]\nmax-error = { syntax = 0, charset = 9, type = 12, conflict = 3, typo = 1 }\n";
    let r = check_toml(text).expect("TOML");
    assert_eq!(r.config.lightning.max_error, 12);
    assert_eq!(keys_of(&r.errors), ["lightning.max-error.typo"]);
    assert_eq!(
        keys_of(&r.warnings),
        [
            "lightning.max-error.charset",
            "lightning.max-error.conflict"
        ]
    );
    let r = check_toml("[lightning]\nmax-error = { syntax = 1 }\n").expect("TOML");
    assert_eq!(keys_of(&r.errors), ["lightning.max-error.syntax"]);
    let r = check_toml("[lightning]\nmax-error = 5\n").expect("TOML");
    assert!(r.errors.is_empty());
    assert_eq!(r.config.lightning.max_error, 5);
}

#[test]
fn problems_inside_file_rules_name_the_rule() {
    let text = "\
[[mydumper.files]]
pattern = 'a'
schema = 'db'

[[mydumper.files]]
path = 'b.csv'
tabel = 't'
";
    let r = check_toml(text).expect("TOML");
    assert_eq!(keys_of(&r.errors), ["mydumper.files[1].tabel"]);
    assert_eq!(r.errors[0].line, Some(7));
    assert_eq!(r.config.mydumper.files.len(), 2);
    assert_eq!(r.config.mydumper.files[0].schema, "db");
    assert_eq!(r.config.mydumper.files[1].path, "b.csv");
}

#[test]
fn escaped_by_and_post_restore_booleans() {
    let text = "[mydumper.csv]\nescaped-by = ''\n[post-restore]\nchecksum = false\n";
    let r = check_toml(text).expect("TOML");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(!r.config.mydumper.csv.backslash_escape);
    assert_eq!(r.config.post_restore.checksum, PostOpLevel::Off);
    let r = check_toml("[mydumper.csv]\nescaped-by = '|'\n").expect("TOML");
    assert_eq!(keys_of(&r.errors), ["mydumper.csv.escaped-by"]);
}

#[test]
fn validation_problems_get_positions() {
    let text = "[lightning]\nindex-concurrency = 0\n[tidb]\ndistsql-scan-concurrency = 0\n";
    let mut r = check_toml(text).expect("TOML");
    assert!(r.errors.is_empty());
    r.validate(text);
    let found: Vec<_> = r.errors.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert_eq!(
        found,
        [
            ("lightning.index-concurrency", Some(2)),
            ("tidb.distsql-scan-concurrency", Some(4)),
        ]
    );
}

#[test]
fn syntax_errors_say_where() {
    let err = check_toml("[lightning\nx = 1\n").expect_err("syntax");
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn routes_load_into_mydumper_and_bad_rules_are_each_reported() {
    let text = "\
[[routes]]
schema-pattern = 'shard_*'
table-pattern = 't_*'
target-schema = 'db'
target-table = 't'

[[routes]]
schema-pattern = 'other'
target-schema = 'db2'
";
    let r = check_toml(text).expect("valid TOML");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let routes = &r.config.mydumper.routes;
    assert_eq!(routes.len(), 2);
    assert_eq!(
        (
            routes[0].schema_pattern.as_str(),
            routes[0].target_table.as_str()
        ),
        ("shard_*", "t")
    );
    assert_eq!(routes[1].table_pattern, "");
    // A saved config writes them under [mydumper] and reloads the same.
    let saved = toml::to_string(&r.config).expect("serialises");
    let again = check_toml(&saved).expect("valid TOML");
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(again.config.mydumper.routes, *routes);

    let bad = "\
[[routes]]
schema-pattern = 'a'
extract-table = { table-regexp = 'x', target-column = 'c' }
target-schema = 'b'

[[routes]]
table-pattern = 't'
target-table = 'u'

[[routes]]
schema-pattern = 's'
target-schema = 'd'
target-table = 'x'
colour = 'red'
";
    let r = check_toml(bad).expect("valid TOML");
    let all: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
    let text = all.join("\n");
    for needle in [
        "rule 1: refused",
        "rule 2: schema-pattern is required",
        "rule 2: target-schema is required",
        "rule 3: target-table needs a table-pattern",
        "rule 3: unknown key",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(
        r.config.mydumper.routes.is_empty(),
        "bad rules are not kept"
    );
}
