//! Where each record lives. Numbers are zero-padded so that a prefix listing
//! returns tables and engines in numeric order.

const ROOT: &str = "squall/jobs";

pub fn jobs_prefix() -> String {
    format!("{ROOT}/")
}

/// Every record of one job (job, tables, engines, control, config, ...).
pub fn job_prefix(job_id: &str) -> String {
    format!("{ROOT}/{job_id}/")
}

pub fn job(job_id: &str) -> String {
    format!("{ROOT}/{job_id}/job")
}

/// The operator's pause / resume / cancel of the job (`control::JobControl`).
pub fn control(job_id: &str) -> String {
    format!("{ROOT}/{job_id}/control")
}

pub fn tables_prefix(job_id: &str) -> String {
    format!("{ROOT}/{job_id}/tables/")
}

pub fn table(job_id: &str, table_id: i64) -> String {
    format!("{ROOT}/{job_id}/tables/{table_id:012}")
}

pub fn engines_prefix(job_id: &str) -> String {
    format!("{ROOT}/{job_id}/engines/")
}

pub fn table_engines_prefix(job_id: &str, table_id: i64) -> String {
    format!("{ROOT}/{job_id}/engines/{table_id:012}/")
}

pub fn engine(job_id: &str, table_id: i64, engine_id: u32) -> String {
    format!("{ROOT}/{job_id}/engines/{table_id:012}/{engine_id:06}")
}

/// Engine ranges (`squall.engine-ranges`) of every table of a job.
pub fn ranges_prefix(job_id: &str) -> String {
    format!("{ROOT}/{job_id}/ranges/")
}

pub fn table_ranges_prefix(job_id: &str, table_id: i64) -> String {
    format!("{ROOT}/{job_id}/ranges/{table_id:012}/")
}

pub fn range(job_id: &str, table_id: i64, range_id: u32) -> String {
    format!("{ROOT}/{job_id}/ranges/{table_id:012}/{range_id:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_nest_under_their_prefixes() {
        assert!(engine("j1", 42, 3).starts_with(&table_engines_prefix("j1", 42)));
        assert!(table_engines_prefix("j1", 42).starts_with(&engines_prefix("j1")));
        assert!(table("j1", 42).starts_with(&tables_prefix("j1")));
        assert!(!table("j1", 42).starts_with(&engines_prefix("j1")));
        assert!(job("j1").starts_with(&jobs_prefix()));
        assert!(control("j1").starts_with(&job_prefix("j1")));
        assert!(!job("j10").starts_with(&job_prefix("j1")));
        // Numeric order equals key order.
        assert!(engine("j", 9, 10) < engine("j", 10, 0));
        assert!(engine("j", 10, 9) < engine("j", 10, 10));
    }
}
