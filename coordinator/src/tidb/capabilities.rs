//! What the server is: TiDB, or another MySQL-protocol server (MariaDB,
//! MySQL). Plain-SQL steps run on any; TiDB-only statements (table IDs,
//! `new_collation_enabled`, AUTO_RANDOM and `_tidb_rowid` rebases) run only
//! when this says TiDB, and are reported as skipped otherwise.

use mysql_async::prelude::Queryable;

use super::connect::Session;
use super::error::TidbError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// `SELECT VERSION()`.
    pub version: String,
    /// TiDB answers `8.0.11-TiDB-v7.5.0` and the like.
    pub is_tidb: bool,
}

impl ServerInfo {
    pub fn from_version(version: String) -> Self {
        let is_tidb = version.to_ascii_lowercase().contains("tidb");
        Self { version, is_tidb }
    }

    /// `TiDB 8.0.11-TiDB-v7.5.0` / `non-TiDB server 11.8.3-MariaDB-0+deb13u1`.
    pub fn describe(&self) -> String {
        match self.is_tidb {
            true => format!("TiDB {}", self.version),
            false => format!("non-TiDB server {}", self.version),
        }
    }
}

pub async fn detect(session: &mut Session) -> Result<ServerInfo, TidbError> {
    let version: Option<String> = session
        .run("SELECT VERSION()", |c| c.query_first("SELECT VERSION()"))
        .await?;
    Ok(ServerInfo::from_version(version.unwrap_or_default()))
}

/// TiDB only: `new_collations_enabled_on_first_bootstrap` as the cluster
/// was bootstrapped (`mysql.tidb`, `new_collation_enabled`). It decides how
/// string keys are encoded; it cannot change after bootstrap.
pub async fn new_collation_enabled(session: &mut Session) -> Result<bool, TidbError> {
    const SQL: &str =
        "SELECT VARIABLE_VALUE FROM mysql.tidb WHERE VARIABLE_NAME = 'new_collation_enabled'";
    let value: Option<String> = session
        .run("read new_collation_enabled", |c| c.query_first(SQL))
        .await?;
    // Clusters bootstrapped before TiDB 4.0 have no row: old collations.
    Ok(value.is_some_and(|v| v.eq_ignore_ascii_case("true")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidb_is_told_by_its_version_string() {
        assert!(ServerInfo::from_version("8.0.11-TiDB-v7.5.0".into()).is_tidb);
        assert!(!ServerInfo::from_version("11.8.3-MariaDB-0+deb13u1".into()).is_tidb);
    }
}
