//! Per-value conversion context: the column, the mode, and where warnings go.

use squall_common::schema::ColumnInfo;

use super::error::{ConvertError, ConvertWarning, Problem};
use super::sql_mode::SqlMode;

pub(crate) struct Ctx<'a> {
    pub col: &'a ColumnInfo,
    pub mode: SqlMode,
    warnings: &'a mut Vec<ConvertWarning>,
}

impl<'a> Ctx<'a> {
    pub fn new(col: &'a ColumnInfo, mode: SqlMode, warnings: &'a mut Vec<ConvertWarning>) -> Self {
        Self {
            col,
            mode,
            warnings,
        }
    }

    pub fn error(&self, problem: Problem) -> ConvertError {
        ConvertError {
            column: self.col.name.clone(),
            problem,
        }
    }

    /// Records a warning without changing the outcome.
    pub fn warn(&mut self, problem: Problem) {
        self.warnings.push(ConvertWarning {
            column: self.col.name.clone(),
            problem,
        });
    }

    /// Strict mode: the problem is an error. Otherwise: warn and use `fallback`.
    pub fn adjust<T>(&mut self, problem: Problem, fallback: T) -> Result<T, ConvertError> {
        if self.mode.strict {
            return Err(self.error(problem));
        }
        self.warn(problem);
        Ok(fallback)
    }
}
