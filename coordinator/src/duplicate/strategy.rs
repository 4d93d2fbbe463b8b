//! `conflict.strategy`, Lightning's names, as an enum.

use serde::{Deserialize, Serialize};

use super::error::DuplicateError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictStrategy {
    /// Write the report, then fail the job if there is any conflict.
    Error,
    /// Write the report, leave TiKV as it is (`record`, alias `none`).
    Record,
    /// Delete every conflicting row and all of its index entries.
    Remove,
    /// Keep the row from the latest source position (REPLACE INTO order),
    /// delete the others and their index entries.
    Replace,
}

impl ConflictStrategy {
    pub fn parse(name: &str) -> Result<Self, DuplicateError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Self::Error),
            "record" | "none" => Ok(Self::Record),
            "remove" => Ok(Self::Remove),
            "replace" => Ok(Self::Replace),
            _ => Err(DuplicateError::BadStrategy(name.to_string())),
        }
    }

    /// True when the strategy changes what is in TiKV.
    pub fn writes(self) -> bool {
        matches!(self, Self::Remove | Self::Replace)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Record => "record",
            Self::Remove => "remove",
            Self::Replace => "replace",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lightning_names() {
        assert_eq!(
            ConflictStrategy::parse("error").expect("valid"),
            ConflictStrategy::Error
        );
        assert_eq!(
            ConflictStrategy::parse("none").expect("valid"),
            ConflictStrategy::Record
        );
        assert_eq!(
            ConflictStrategy::parse("Record").expect("valid"),
            ConflictStrategy::Record
        );
        assert_eq!(
            ConflictStrategy::parse("remove").expect("valid"),
            ConflictStrategy::Remove
        );
        assert_eq!(
            ConflictStrategy::parse("replace").expect("valid"),
            ConflictStrategy::Replace
        );
        assert!(matches!(
            ConflictStrategy::parse("ignore"),
            Err(DuplicateError::BadStrategy(_))
        ));
        assert!(ConflictStrategy::Replace.writes() && !ConflictStrategy::Record.writes());
    }
}
