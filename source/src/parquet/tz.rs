//! The session time zone (`tidb.time-zone`) that instants stored as UTC
//! (parquet timestamps with `isAdjustedToUTC`, INT96) are shown in, so the
//! encoder, which reads TIMESTAMP text in that zone, stores the same instant.

pub(crate) use squall_common::time_zone::SessionTz as ShowTz;

use crate::error::{ErrorKind, SourceError};

/// `None` is UTC; otherwise the forms `tidb.time-zone` takes.
pub(crate) fn parse(name: Option<&str>, file: &str) -> Result<ShowTz, SourceError> {
    match name {
        None => Ok(ShowTz::Utc),
        Some(t) => ShowTz::parse(t)
            .map_err(|e| SourceError::new(ErrorKind::Unsupported, file, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_zone_is_utc_and_unknown_zones_name_the_file() {
        assert_eq!(parse(None, "f").expect("utc"), ShowTz::Utc);
        let e = parse(Some("Mars/Base"), "f.parquet").expect_err("unknown");
        assert!(e.to_string().contains("Mars/Base"), "{e}");
    }
}
