//! The result of the prechecks: one line per check, printed as a table, and
//! for every check that did not pass, what to do about it.

use std::fmt;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Pass,
    /// Worth knowing; the import may go on.
    Warn,
    /// The import must not start.
    Fail,
    /// Not run (what it needs failed, or it does not apply).
    Skipped,
}

impl CheckStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
            Self::Skipped => "skipped",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub name: &'static str,
    pub status: CheckStatus,
    /// What was found, naming files, tables, stores.
    pub detail: String,
    /// What to do, for a warning or a failure.
    pub fix: Option<String>,
}

impl CheckResult {
    pub fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: CheckStatus::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            status: CheckStatus::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn skipped(name: &'static str, why: impl Into<String>) -> Self {
        Self {
            name,
            status: CheckStatus::Skipped,
            detail: why.into(),
            fix: None,
        }
    }
}

/// Every check's result, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrecheckReport {
    pub results: Vec<CheckResult>,
}

impl PrecheckReport {
    pub fn push(&mut self, result: CheckResult) {
        self.results.push(result);
    }

    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.results
            .iter()
            .filter(|r| r.status == CheckStatus::Fail)
    }

    /// No check failed.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The result of the check called `name`, if it ran.
    pub fn get(&self, name: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.name == name)
    }
}

/// Details longer than this are cut in the table (the fix section and the
/// log carry the whole text).
const DETAIL_WIDTH: usize = 100;

impl fmt::Display for PrecheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_width = self
            .results
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(f, "{:<name_width$}  {:<7}  detail", "check", "result")?;
        writeln!(
            f,
            "{}  {}  {}",
            "-".repeat(name_width),
            "-".repeat(7),
            "-".repeat(6)
        )?;
        for r in &self.results {
            let detail = if r.detail.chars().count() > DETAIL_WIDTH {
                let cut: String = r.detail.chars().take(DETAIL_WIDTH - 1).collect();
                format!("{cut}…")
            } else {
                r.detail.clone()
            };
            writeln!(
                f,
                "{:<name_width$}  {:<7}  {detail}",
                r.name,
                r.status.label()
            )?;
        }
        let todo: Vec<_> = self
            .results
            .iter()
            .filter(|r| matches!(r.status, CheckStatus::Fail | CheckStatus::Warn))
            .collect();
        if !todo.is_empty() {
            writeln!(f)?;
            writeln!(f, "what to do:")?;
            for r in todo {
                writeln!(f, "* {} ({}): {}", r.name, r.status.label(), r.detail)?;
                if let Some(fix) = &r.fix {
                    writeln!(f, "  -> {fix}")?;
                }
            }
        }
        let failed = self.failures().count();
        match failed {
            0 => write!(f, "\nall prechecks passed"),
            n => write!(f, "\n{n} precheck(s) failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_check_and_what_to_do_for_failures() {
        let mut report = PrecheckReport::default();
        report.push(CheckResult::pass("cluster reachable", "PD at a:1"));
        report.push(CheckResult::fail(
            "target tables empty",
            "db.t holds rows",
            "TRUNCATE TABLE db.t",
        ));
        report.push(CheckResult::skipped(
            "free disk",
            "engines are on the workers",
        ));
        let text = report.to_string();
        assert!(!report.passed());
        assert!(
            text.lines()
                .any(|l| l.starts_with("cluster reachable") && l.contains(" pass ")),
            "{text}"
        );
        assert!(text.contains("FAIL"), "{text}");
        assert!(text.contains("-> TRUNCATE TABLE db.t"), "{text}");
        assert!(text.contains("1 precheck(s) failed"), "{text}");
        assert!(
            !text.contains("-> engines"),
            "skipped checks need no fix: {text}"
        );
    }
}
