//! TiDB over the MySQL protocol (`[tidb] host/port/user/password`, as
//! Lightning names them). With no `tidb.host` none of this runs and the
//! import behaves as before: table IDs from `[squall] table-ids` or the
//! deterministic rule, target tables assumed to exist with those IDs.
//!
//! With a host, [`TidbTarget`] does, around the import:
//!
//! * before planning ([`TidbTarget::prepare`]): databases and tables the
//!   target lacks are created from the dump's schema files
//!   ([`create_schema`]); existing ones are checked against the dump's
//!   columns; on TiDB, `new_collation_enabled` and the table and partition
//!   IDs are read ([`table_info`]) and the plan uses those IDs;
//! * after the data is verified ([`TidbTarget::after_data`]): the
//!   AUTO_INCREMENT / `_tidb_rowid` / AUTO_RANDOM allocators are moved past
//!   the imported maximum ([`rebase`]), and `ANALYZE TABLE` runs when
//!   `post-restore.analyze` asks ([`analyze`]).
//!
//! What is plain SQL runs on any MySQL-protocol server (the tests use
//! MariaDB); TiDB-only statements run only when [`capabilities`] says the
//! server is TiDB, and each one skipped is logged and noted in the summary
//! with the reason.

mod analyze;
mod capabilities;
mod connect;
mod create_schema;
mod error;
mod rebase;
mod statement;
mod table_info;

use std::collections::BTreeMap;

use squall_common::checkpoint::TableCheckpoint;
use squall_common::config::PostOpLevel;
use squall_common::TaskConfig;

pub use capabilities::ServerInfo;
pub use error::TidbError;
pub use rebase::{plan_rebase, RebasePlan};

use connect::Session;
use statement::quote;

/// The summary's note when no host is configured.
pub const NO_HOST_NOTE: &str = "no tidb.host: no SQL step ran (tables not created, table IDs from \
     [squall] table-ids or the deterministic rule, allocators not rebased, no ANALYZE)";

/// A connection to the target and what it is.
pub struct TidbTarget {
    session: Session,
    server: ServerInfo,
}

/// What [`TidbTarget::prepare`] found.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// TiDB's IDs (`db.t`, `db.t#partition`) for the plan; `None` when the
    /// server is not TiDB.
    pub table_ids: Option<BTreeMap<String, i64>>,
    /// What was done, and what was not and why, for the summary.
    pub notes: Vec<String>,
}

impl TidbTarget {
    /// Connects (with the bounded retries of every SQL step) and asks what
    /// the server is; `Ok(None)` without `tidb.host`.
    pub async fn connect(cfg: &TaskConfig) -> Result<Option<Self>, TidbError> {
        let Some(mut session) = Session::from_config(cfg) else {
            tracing::info!("{NO_HOST_NOTE}");
            return Ok(None);
        };
        let server = capabilities::detect(&mut session).await?;
        tracing::info!(addr = session.addr(), server = %server.describe(), "connected to the target over SQL");
        Ok(Some(Self { session, server }))
    }

    pub fn server(&self) -> &ServerInfo {
        &self.server
    }

    /// Before planning: create what is missing, check what exists, and on
    /// TiDB read the settings and IDs the encoding depends on.
    pub async fn prepare(&mut self, cfg: &TaskConfig) -> Result<Prepared, TidbError> {
        let owned = cfg.clone();
        let dump = tokio::task::spawn_blocking(move || create_schema::read_dump_schemas(&owned))
            .await
            .map_err(|e| TidbError::Target {
                addr: self.session.addr().to_string(),
                reason: format!("reading the schema files stopped: {e}"),
            })??;
        let mut notes = create_schema::ensure_schemas(&mut self.session, &dump).await?;
        if !self.server.is_tidb {
            let note = format!(
                "the target is a {}: TiDB-only steps skipped (new_collation_enabled and table IDs not read; \
                 the plan uses [squall] table-ids or the deterministic rule)",
                self.server.describe()
            );
            tracing::warn!(addr = self.session.addr(), "{note}");
            notes.push(note);
            return Ok(Prepared {
                table_ids: None,
                notes,
            });
        }
        if !capabilities::new_collation_enabled(&mut self.session).await? {
            // Squall's encoder writes new-collation keys and values only.
            return Err(TidbError::Target {
                addr: self.session.addr().to_string(),
                reason: "the cluster was bootstrapped with new_collation_enabled = False; \
                         Squall encodes string keys with the new collations only: import with TiDB Lightning, \
                         or into a cluster bootstrapped with new_collations_enabled_on_first_bootstrap = true"
                    .into(),
            });
        }
        let ids = table_info::tidb_table_ids(&mut self.session, &dump.tables).await?;
        tracing::info!(
            addr = self.session.addr(),
            tables = dump.tables.len(),
            "table IDs read from TiDB"
        );
        notes.push(format!(
            "new_collation_enabled = True; table IDs of {} table(s) read from TiDB",
            dump.tables.len()
        ));
        Ok(Prepared {
            table_ids: Some(ids),
            notes,
        })
    }

    /// After the data is verified: rebase every table's allocators, then
    /// ANALYZE as `post-restore.analyze` says. Returns the notes.
    pub async fn after_data(
        &mut self,
        cfg: &TaskConfig,
        tables: &[TableCheckpoint],
    ) -> Result<Vec<String>, TidbError> {
        let mut notes = Vec::new();
        for t in tables {
            let plan = rebase::plan_rebase(t, &self.server);
            notes.extend(rebase::rebase_table(&mut self.session, &plan).await?);
            for skipped in plan.skipped {
                tracing::warn!(addr = self.session.addr(), "{skipped}");
                notes.push(skipped);
            }
        }
        let level = cfg.post_restore.analyze;
        if level == PostOpLevel::Off {
            notes.push("ANALYZE not run (post-restore.analyze = off)".into());
            return Ok(notes);
        }
        for t in tables {
            let name = format!("{}.{}", quote(&t.table.db), quote(&t.table.name));
            match analyze::analyze_table(&mut self.session, &name).await {
                Ok(status) => {
                    tracing::info!(addr = self.session.addr(), table = %name, %status, "ANALYZE TABLE done");
                    notes.push(format!("ANALYZE TABLE {name}: {status}"));
                }
                Err(e) if level == PostOpLevel::Required => return Err(e),
                Err(e) => {
                    tracing::warn!(table = %name, error = %e, "ANALYZE TABLE failed (post-restore.analyze = optional)");
                    notes.push(format!(
                        "ANALYZE TABLE {name} FAILED (post-restore.analyze = optional): {e}"
                    ));
                }
            }
        }
        Ok(notes)
    }

    pub async fn close(mut self) {
        self.session.close().await;
    }
}
