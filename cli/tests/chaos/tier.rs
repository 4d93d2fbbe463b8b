//! The two tiers. Quick (`scripts/test.sh`, debug build): a small dump and
//! the scenarios the other cluster tests do not cover already. Long
//! (`SQUALL_CHAOS=long`, meant for a release build): a dump of 300 MiB and
//! every scenario.

use std::time::Duration;

use super::faults::Pace;
use super::scenario::Scenario;

/// The environment variable that picks the tier.
pub const ENV: &str = "SQUALL_CHAOS";
/// Keeps only the scenarios named (comma separated).
const ONLY: &str = "SQUALL_CHAOS_ONLY";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Quick,
    Long,
}

impl Tier {
    pub fn from_env() -> Self {
        match std::env::var(ENV).as_deref() {
            Ok("long") => Tier::Long,
            _ => Tier::Quick,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Tier::Quick => "quick",
            Tier::Long => "long",
        }
    }

    /// `gen-dump --size`, `--file-size`, `--duplicates`, and the engine size
    /// (`mydumper.batch-size`): several engines per table, so that each
    /// worker holds some when faults come.
    pub fn dump(self) -> [&'static str; 4] {
        match self {
            Tier::Quick => ["8MiB", "512KiB", "0.002", "1MiB"],
            Tier::Long => ["300MiB", "8MiB", "0.002", "16MiB"],
        }
    }

    /// The tier's scenarios; `SQUALL_CHAOS_ONLY=KillWorkers,RestartEtcd`
    /// runs those named (as in [`Scenario`], any tier's) instead, to replay one.
    /// `FullDisk` never: it runs in its own test ([`Self::full_disk`]).
    pub fn scenarios(self) -> Vec<Scenario> {
        named()
            .unwrap_or_else(|| self.own_scenarios())
            .into_iter()
            .filter(|s| *s != Scenario::FullDisk)
            .collect()
    }

    /// `FullDisk`, unless `SQUALL_CHAOS_ONLY` names other scenarios only.
    pub fn full_disk(self) -> Vec<Scenario> {
        named()
            .unwrap_or_else(|| vec![Scenario::FullDisk])
            .into_iter()
            .filter(|s| *s == Scenario::FullDisk)
            .collect()
    }

    fn own_scenarios(self) -> Vec<Scenario> {
        match self {
            Tier::Quick => vec![
                Scenario::NoFaults,
                Scenario::KillWorkers,
                Scenario::RestartNats,
                Scenario::RestartEtcd,
                Scenario::SimFaults,
            ],
            Tier::Long => Scenario::ALL.to_vec(),
        }
    }

    pub fn pace(self) -> Pace {
        match self {
            Tier::Quick => Pace {
                first: Duration::from_secs(2),
                kill_every: Duration::from_millis(2500),
                freeze_every: Duration::from_secs(3),
                leader_gap: Duration::from_secs(4),
                server_every: Duration::from_secs(8),
                server_outage: Duration::from_millis(500),
                store_every: Duration::from_secs(8),
                store_outage: Duration::from_secs(2),
            },
            Tier::Long => Pace {
                first: Duration::from_secs(10),
                kill_every: Duration::from_secs(8),
                freeze_every: Duration::from_secs(10),
                leader_gap: Duration::from_secs(30),
                server_every: Duration::from_secs(30),
                server_outage: Duration::from_secs(1),
                store_every: Duration::from_secs(20),
                store_outage: Duration::from_secs(3),
            },
        }
    }

    /// Longest an import may take, faults included.
    pub fn import_timeout(self) -> Duration {
        match self {
            Tier::Quick => Duration::from_secs(300),
            Tier::Long => Duration::from_secs(3600),
        }
    }
}

/// The scenarios `SQUALL_CHAOS_ONLY` names, if set.
fn named() -> Option<Vec<Scenario>> {
    let only = std::env::var(ONLY).ok()?;
    Some(
        Scenario::ALL
            .into_iter()
            .filter(|s| only.split(',').any(|o| o.trim() == format!("{s:?}")))
            .collect(),
    )
}
