//! Value checks that serde cannot make: ranges, patterns, combinations.
//! All of them run, so one pass names every problem; a zero concurrency or
//! size is an error here, never a silent `.max(1)` at the use site.

use super::TaskConfig;

/// Schema-file character sets (`source::SourceCharset` reads the same names).
const SCHEMA_CHARSETS: &[&str] = &[
    "auto", "utf8mb4", "utf8", "utf-8", "binary", "latin1", "gbk", "gb18030",
];

impl TaskConfig {
    /// Every problem as (key, reason); empty when the config is usable.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |key: &str, reason: String| out.push((key.to_string(), reason));

        let positive: [(&str, u64); 14] = [
            (
                "lightning.table-concurrency",
                self.lightning.table_concurrency as u64,
            ),
            (
                "lightning.index-concurrency",
                self.lightning.index_concurrency as u64,
            ),
            (
                "lightning.region-concurrency",
                self.lightning.region_concurrency as u64,
            ),
            (
                "tikv-importer.range-concurrency",
                self.tikv_importer.range_concurrency as u64,
            ),
            (
                "tikv-importer.send-kv-pairs",
                self.tikv_importer.send_kv_pairs as u64,
            ),
            (
                "tikv-importer.send-kv-size",
                self.tikv_importer.send_kv_size.0,
            ),
            (
                "tikv-importer.region-split-size",
                self.tikv_importer.region_split_size.0,
            ),
            (
                "tikv-importer.region-split-keys",
                self.tikv_importer.region_split_keys,
            ),
            (
                "tikv-importer.local-writer-mem-cache-size",
                self.tikv_importer.local_writer_mem_cache_size.0,
            ),
            (
                "tidb.distsql-scan-concurrency",
                self.tidb.distsql_scan_concurrency as u64,
            ),
            ("mydumper.read-block-size", self.mydumper.read_block_size.0),
            ("mydumper.batch-size", self.mydumper.batch_size.0),
            ("mydumper.max-region-size", self.mydumper.max_region_size.0),
            ("conflict.resolve-memory", self.conflict.resolve_memory.0),
        ];
        for (key, v) in positive {
            if v == 0 {
                bad(
                    key,
                    "must be at least 1 (0 is not \"unlimited\" here)".into(),
                );
            }
        }
        for (key, v) in [
            ("squall.rpc-timeout-secs", self.squall.rpc_timeout_secs),
            ("squall.max-retries", u64::from(self.squall.max_retries)),
            (
                "conflict.resolve-batch-rows",
                self.conflict.resolve_batch_rows,
            ),
            (
                "squall.stream-idle-timeout-secs",
                self.squall.stream_idle_timeout_secs,
            ),
            (
                "squall.index-backfill-batch-size",
                u64::from(self.squall.index_backfill_batch_size),
            ),
        ] {
            if v == 0 {
                bad(key, "must be at least 1".into());
            }
        }

        // After-data resolves duplicates on the rows first and finds unique
        // conflicts only when it builds the indexes: only "error" (fail on
        // any) ends as a with-data import of the same dump ends. "replace",
        // "remove" and "record" decide over rows connected by any unique key
        // at once, which that order cannot reproduce.
        if self.squall.index_mode == super::IndexMode::AfterData
            && self.conflict.strategy != super::ConflictStrategy::Error
        {
            bad(
                "squall.index-mode",
                format!(
                    "\"after-data\" works with conflict.strategy = \"error\" only (it is \"{}\"): \
                     the other strategies resolve rows connected by any unique key at once, \
                     which an import that builds its indexes after the rows cannot reproduce; \
                     use index-mode = \"with-data\" or conflict.strategy = \"error\"",
                    self.conflict.strategy
                ),
            );
        }

        let m = &self.mydumper;
        if !SCHEMA_CHARSETS.contains(&m.character_set.trim().to_ascii_lowercase().as_str()) {
            bad(
                "mydumper.character-set",
                format!(
                    "{:?}: expected auto, utf8mb4, binary, latin1, gbk or gb18030",
                    m.character_set
                ),
            );
        }
        let csv = &m.csv;
        if csv.separator.is_empty() {
            bad("mydumper.csv.separator", "must not be empty".into());
        }
        if !csv.delimiter.is_empty()
            && (csv.separator.starts_with(&csv.delimiter)
                || csv.delimiter.starts_with(&csv.separator))
        {
            bad(
                "mydumper.csv.delimiter",
                "the separator and the delimiter must not be prefixes of each other".into(),
            );
        }
        let replace = &m.data_invalid_char_replace;
        if !replace.is_empty() {
            let marks = [
                ("separator", csv.separator.as_str()),
                ("delimiter", csv.delimiter.as_str()),
                ("terminator", csv.terminator.as_str()),
                ("line break", "\n"),
                ("line break", "\r"),
            ];
            for (what, mark) in marks {
                if !mark.is_empty() && (replace.contains(mark) || mark.contains(replace.as_str())) {
                    bad(
                        "mydumper.data-invalid-char-replace",
                        format!("{replace:?} overlaps the CSV {what} {mark:?}: choose another"),
                    );
                }
            }
        }
        for (i, rule) in m.files.iter().enumerate() {
            let key = |k: &str| format!("mydumper.files[{i}].{k}");
            if rule.pattern.is_empty() == rule.path.is_empty() {
                bad(
                    &key("pattern"),
                    "each rule needs exactly one of `pattern` and `path`".into(),
                );
            }
            if !rule.pattern.is_empty() {
                if let Err(e) = regex::Regex::new(&rule.pattern) {
                    bad(&key("pattern"), format!("{:?}: {e}", rule.pattern));
                }
            }
            let c = rule.compression.to_ascii_lowercase();
            if !c.contains('$')
                && !matches!(
                    c.as_str(),
                    "" | "gz" | "gzip" | "zst" | "zstd" | "snappy" | "snz"
                )
            {
                bad(
                    &key("compression"),
                    format!(
                        "{:?}: expected gzip, zstd, snappy or empty",
                        rule.compression
                    ),
                );
            }
        }
        out.extend(self.security.problems());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_listed_at_once() {
        let mut cfg = TaskConfig::default();
        cfg.lightning.index_concurrency = 0;
        cfg.tikv_importer.range_concurrency = 0;
        cfg.mydumper.character_set = "ebcdic".into();
        cfg.mydumper.data_invalid_char_replace = ",".into();
        let keys: Vec<String> = cfg.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(
            keys,
            [
                "lightning.index-concurrency",
                "tikv-importer.range-concurrency",
                "mydumper.character-set",
                "mydumper.data-invalid-char-replace",
            ]
        );
        assert!(TaskConfig::default().problems().is_empty());
    }
}
