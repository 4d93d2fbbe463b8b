//! Where each artefact lives. Keys here are relative to one job: a store
//! shared by many jobs is seen through [`super::for_job`], which puts them
//! under `<job>/`.

/// Everything of one job in a store shared by a cluster: `<job>/`.
pub fn job_prefix(job_id: &str) -> String {
    format!("{job_id}/")
}

/// One engine's local duplicates (the format of [`crate::duplicates_file`]):
/// `duplicates/t<table>-e<engine>.jsonl`, the same relative path as the file
/// under the output directory in embedded mode.
pub fn local_duplicates(table_id: i64, engine_id: u32) -> String {
    format!("duplicates/t{table_id}-e{engine_id}.jsonl")
}

/// One engine range's local duplicates (`squall.engine-ranges`, same
/// format): `duplicates/t<table>-r<range>.jsonl`, also its path under the
/// output directory.
pub fn range_duplicates(table_id: i64, range_id: u32) -> String {
    format!("duplicates/t{table_id}-r{range_id}.jsonl")
}

/// One run file of engine ranges (`squall.engine-ranges`): the KVs engine
/// `engine`'s attempt `attempt` encoded into range `range` of `table`, as an
/// SST in the local engine's key format. Deleted once the range is ingested.
pub fn run(table_id: i64, range_id: u32, engine_id: u32, attempt: u32) -> String {
    format!("runs/t{table_id}/r{range_id:06}/e{engine_id:06}-a{attempt}.sst")
}

/// Every run file of one range.
pub fn range_runs_prefix(table_id: i64, range_id: u32) -> String {
    format!("runs/t{table_id}/r{range_id:06}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_key_is_the_files_relative_path() {
        let root = std::path::Path::new("/out");
        assert_eq!(
            root.join(local_duplicates(7, 3)),
            crate::duplicates_file::duplicates_path(root, 7, 3)
        );
        assert!(super::super::validate_key(&local_duplicates(-1, 0)).is_ok());
        assert_eq!(job_prefix("j1"), "j1/");
    }
}
