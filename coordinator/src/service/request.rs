//! A submitted job (or one found unfinished in the store at start) as the
//! runner's options, in the cluster flavour.

use std::path::{Path, PathBuf};

use squall_common::TaskConfig;
use squall_worker::node::JobConfigRecord;

use super::wire::JobRequest;
use crate::run::{ClusterSeams, ImportOptions, Workers};

/// The options, or why the request cannot run (said to the submitter).
pub fn import_options(req: &JobRequest, seams: &ClusterSeams) -> Result<ImportOptions, String> {
    if req.pd_addrs.is_empty() {
        return Err("pd_addrs: at least one PD address is needed".into());
    }
    for (field, path) in [
        ("source_dir", &req.source_dir),
        ("output_dir", &req.output_dir),
    ] {
        // A source URL (s3://…) is reachable from every node as it is.
        let url = field == "source_dir" && squall_source::storage::is_remote(path);
        if !url && !Path::new(path).is_absolute() {
            return Err(format!(
                "{field}: {path:?} must be an absolute path that every node sees{}",
                if field == "source_dir" {
                    " or an s3:// URL"
                } else {
                    ""
                }
            ));
        }
    }
    let mut cfg = TaskConfig::from_toml(&req.task_toml, Path::new("the submitted task config"))
        .map_err(|e| e.to_string())?;
    cfg.mydumper.data_source_dir = req.source_dir.clone();
    cfg.tidb.pd_addr = req.pd_addrs.join(",");
    cfg.validate().map_err(|e| e.to_string())?;
    let mut opts = ImportOptions::new(
        cfg,
        PathBuf::from(&req.source_dir),
        req.pd_addrs.clone(),
        PathBuf::from(&req.output_dir),
    );
    opts.workers = Workers::Cluster(seams.clone());
    Ok(opts)
}

/// The request that started a job, from the config it stored.
pub fn from_stored(record: JobConfigRecord) -> JobRequest {
    JobRequest {
        task_toml: record.task_toml,
        source_dir: record.source_dir,
        pd_addrs: record.pd_addrs,
        output_dir: record.output_dir,
    }
}
