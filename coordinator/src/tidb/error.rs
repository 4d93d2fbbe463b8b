//! What can go wrong talking to TiDB (or another MySQL-protocol server).

/// Every message names the server (`host:port`) and what Squall was doing,
/// and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum TidbError {
    #[error(
        "cannot connect to the SQL server at {addr} (tidb.host, tidb.port) after {attempts} attempt(s): {reason}; \
         check that TiDB is running there and that tidb.user/tidb.password are right \
         (a coordinator resuming a cluster job after a failover takes the password from \
         SQUALL_TIDB_PASSWORD: it is not stored in etcd), \
         or leave tidb.host empty to skip the SQL steps"
    )]
    Unreachable {
        addr: String,
        attempts: u32,
        reason: String,
    },
    #[error("SQL server at {addr}: {what} failed after {attempts} attempt(s): {reason}")]
    Statement {
        addr: String,
        what: String,
        attempts: u32,
        reason: String,
    },
    #[error("SQL server at {addr}: {reason}")]
    Target { addr: String, reason: String },
    #[error("schema file {file}: {reason}")]
    SchemaFile { file: String, reason: String },
    #[error("reading the dump's schema files for the SQL steps: {0}")]
    Source(#[from] squall_source::SourceError),
}
