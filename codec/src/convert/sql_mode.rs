//! The parts of MySQL's `sql_mode` that change how values are converted.

/// Parsed `sql_mode` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SqlMode {
    /// `STRICT_TRANS_TABLES` or `STRICT_ALL_TABLES`: bad values are errors.
    pub strict: bool,
    pub no_zero_date: bool,
    pub no_zero_in_date: bool,
    pub allow_invalid_dates: bool,
    /// An explicit 0 in an AUTO_INCREMENT column is kept, not replaced.
    pub no_auto_value_on_zero: bool,
}

impl SqlMode {
    /// Parses a comma-separated mode list (case-insensitive; unknown modes
    /// are ignored, as they do not affect conversion).
    pub fn parse(s: &str) -> Self {
        let mut m = Self::default();
        for name in s.split(',').map(|x| x.trim().to_ascii_uppercase()) {
            match name.as_str() {
                "STRICT_TRANS_TABLES" | "STRICT_ALL_TABLES" => m.strict = true,
                "NO_ZERO_DATE" => m.no_zero_date = true,
                "NO_ZERO_IN_DATE" => m.no_zero_in_date = true,
                "ALLOW_INVALID_DATES" => m.allow_invalid_dates = true,
                "NO_AUTO_VALUE_ON_ZERO" => m.no_auto_value_on_zero = true,
                "TRADITIONAL" => {
                    m.strict = true;
                    m.no_zero_date = true;
                    m.no_zero_in_date = true;
                }
                _ => {}
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_of_squall_and_lightning() {
        let squall = SqlMode::parse(squall_common::config::SQUALL_DEFAULT_SQL_MODE);
        assert!(squall.strict && squall.no_zero_date && squall.no_zero_in_date);
        let lightning = SqlMode::parse(squall_common::config::LIGHTNING_DEFAULT_SQL_MODE);
        assert_eq!(lightning, SqlMode::default());
        assert!(SqlMode::parse("traditional").strict);
        assert!(SqlMode::parse("").eq(&SqlMode::default()));
    }
}
