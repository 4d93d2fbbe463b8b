//! The conflict report: every conflicting row, decoded, as JSONL and CSV
//! under `<output>/conflicts/<db>.<table>.{jsonl,csv}`.

pub mod files;
pub mod lines;

pub use files::{write_table_report, ReportWriter};
pub use lines::{report_lines, row_columns, ReportLine};
