//! Naming a job so a rerun finds its checkpoints: the job ID is derived from
//! what the job imports (the canonical source directory) and where (the PD
//! addresses); the config hash covers every setting that changes the KVs a
//! plan produces, so a resume under different settings is refused instead of
//! mixing two encodings.

use squall_common::TaskConfig;

/// `j` + 16 hex digits of CRC-64 over the source directory and PD addresses.
pub fn job_id(source_dir: &str, pd_addrs: &[String]) -> String {
    let mut pds = pd_addrs.to_vec();
    pds.sort();
    let text = format!("{source_dir}\0{}", pds.join(","));
    format!("j{:016x}", crc64(text.as_bytes()))
}

/// Hash of the settings that decide which KVs (and engines) the job makes.
/// Concurrency, logging, retry and timeout knobs are left out: changing them
/// between runs is fine.
pub fn config_hash(cfg: &TaskConfig) -> String {
    let m = &cfg.mydumper;
    let relevant = serde_json::json!({
        "mydumper": {
            "max-region-size": m.max_region_size.0,
            "batch-size": m.batch_size.0,
            "character-set": m.character_set,
            "strict-format": m.strict_format,
            "case-sensitive": m.case_sensitive,
            "default-file-rules": m.default_file_rules,
            "filter": m.filter,
            "files": m.files,
            "csv": m.csv,
        },
        "sql-mode": cfg.tidb.sql_mode,
        "time-zone": cfg.tidb.time_zone,
        "table-ids": cfg.squall.table_ids,
    });
    // Engine ranges change the plan (range records, run files); only when
    // on, so the hash of every job planned without them stays as it was.
    let mut relevant = relevant;
    if cfg.squall.engine_ranges {
        relevant["engine-ranges"] = serde_json::Value::Bool(true);
    }
    // After-data engines hold rows only; only when set, as above.
    if cfg.squall.index_mode == squall_common::config::IndexMode::AfterData {
        relevant["index-mode"] = serde_json::Value::from("after-data");
    }
    format!("{:016x}", crc64(relevant.to_string().as_bytes()))
}

/// CRC-64 over what the catalog routes: every table's schema file and its
/// data files with their sizes (files no rule routes, such as logs written
/// beside the dump, do not count).
pub fn source_fingerprint(catalog: &squall_source::SourceCatalog) -> String {
    let mut text = String::new();
    for t in &catalog.tables {
        text.push_str(&format!("{}.{}\0{:?}\n", t.db, t.name, t.schema_file));
        for f in &t.data_files {
            text.push_str(&format!("{}\0{}\n", f.path, f.size));
        }
    }
    format!("{:016x}", crc64(text.as_bytes()))
}

fn crc64(bytes: &[u8]) -> u64 {
    let mut d = crc64fast::Digest::new();
    d.write(bytes);
    d.sum64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_id_is_stable_and_order_free() {
        let a = job_id("/data/dump", &["pd1:2379".into(), "pd2:2379".into()]);
        let b = job_id("/data/dump", &["pd2:2379".into(), "pd1:2379".into()]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 17);
        assert_ne!(a, job_id("/data/other", &["pd1:2379".into()]));
    }

    #[test]
    fn config_hash_ignores_concurrency_but_not_sql_mode() {
        let base = TaskConfig::default();
        let mut faster = base.clone();
        faster.lightning.region_concurrency = 64;
        assert_eq!(config_hash(&base), config_hash(&faster));
        let mut lax = base.clone();
        lax.tidb.sql_mode = String::new();
        assert_ne!(config_hash(&base), config_hash(&lax));
    }
}
