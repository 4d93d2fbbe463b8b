//! CSV files in Lightning's dialect (`[mydumper.csv]`).

mod options;
mod reader;

pub use options::CsvOptions;
pub use reader::{CsvReader, CsvSpan};

#[cfg(test)]
mod tests;
